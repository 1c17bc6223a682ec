//! A backup's manifest (`KEY.manifest.json`), damaged or forged: decoded as
//! `backup` and `restore` decode it, through the plugins' own reading code.
#![no_main]

use cairn_fuzz::manifest::{Manifest, manifest_key, parse_manifest};
use libfuzzer_sys::fuzz_target;

const KEY: &str = "backups/files/media-20261203T151155Z.tar.zst";

fuzz_target!(|data: &[u8]| {
    match parse_manifest(data, "offsite", KEY) {
        Ok(m) => {
            assert_eq!(m.key, KEY);
            // What was read is written back the same way.
            let again: Manifest = serde_json::from_slice(&serde_json::to_vec(&m).unwrap()).unwrap();
            assert_eq!(again, m);
        }
        Err(e) => assert!(e.contains(&manifest_key(KEY)), "{e}"),
    }
});
