//! `action=prune`: keep the newest N archives of a kind and name, delete the
//! rest with their manifests.

use super::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct PruneArgs {
    pub(crate) storage: String,
    #[serde(default = "default_prefix")]
    pub(crate) prefix: String,
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) keep: u32,
}

pub(crate) fn prune(host: &dyn Host, a: PruneArgs) -> Result<Outputs, PluginError> {
    if a.keep == 0 {
        return Err(PluginError::arg(
            "keep",
            "must be at least 1: prune never deletes the only copy",
        ));
    }
    let name = key_name(&a.name);
    let all = archives(host, &a.storage, &a.prefix, &a.kind, &name)?;
    // Only archives with a manifest count as kept. One without may be
    // still being written by a live run, or left by one that died: prune
    // never deletes it; `cairn storage gc` does, once its writer is gone.
    let series = series_prefix(&a.prefix, &a.kind, &name);
    let manifests: std::collections::HashSet<String> = host
        .storage_list(&a.storage, &series)?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| k.ends_with(MANIFEST_SUFFIX))
        .collect();
    let (all, unfinished): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|o| manifests.contains(&manifest_key(&o.key)));
    for o in &unfinished {
        host.warn(&format!(
            "prune: `{}` has no manifest: not counted, not deleted (see `cairn storage gc`)",
            o.key
        ));
    }
    let cut = all.len().saturating_sub(a.keep as usize);
    let (old, kept) = all.split_at(cut);
    let mut deleted = Vec::new();
    let mut planned = false;
    for o in old {
        let w = host.storage_delete(&a.storage, &o.key)?;
        host.storage_delete(&a.storage, &manifest_key(&o.key))?;
        planned |= w.planned;
        deleted.push(o.key.clone());
    }
    Ok(Outputs::new()
        .set("deleted", json!(deleted))
        .set("deleted-count", deleted.len())
        .set(
            "kept",
            json!(kept.iter().map(|o| o.key.clone()).collect::<Vec<_>>()),
        )
        .set("kept-count", kept.len())
        .set(
            "without-manifest",
            json!(unfinished.iter().map(|o| o.key.clone()).collect::<Vec<_>>()),
        )
        .set("planned", planned))
}
