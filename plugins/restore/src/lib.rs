//! The stock `restore` plugin: finds the latest (or a named) backup made by
//! `backup` in a storage, checks its sha256 against its manifest before
//! touching anything, and restores it: PostgreSQL with `pg_restore` into a
//! named or scratch database, a SQLite file, a directory.
//!
//! ```kdl
//! step restore uses=restore action=postgres target=db timeout="1h" {
//!     storage offsite
//!     name site                 // the series: latest backups/postgres/site-*
//!     url "postgresql://postgres@127.0.0.1/site_scratch"
//!     jobs 4
//! }
//! step drop-old uses=restore action=drop-kept target=db when="{{ steps.restore.outputs.kept }}" {
//!     url "postgresql://postgres@127.0.0.1/postgres"
//!     database "{{ steps.restore.outputs.kept }}"
//! }
//! ```
//!
//! A database or directory that is not empty is refused unless `replace
//! #true`; then the old one is kept under another name
//! (`NAME_before_RUNID`, `DIR.before-RUNID`) and dropping it is the separate
//! action `drop-kept`. Outputs: `key`, `sha256`, `size`, `backup-created`
//! (the backup's time, RFC 3339), and per action `database`, `created`,
//! `kept`, `path`, `dir`, `planned`.
//!
//! Archives made before cairn (`key` ending in `.sql`, `.sql.gz` or
//! `.tar.lrz`) have no manifest: they are checked as far as their format
//! allows and loaded with `psql` in one transaction (see `legacy.rs`).

use cairn_sdk::prelude::*;

#[allow(dead_code)]
#[path = "../../backup/src/clock.rs"]
mod clock;
#[allow(dead_code)]
#[path = "../../backup/src/common.rs"]
mod common;
mod compare;
mod drop_scratch;
mod label;
mod legacy;
#[allow(dead_code)]
#[path = "../../backup/src/manifest.rs"]
mod manifest;
#[allow(dead_code)]
#[path = "../../backup/src/pg.rs"]
mod pg;
mod scratch_dir;
use common::*;
use legacy::Format;
mod database;
mod files;
mod find;
mod kept;
mod postgres;
mod sqlite;
use database::*;
use files::*;
use find::*;
use kept::*;
use postgres::*;
use sqlite::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
struct Which {
    /// A storage of cairn.kdl.
    storage: String,
    /// The key prefix; `backups/` by default.
    #[serde(default = "default_prefix")]
    prefix: String,
    /// The series name: the latest of `PREFIX/KIND/NAME-*` is used.
    name: Option<String>,
    /// One archive by its key; a key ending in `.sql`, `.sql.gz` or
    /// `.tar.lrz` is an archive made before cairn (see `legacy`).
    key: Option<String>,
    timeout: Option<Duration>,
}

impl Which {
    /// The legacy format of the archive named by `key`, if it is one.
    fn legacy(&self) -> Option<Format> {
        self.key.as_deref().and_then(Format::of)
    }
}

fn default_prefix() -> String {
    "backups/".into()
}

/// The arguments `latest` and `check` take besides [`Which`]'s, read
/// from the arguments as they are (for their schema only).
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
struct FindArgs {
    /// The kind of archive: `postgres`, `sqlite` or `files`.
    #[schemars(extend("enum" = ["postgres", "sqlite", "files"]))]
    kind: String,
    /// A legacy tar archive: the member to take.
    member: Option<String>,
    /// A legacy archive: where to unpack it on the target.
    tmp_dir: Option<String>,
}

const WHICH_KEYS: &[&str] = &["storage", "prefix", "name", "key", "timeout"];

fn check_keys(args: &Args, own: &[&str]) -> Result<(), PluginError> {
    check_known_keys(args, own, WHICH_KEYS)
}

pub struct Restore;

impl Plugin for Restore {
    fn describe() -> Description {
        Description::new(
            "restore",
            env!("CARGO_PKG_VERSION"),
            "Restore a backup made by `backup` (latest lookup, sha256 check first; PostgreSQL with pg_restore -j, SQLite, files) or a plain SQL dump made before cairn (.sql, .sql.gz, .tar.lrz; checked, then psql)",
        )
        .action(
            "postgres",
            "pg_restore the latest (or a named) backup, or psql a legacy .sql/.sql.gz/.tar.lrz dump, into a named or scratch database",
            Effect::Write,
        )
        .action("sqlite", "restore a SQLite database file", Effect::Write)
        .action(
            "files",
            "unpack a files backup (or a legacy .tar.lrz) into a directory",
            Effect::Write,
        )
        .action(
            "latest",
            "find the latest backup of a kind and name (key, created, sha256)",
            Effect::Read,
        )
        .action(
            "check",
            "check a backup's sha256 and size against its manifest (a legacy dump: gzip, lrzip, tar and dump-end checks)",
            Effect::Read,
        )
        .action(
            "compare",
            "row counts of every table of a restored database: exactly those the backup counted in its snapshot, and the live database's within a tolerance",
            Effect::Read,
        )
        .action(
            "drop-kept",
            "drop a database kept by `replace` (NAME_before_RUNID)",
            Effect::Write,
        )
        .action(
            "drop-scratch",
            "drop the rehearsal scratch database this run created (never a `cairn restore`, the source, or one in use)",
            Effect::Write,
        )
        .action(
            "remove-scratch-dir",
            "remove the scratch directory this run created (never /, $HOME or the live directory)",
            Effect::Write,
        )
        .capability("exec", ["psql", "pg_restore", "sh", "tar", "lrzip"])
        .capability("storage", ["*"])
        .capability("transfer", ["*"])
        .capability("secrets", ["*"])
        .action_schema(
            "postgres",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<PostgresArgs>(), cairn_sdk::schema::schema_of::<Which>()]),
        )
        .action_schema(
            "sqlite",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<SqliteArgs>(), cairn_sdk::schema::schema_of::<Which>()]),
        )
        .action_schema(
            "files",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<FilesArgs>(), cairn_sdk::schema::schema_of::<Which>()]),
        )
        .action_schema(
            "latest",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<Which>(), cairn_sdk::schema::schema_of::<FindArgs>()]),
        )
        .action_schema(
            "check",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<Which>(), cairn_sdk::schema::schema_of::<FindArgs>()]),
        )
        .action_args::<compare::CompareArgs>("compare")
        .action_args::<DropArgs>("drop-kept")
        .action_args::<drop_scratch::DropScratchArgs>("drop-scratch")
        .action_args::<scratch_dir::RemoveArgs>("remove-scratch-dir")
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
                    &[
                        "url",
                        "database",
                        "admin-url",
                        "password-secret",
                        "admin-password-secret",
                        "jobs",
                        "replace",
                        "owner",
                        "tmp-dir",
                        "pg-restore-args",
                        "member",
                        "scratch",
                    ],
                )?;
                postgres(host, ctx, args.decode()?, args.decode()?)
            }
            "sqlite" => {
                check_keys(&args, &["path", "replace"])?;
                sqlite(host, ctx, args.decode()?, args.decode()?)
            }
            "files" => {
                check_keys(&args, &["dir", "replace", "tmp-dir", "scratch"])?;
                files(host, ctx, args.decode()?, args.decode()?)
            }
            "latest" | "check" => {
                check_keys(&args, &["kind", "member", "tmp-dir"])?;
                let w: Which = args.decode()?;
                if let Some(format) = w.legacy() {
                    return check_legacy(host, ctx, &args, &w, format, action == "check");
                }
                let kind = args
                    .get("kind")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| PluginError::arg("kind", "needs postgres, sqlite or files"))?
                    .to_string();
                let (key, m) = find(host, &w, &kind)?;
                if action == "check" {
                    check_archive(host, &w.storage, &key, &m)?;
                }
                Ok(found(key, &m).set("checked", action == "check"))
            }
            "compare" => compare::compare(host, args.decode()?),
            "drop-kept" => drop_kept(host, args.decode()?),
            "drop-scratch" => drop_scratch::drop_scratch(host, ctx, args.decode()?),
            "remove-scratch-dir" => scratch_dir::remove(host, ctx, args.decode()?),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(Restore);

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_legacy;
#[cfg(test)]
mod tests_scratch;
