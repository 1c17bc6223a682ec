//! A backup's manifest, `KEY.manifest.json` next to its archive: the format
//! and its reading. Pure (serde only): `backup` and `restore` include this
//! file, and so does the `manifest` fuzz target (fuzz/).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const MANIFEST_SUFFIX: &str = ".manifest.json";

/// The manifest stored next to each archive as `KEY.manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub struct Manifest {
    pub format: u32,
    pub kind: String,
    pub name: String,
    pub key: String,
    /// What was backed up: the database (URL without its password), the
    /// SQLite file, the directory.
    pub source: String,
    /// Bytes of the stored (compressed) object.
    pub size: u64,
    /// Bytes before compression.
    pub raw_size: u64,
    /// sha256 of the stored (compressed) object, hex.
    pub sha256: String,
    pub compression: String,
    /// When the backup started, RFC 3339 (UTC).
    pub created: String,
    pub plugin: String,
    pub plugin_version: String,
    pub runbook: String,
    pub run_id: String,
    pub step: String,
    /// PostgreSQL: the rows of every table (`schema.table`), counted in the
    /// snapshot the dump was made from. Absent in archives made before
    /// cairn recorded them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_counts: Option<BTreeMap<String, u64>>,
}

pub fn manifest_key(key: &str) -> String {
    format!("{key}{MANIFEST_SUFFIX}")
}

/// Decodes the manifest of archive `key` read from `storage`: the manifest,
/// or why it is not one (not JSON, a field missing or of the wrong type, a
/// manifest of another archive), naming it.
pub fn parse_manifest(bytes: &[u8], storage: &str, key: &str) -> Result<Manifest, String> {
    let mkey = manifest_key(key);
    let m: Manifest = serde_json::from_slice(bytes)
        .map_err(|e| format!("manifest `{mkey}` in storage `{storage}` is not valid: {e}"))?;
    if m.key != key {
        return Err(format!(
            "manifest `{mkey}` describes `{}`, not `{key}`",
            m.key
        ));
    }
    Ok(m)
}
