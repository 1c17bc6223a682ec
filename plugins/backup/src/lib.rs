//! The stock `backup` plugin: archives of a PostgreSQL database, a SQLite
//! file or a directory, streamed by the host from a command on the step's
//! target through zstd and sha256 into a named storage (no temporary file),
//! each with a manifest next to it; `prune` keeps the newest N, `verify`
//! reads an archive back.
//!
//! ```kdl
//! step db uses=backup action=postgres target=db {
//!     url "postgresql://site@127.0.0.1/site"
//!     password-secret db_password
//!     storage offsite
//! }
//! step media uses=backup action=files { dir "/srv/site/media"; storage offsite; }
//! step prune uses=backup action=prune { kind postgres; name site; keep 14; storage offsite; }
//! ```
//!
//! Keys: `PREFIX/KIND/NAME-YYYYMMDDTHHMMSSZ.EXT` (`.dump.zst`, `.sqlite.zst`,
//! `.tar.zst`) and `KEY.manifest.json`. Outputs: `key`, `sha256`, `size`,
//! `raw-size`, `created`, `backup-created`, `manifest`, `url`, `planned`.

use cairn_sdk::prelude::*;
use serde_json::json;

#[allow(dead_code)]
mod clock;
#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod manifest;
#[allow(dead_code)]
mod pg;
mod snapshot;
use common::*;
mod prune;
mod verify;
use prune::*;
use verify::*;

/// The arguments every archiving action takes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
struct Common {
    /// A storage of cairn.kdl.
    storage: String,
    /// The key prefix; `backups/` by default.
    #[serde(default = "default_prefix")]
    prefix: String,
    /// The series name in the key; derived from the source when absent.
    name: Option<String>,
    /// The zstd level, 1 to 19; 3 by default.
    #[serde(default = "default_level")]
    level: i32,
    /// Of the transfer (the step's `timeout=` applies as well).
    timeout: Option<Duration>,
}

fn default_prefix() -> String {
    "backups/".into()
}

fn default_level() -> i32 {
    3
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
struct PostgresArgs {
    /// A libpq connection string or URL (`postgresql://user:pw@host/db`);
    /// `database` is an alias.
    #[serde(alias = "database")]
    #[schemars(extend("x-aliases" = ["database"]))]
    url: String,
    /// A secret holding the password, passed by handle as PGPASSWORD.
    password_secret: Option<String>,
    /// More pg_dump arguments (`--exclude-table=...`).
    #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<String>")]
    pg_dump_args: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
struct SqliteArgs {
    /// The SQLite database file on the target.
    path: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
struct FilesArgs {
    /// The directory on the target.
    dir: String,
    #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<String>")]
    exclude: Vec<String>,
}

const COMMON_KEYS: &[&str] = &["storage", "prefix", "name", "level", "timeout"];

fn check_keys(args: &Args, own: &[&str]) -> Result<(), PluginError> {
    check_known_keys(args, own, COMMON_KEYS)
}

pub struct Backup;

impl Plugin for Backup {
    fn describe() -> Description {
        Description::new(
            "backup",
            env!("CARGO_PKG_VERSION"),
            "Back up PostgreSQL, SQLite or a directory to a storage (zstd + sha256, manifest); prune; verify",
        )
        .action(
            "postgres",
            "pg_dump -Fc on the target, streamed through zstd and sha256 into a storage; the rows of every table counted in the dump's snapshot, in the manifest",
            Effect::Write,
        )
        .action(
            "sqlite",
            "a consistent online copy of a SQLite database (sqlite3 .backup, else python3), into a storage",
            Effect::Write,
        )
        .action(
            "files",
            "tar of a directory on the target, streamed into a storage",
            Effect::Write,
        )
        .action(
            "prune",
            "keep the newest N archives of a kind and name, delete the older ones",
            Effect::Write,
        )
        .action(
            "verify",
            "read an archive back: sha256 against its manifest, decompress, pg_restore into /dev/null (every data block) / tar -t",
            Effect::Read,
        )
        .capability("exec", ["pg_dump", "pg_restore", "psql", "sh", "tar"])
        .capability("storage", ["*"])
        .capability("transfer", ["*"])
        .capability("secrets", ["*"])
        .action_schema(
            "postgres",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<PostgresArgs>(), cairn_sdk::schema::schema_of::<Common>()]),
        )
        .action_schema(
            "sqlite",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<SqliteArgs>(), cairn_sdk::schema::schema_of::<Common>()]),
        )
        .action_schema(
            "files",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<FilesArgs>(), cairn_sdk::schema::schema_of::<Common>()]),
        )
        .action_args::<PruneArgs>("prune")
        .action_args::<VerifyArgs>("verify")
    }

    fn run(
        host: &dyn Host,
        ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "postgres" => {
                check_keys(
                    &args,
                    &["url", "database", "password-secret", "pg-dump-args"],
                )?;
                postgres(host, ctx, args.decode()?, args.decode()?)
            }
            "sqlite" => {
                check_keys(&args, &["path"])?;
                sqlite(host, ctx, args.decode()?, args.decode()?)
            }
            "files" => {
                check_keys(&args, &["dir", "exclude"])?;
                files(host, ctx, args.decode()?, args.decode()?)
            }
            "prune" => prune(host, args.decode()?),
            "verify" => verify(host, args.decode()?),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(Backup);

fn postgres(
    host: &dyn Host,
    ctx: &Context,
    a: PostgresArgs,
    c: Common,
) -> Result<Outputs, PluginError> {
    if a.url.trim().is_empty() {
        return Err(PluginError::arg(
            "url",
            "needs a database (a libpq URL or name)",
        ));
    }
    let (cmd, shown, counts) = snapshot::dump_command(
        host,
        ctx,
        &a.url,
        a.password_secret.as_deref(),
        &a.pg_dump_args,
    )?;
    let name = c
        .name
        .clone()
        .or_else(|| database_of(&a.url))
        .unwrap_or_else(|| "postgres".into());
    store(host, ctx, c, "postgres", &name, &shown, cmd, Some(&counts))
}

/// The copy is one read transaction of SQLite, so it is one consistent
/// state while writers go on: `VACUUM INTO` with the `sqlite3` program when
/// the target has it, else Python's `sqlite3` module (the backup API in one
/// step). Not `.backup` of the sqlite3 shell: it copies in steps and starts
/// over after each write of another connection, forever under a steady
/// writer. The copy goes to a fresh temporary directory, is streamed out,
/// and removed.
const SQLITE_SCRIPT: &str = r#"set -e
test -f "$1" || { echo "no SQLite database at $1" >&2; exit 1; }
d=$(mktemp -d "${TMPDIR:-/tmp}/cairn-sqlite.XXXXXXXX")
trap 'rm -rf "$d"' EXIT INT TERM
t="$d/copy.db"
if command -v sqlite3 >/dev/null 2>&1; then
  sqlite3 "$1" ".timeout 10000" "VACUUM INTO '$t'" >&2
elif command -v python3 >/dev/null 2>&1; then
  python3 -c 'import sqlite3,sys
s=sqlite3.connect(sys.argv[1], timeout=10); d=sqlite3.connect(sys.argv[2])
s.backup(d, pages=-1); d.close(); s.close()' "$1" "$t" >&2
else
  echo "neither sqlite3 nor python3 on this target: cannot copy $1 consistently" >&2; exit 127
fi
cat "$t""#;

fn sqlite(
    host: &dyn Host,
    ctx: &Context,
    a: SqliteArgs,
    c: Common,
) -> Result<Outputs, PluginError> {
    if a.path.trim().is_empty() {
        return Err(PluginError::arg("path", "needs the SQLite database file"));
    }
    let cmd = Command::new("sh")
        .args(["-c", SQLITE_SCRIPT, "sh", &a.path])
        .effect(Effect::Read);
    let name = c.name.clone().unwrap_or_else(|| stem(&a.path));
    store(host, ctx, c, "sqlite", &name, &a.path, cmd, None)
}

fn files(host: &dyn Host, ctx: &Context, a: FilesArgs, c: Common) -> Result<Outputs, PluginError> {
    if a.dir.trim().is_empty() {
        return Err(PluginError::arg("dir", "needs a directory"));
    }
    let mut cmd = Command::new("tar").args(["-C", &a.dir]);
    for e in &a.exclude {
        cmd = cmd.arg(format!("--exclude={e}"));
    }
    let cmd = cmd.args(["-cf", "-", "."]).effect(Effect::Read);
    let name = c.name.clone().unwrap_or_else(|| stem(&a.dir));
    store(host, ctx, c, "files", &name, &a.dir, cmd, None)
}

/// The last path component without its extension: `/srv/media/` → `media`,
/// `db.sqlite3` → `db`.
fn stem(path: &str) -> String {
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let s = match last.find('.') {
        Some(0) | None => last,
        Some(i) => &last[..i],
    };
    key_name(s)
}

/// Streams `cmd`'s stdout through zstd and sha256 into the storage, then
/// writes the manifest (with the row counts `cmd` left in the file
/// `counts`, for a PostgreSQL dump).
#[allow(clippy::too_many_arguments)]
fn store(
    host: &dyn Host,
    ctx: &Context,
    c: Common,
    kind: &str,
    name: &str,
    source: &str,
    mut cmd: Command,
    counts: Option<&str>,
) -> Result<Outputs, PluginError> {
    if c.storage.is_empty() {
        return Err(PluginError::arg("storage", "needs a storage name"));
    }
    if !(1..=19).contains(&c.level) {
        return Err(PluginError::arg("level", "zstd level is 1 to 19"));
    }
    cmd.target = ctx.target.clone();
    let name = key_name(name);
    let secs = now_secs();
    let created = rfc3339(secs);
    // A second backup within the same second gets `-1`, `-2`...: never
    // replace an archive.
    let base = format!("{}{}", series_prefix(&c.prefix, kind, &name), stamp(secs));
    let ext = extension(kind)?;
    let mut key = format!("{base}{ext}");
    let mut n = 0;
    while host.storage_head(&c.storage, &key)?.is_some()
        || host
            .storage_head(&c.storage, &manifest_key(&key))?
            .is_some()
    {
        n += 1;
        key = format!("{base}-{n}{ext}");
    }
    let mut t = Transfer::new(Source::command(cmd))
        .zstd(c.level)
        .sha256()
        .to(Sink::object(&c.storage, &key));
    t.timeout = c.timeout.map(Into::into);
    let done = host.transfer(&t)?;
    let sha256 = done.sha256.clone().unwrap_or_default();
    let row_counts = match counts {
        Some(file) if !done.planned => Some(snapshot::read_counts(host, ctx, file)?),
        _ => None,
    };
    let tables = row_counts.as_ref().map(|c| c.len());
    let manifest = Manifest {
        format: 1,
        kind: kind.into(),
        name: name.clone(),
        key: key.clone(),
        source: source.into(),
        size: done.bytes_out,
        raw_size: done.bytes_in,
        sha256: sha256.clone(),
        compression: "zstd".into(),
        created: created.clone(),
        plugin: "backup".into(),
        plugin_version: env!("CARGO_PKG_VERSION").into(),
        runbook: ctx.runbook.clone(),
        run_id: ctx.run_id.clone(),
        step: ctx.step_id.clone(),
        row_counts,
    };
    let mkey = manifest_key(&key);
    let body = serde_json::to_vec_pretty(&manifest).map_err(|e| PluginError::new(e.to_string()))?;
    let written = host.storage_put(&c.storage, &mkey, &body)?;
    if !done.planned {
        host.info(&format!(
            "{kind} backup of {source}: {key} ({} bytes, {} before compression, sha256 {sha256})",
            done.bytes_out, done.bytes_in
        ));
    }
    Ok(Outputs::new()
        .set("key", key)
        .set("manifest", mkey)
        .set("storage", c.storage)
        .set("sha256", sha256)
        .set("size", done.bytes_out)
        .set("raw-size", done.bytes_in)
        .set("created", created.clone())
        .set("backup-created", created)
        .set(
            "url",
            written.url.trim_end_matches(MANIFEST_SUFFIX).to_string(),
        )
        .set("planned", done.planned)
        .set("tables-counted", tables.map_or(json!(null), |n| json!(n))))
}

#[cfg(test)]
mod manifest_props;
#[cfg(test)]
mod tests;
