//! A `cairn.kdl`'s text, loaded.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cairn_lang::load_project_source(std::path::Path::new("/nonexistent-root"), text);
    }
});
