//! Property tests of the manifest reader (the `manifest` fuzz target's
//! counterpart on stable): a manifest damaged in any way (cut, a field
//! gone, a field of another type, garbage) is refused with a message naming
//! it, never a panic; a whole one reads back as written.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::Value;

use crate::manifest::{Manifest, manifest_key, parse_manifest};

const KEY: &str = "backups/postgres/site-20261203T070527Z.dump.zst";

fn manifest() -> impl Strategy<Value = Manifest> {
    (
        (any::<u32>(), ".{0,12}", ".{0,12}", ".{0,24}"),
        (any::<u64>(), any::<u64>(), "[0-9a-f]{64}", ".{0,8}"),
        (".{0,8}", ".{0,8}", ".{0,8}", ".{0,8}"),
        prop::option::of(prop::collection::btree_map(".{0,10}", any::<u64>(), 0..4)),
    )
        .prop_map(
            |(
                (format, kind, name, source),
                (size, raw_size, sha256, created),
                (a, b, c, d),
                rows,
            )| {
                Manifest {
                    format,
                    kind,
                    name,
                    key: KEY.into(),
                    source,
                    size,
                    raw_size,
                    sha256,
                    compression: "zstd".into(),
                    created,
                    plugin: "backup".into(),
                    plugin_version: a,
                    runbook: b,
                    run_id: c,
                    step: d,
                    row_counts: rows.map(|r: BTreeMap<String, u64>| r),
                }
            },
        )
}

/// Refused, naming the manifest.
fn refused(bytes: &[u8]) -> String {
    let e = parse_manifest(bytes, "offsite", KEY).expect_err("refused");
    assert!(e.contains(&manifest_key(KEY)), "{e}");
    e
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn a_whole_manifest_reads_back_as_written(m in manifest()) {
        let bytes = serde_json::to_vec_pretty(&m).expect("json");
        prop_assert_eq!(parse_manifest(&bytes, "offsite", KEY), Ok(m));
    }

    #[test]
    fn a_manifest_cut_anywhere_is_refused(m in manifest(), at in any::<prop::sample::Index>()) {
        let bytes = serde_json::to_vec(&m).expect("json");
        refused(&bytes[..at.index(bytes.len())]);
    }

    #[test]
    fn a_manifest_without_a_field_or_with_one_of_another_type_is_refused(
        m in manifest(),
        field in any::<prop::sample::Index>(),
        other in prop_oneof![
            Just(Value::Null),
            Just(Value::from(-1)),
            Just(Value::from(1.5)),
            Just(Value::from(vec![1])),
            Just(Value::from("18446744073709551616")),
        ],
        drop in any::<bool>(),
    ) {
        let Value::Object(mut obj) = serde_json::to_value(&m).expect("json") else {
            unreachable!("a manifest is an object")
        };
        // `row-counts` may be absent (older manifests); every other field
        // must be there with its type.
        obj.remove("row-counts");
        let names: Vec<String> = obj.keys().cloned().collect();
        let name = &names[field.index(names.len())];
        if drop {
            obj.remove(name);
            let e = refused(&serde_json::to_vec(&obj).expect("json"));
            prop_assert!(e.contains(&format!("missing field `{name}`")), "{}", e);
        } else if !(other.is_string() && obj[name].is_string()) {
            obj.insert(name.clone(), other);
            let e = refused(&serde_json::to_vec(&obj).expect("json"));
            prop_assert!(e.contains("invalid"), "{}", e);
        }
    }

    #[test]
    fn any_bytes_are_read_or_refused_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Err(e) = parse_manifest(&bytes, "offsite", KEY) {
            prop_assert!(e.contains(&manifest_key(KEY)), "{}", e);
        }
    }

    #[test]
    fn a_manifest_of_another_archive_is_refused(m in manifest(), other in "[a-z/]{1,20}") {
        let bytes = serde_json::to_vec(&Manifest { key: other.clone(), ..m }).expect("json");
        let e = refused(&bytes);
        prop_assert!(e.contains(&format!("describes `{other}`")), "{}", e);
    }
}
