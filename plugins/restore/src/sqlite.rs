//! `action=sqlite`: a SQLite file restored in place.

use super::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct SqliteArgs {
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) replace: bool,
}

pub(crate) fn sqlite(
    host: &dyn Host,
    ctx: &Context,
    a: SqliteArgs,
    w: Which,
) -> Result<Outputs, PluginError> {
    if a.path.trim().is_empty() {
        return Err(PluginError::arg("path", "needs the SQLite file to write"));
    }
    let (key, m) = checked(host, &w, "sqlite")?;
    let kept = make_room(
        host,
        ctx,
        &a.path,
        a.replace,
        "file",
        &["-wal", "-shm", "-journal"],
    )?;
    let mut write = Command::new("sh").args([
        "-c",
        r#"set -e; mkdir -p "$(dirname "$1")"; cat > "$1.cairn-tmp"; mv "$1.cairn-tmp" "$1""#,
        "sh",
        &a.path,
    ]);
    write.target = ctx.target.clone();
    let mut t = Transfer::new(Source::object(&w.storage, &key))
        .unzstd()
        .to(Sink::command(write));
    t.timeout = w.timeout.map(Into::into);
    let done = host.transfer(&t)?;
    Ok(found(key, &m)
        .set("path", a.path)
        .set("kept", kept)
        .set("bytes", done.bytes_out)
        .set("planned", done.planned))
}
