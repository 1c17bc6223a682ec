//! Finding the backup to restore and checking it against its manifest (or,
//! for an archive made before cairn, as far as its format allows).

use super::*;

pub(crate) fn find(
    host: &dyn Host,
    w: &Which,
    kind: &str,
) -> Result<(String, Manifest), PluginError> {
    if w.storage.is_empty() {
        return Err(PluginError::arg("storage", "needs a storage name"));
    }
    pick(
        host,
        &w.storage,
        &w.prefix,
        kind,
        w.name.as_deref(),
        w.key.as_deref(),
    )
}

pub(crate) fn found(key: String, m: &Manifest) -> Outputs {
    Outputs::new()
        .set("key", key)
        .set("sha256", m.sha256.clone())
        .set("size", m.size)
        .set("raw-size", m.raw_size)
        .set("source", m.source.clone())
        .set("backup-created", m.created.clone())
}

/// `latest` and `check` of an archive made before cairn: `latest` only
/// looks at the object; `check` runs the checks a restore runs first.
pub(crate) fn check_legacy(
    host: &dyn Host,
    ctx: &Context,
    args: &Args,
    w: &Which,
    format: Format,
    check: bool,
) -> Result<Outputs, PluginError> {
    let key = w.key.as_deref().unwrap_or_default();
    let text = |k: &str| {
        args.get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    if !check {
        let head = host.storage_head(&w.storage, key)?.ok_or_else(|| {
            PluginError::new(format!("backup `{key}` is not in storage `{}`", w.storage))
        })?;
        return Ok(Outputs::new()
            .set("key", key)
            .set("format", format.name())
            .set("size", head.size)
            .set(
                "backup-created",
                head.last_modified_ms
                    .map(|ms| rfc3339(ms / 1000))
                    .unwrap_or_default(),
            )
            .set("checked", false));
    }
    let c = legacy::check(
        host,
        ctx,
        key,
        format,
        &legacy::Options {
            storage: &w.storage,
            timeout: w.timeout.map(Into::into),
            tmp_dir: text("tmp-dir").unwrap_or("/tmp"),
            member: text("member"),
            need_dump: true,
        },
    )?;
    legacy::cleanup(host, &c);
    Ok(c.outputs()
        .set("checked", !c.planned)
        .set("planned", c.planned))
}

/// Finds the backup and checks it; nothing is touched before this passes.
pub(crate) fn checked(
    host: &dyn Host,
    w: &Which,
    kind: &str,
) -> Result<(String, Manifest), PluginError> {
    let (key, m) = find(host, w, kind)?;
    check_archive(host, &w.storage, &key, &m)?;
    report_match(host, &key, &m);
    Ok((key, m))
}

/// Says that the archive passed its check.
pub(crate) fn report_match(host: &dyn Host, key: &str, m: &Manifest) {
    host.info(&format!(
        "backup {key} ({} bytes, made {}) matches its manifest's sha256",
        m.size, m.created
    ));
}
