//! `action=verify`: read an archive back and check it against its manifest.

use super::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct VerifyArgs {
    pub(crate) storage: String,
    #[serde(default = "default_prefix")]
    pub(crate) prefix: String,
    pub(crate) kind: String,
    /// The latest archive of this name, unless `key` is given.
    pub(crate) name: Option<String>,
    pub(crate) key: Option<String>,
    pub(crate) timeout: Option<Duration>,
}

pub(crate) fn verify(host: &dyn Host, a: VerifyArgs) -> Result<Outputs, PluginError> {
    let (key, m) = pick(
        host,
        &a.storage,
        &a.prefix,
        &a.kind,
        a.name.as_deref(),
        a.key.as_deref(),
    )?;
    // First the stored bytes against the manifest: a read, whatever follows.
    check_archive(host, &a.storage, &key, &m)?;
    let mut lister = match a.kind.as_str() {
        // Not `--list`: it stops reading after the table of contents, and the
        // rest of a dump larger than a pipe's buffer then has nowhere to go
        // (`Broken pipe`). A restore into /dev/null reads every data block.
        "postgres" => Some(Command::new("pg_restore").args(["--file", "/dev/null"])),
        "files" => Some(Command::new("tar").args(["-tf", "-"])),
        _ => None,
    };
    let mut entries = None;
    if let Some(cmd) = lister.take() {
        // A local read: the listing goes to the command, which writes nothing.
        let cmd = cmd.effect(Effect::Read).target("local");
        let mut t = Transfer::new(Source::object(&a.storage, &key))
            .unzstd()
            .to(Sink::command(cmd));
        t.timeout = a.timeout.map(Into::into);
        let done = host.transfer(&t).map_err(|e| {
            PluginError::new(format!(
                "backup `{key}` does not read back as a {} archive: {e}",
                a.kind
            ))
        })?;
        entries = Some(done.bytes_in);
    }
    Ok(Outputs::new()
        .set("key", key)
        .set("sha256", m.sha256)
        .set("size", m.size)
        .set("created", m.created.clone())
        .set("backup-created", m.created)
        .set("checked-bytes", entries.unwrap_or(m.size))
        .set("verified", true))
}
