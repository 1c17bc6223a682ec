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
use serde_json::json;

#[allow(dead_code)]
#[path = "../../backup/src/common.rs"]
mod common;
mod compare;
mod drop_scratch;
mod label;
mod legacy;
mod scratch_dir;
use common::*;
use legacy::Format;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Which {
    storage: String,
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

const WHICH_KEYS: &[&str] = &["storage", "prefix", "name", "key", "timeout"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PostgresArgs {
    /// The database to restore into, as a libpq URL (or name).
    url: String,
    /// Another database name than the URL's.
    database: Option<String>,
    /// Where to create, rename and inspect databases: a URL of a
    /// maintenance database; the URL with database `postgres` by default.
    admin_url: Option<String>,
    password_secret: Option<String>,
    admin_password_secret: Option<String>,
    #[serde(default = "one")]
    jobs: u32,
    #[serde(default)]
    replace: bool,
    /// Owner of a database this action creates.
    owner: Option<String>,
    /// Where a parallel restore (`jobs` > 1) keeps the archive meanwhile, on
    /// the target.
    #[serde(default = "default_tmp")]
    tmp_dir: String,
    #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
    pg_restore_args: Vec<String>,
    /// A legacy `.tar.lrz` holding several `.sql` files: the one to restore.
    member: Option<String>,
    /// A rehearsal scratch (labelled so, and only ever created, never
    /// restored over); by default when the run is a rehearsal.
    scratch: Option<bool>,
}

fn one() -> u32 {
    1
}

fn default_tmp() -> String {
    "/tmp".into()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct SqliteArgs {
    path: String,
    #[serde(default)]
    replace: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FilesArgs {
    dir: String,
    #[serde(default)]
    replace: bool,
    /// Where a legacy `.tar.lrz` is decompressed meanwhile, on the target.
    #[serde(default = "default_tmp")]
    tmp_dir: String,
    /// A rehearsal scratch directory (it must not exist; a marker naming
    /// the run is written beside it); by default when the run is a rehearsal.
    scratch: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct DropArgs {
    /// A maintenance database's URL (the database named here is dropped,
    /// not the URL's).
    url: String,
    /// The database to drop; empty means nothing to do.
    database: String,
    password_secret: Option<String>,
}

/// An identifier made of a name and the run id: `site_before_20261122_030000_12345`.
fn kept_name(db: &str, run_id: &str) -> String {
    let rid: String = run_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let suffix = format!("_before_{rid}");
    let room = 63usize.saturating_sub(suffix.len());
    let mut base = db.to_string();
    while base.len() > room {
        base.pop();
    }
    format!("{base}{suffix}")
}

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
        .args_schema(schema())
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

fn find(host: &dyn Host, w: &Which, kind: &str) -> Result<(String, Manifest), PluginError> {
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

fn found(key: String, m: &Manifest) -> Outputs {
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
fn check_legacy(
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
fn checked(host: &dyn Host, w: &Which, kind: &str) -> Result<(String, Manifest), PluginError> {
    let (key, m) = find(host, w, kind)?;
    check_archive(host, &w.storage, &key, &m)?;
    report_match(host, &key, &m);
    Ok((key, m))
}

/// Says that the archive passed its check.
fn report_match(host: &dyn Host, key: &str, m: &Manifest) {
    host.info(&format!(
        "backup {key} ({} bytes, made {}) matches its manifest's sha256",
        m.size, m.created
    ));
}

fn psql(
    host: &dyn Host,
    url: &str,
    secret: Option<&str>,
    target: &Option<String>,
    sql: &str,
    effect: Effect,
) -> Result<Completed, PluginError> {
    let (cmd, shown) = pg_command(host, "psql", url, secret)?;
    let mut cmd = cmd
        .args([
            "--no-password",
            "--no-psqlrc",
            "-v",
            "ON_ERROR_STOP=1",
            "-tA",
            "-c",
            sql,
        ])
        .effect(effect);
    cmd.target = target.clone();
    run_ok(host, &cmd, &format!("psql on {shown}"))
}

/// The archive a `postgres` restore loads: one of cairn's, checked against
/// its manifest, or a legacy dump, checked as its format allows.
enum Archive {
    /// Its key, its manifest, and (`jobs` > 1) the file on the target it
    /// was copied to while it was checked.
    Cairn(String, Box<Manifest>, Option<String>),
    Legacy(legacy::Checked),
}

fn postgres(
    host: &dyn Host,
    ctx: &Context,
    a: PostgresArgs,
    w: Which,
) -> Result<Outputs, PluginError> {
    let db = a
        .database
        .clone()
        .filter(|d| !d.is_empty())
        .or_else(|| database_of(&a.url))
        .ok_or_else(|| PluginError::arg("url", "names no database (give `database`)"))?;
    let url = with_database(&a.url, &db);
    let a = PostgresArgs {
        admin_url: a.admin_url.filter(|s| !s.is_empty()),
        owner: a.owner.filter(|s| !s.is_empty()),
        password_secret: a.password_secret.filter(|s| !s.is_empty()),
        admin_password_secret: a.admin_password_secret.filter(|s| !s.is_empty()),
        member: a.member.filter(|s| !s.is_empty()),
        ..a
    };
    if !(1..=64).contains(&a.jobs) {
        return Err(PluginError::arg("jobs", "1 to 64"));
    }
    let legacy = w.legacy();
    if legacy.is_some() {
        // psql replays a plain dump in one session.
        if a.jobs != 1 {
            return Err(PluginError::arg(
                "jobs",
                "a plain SQL dump is restored by psql, in one session: leave `jobs` at 1",
            ));
        }
        if !a.pg_restore_args.is_empty() {
            return Err(PluginError::arg(
                "pg-restore-args",
                "a plain SQL dump is restored by psql, not pg_restore",
            ));
        }
    } else if a.member.is_some() {
        return Err(PluginError::arg(
            "member",
            "only for a `.tar.lrz` archive made before cairn",
        ));
    }

    // Nothing is touched before the archive passes its check.
    let archive = match legacy {
        Some(format) => Archive::Legacy(legacy::check(
            host,
            ctx,
            w.key.as_deref().unwrap_or_default(),
            format,
            &legacy::Options {
                storage: &w.storage,
                timeout: w.timeout.map(Into::into),
                tmp_dir: &a.tmp_dir,
                member: a.member.as_deref(),
                need_dump: true,
            },
        )?),
        None if a.jobs > 1 => {
            // pg_restore -j reads a file, not a pipe: the archive is copied
            // there and checked on the way, in one read of the storage.
            let (key, m) = find(host, &w, "postgres")?;
            let file = dump_file(&a, ctx);
            if let Err(e) = save_checked(host, ctx, &w, &key, &m, &file) {
                remove_file(host, ctx, &file);
                return Err(e);
            }
            Archive::Cairn(key, Box::new(m), Some(file))
        }
        None => {
            let (key, m) = checked(host, &w, "postgres")?;
            Archive::Cairn(key, Box::new(m), None)
        }
    };
    let result = restore_database(host, ctx, &a, &w, &db, &url, &archive);
    match &archive {
        Archive::Legacy(c) => legacy::cleanup(host, c),
        Archive::Cairn(_, _, Some(file)) => remove_file(host, ctx, file),
        Archive::Cairn(_, _, None) => {}
    }
    result
}

/// Where a parallel restore keeps the archive, on the target.
fn dump_file(a: &PostgresArgs, ctx: &Context) -> String {
    format!(
        "{}/cairn-restore-{}-{}.dump",
        a.tmp_dir.trim_end_matches('/'),
        key_name(&ctx.run_id),
        key_name(&ctx.step_id)
    )
}

/// Copies the archive, decompressed, to `file` on the target (readable by
/// its owner only) and checks its size and sha256 against the manifest on
/// the way. Nothing but that file is touched before this passes. In a
/// dry-run the copy is planned and the archive is read and checked alone.
fn save_checked(
    host: &dyn Host,
    ctx: &Context,
    w: &Which,
    key: &str,
    m: &Manifest,
    file: &str,
) -> Result<(), PluginError> {
    check_size(host, &w.storage, key, m)?;
    let mut save = Command::new("sh").args(["-c", "umask 077 && cat > \"$1\"", "sh", file]);
    save.target = ctx.target.clone();
    let mut t = read_archive(&w.storage, key, m).to(Sink::command(save));
    t.timeout = w.timeout.map(Into::into);
    let done = host.transfer(&t).map_err(|e| {
        PluginError::new(format!(
            "backup `{key}` is refused: it could not be read back and copied to {file} on the target ({e}); nothing was restored"
        ))
    })?;
    if done.planned {
        check_contents(host, &w.storage, key, m)?;
    } else {
        check_digest(key, m, &done)?;
    }
    report_match(host, key, m);
    Ok(())
}

/// Removes the parallel restore's file, whatever happened.
fn remove_file(host: &dyn Host, ctx: &Context, file: &str) {
    let mut rm = Command::new("sh").args(["-c", "rm -f \"$1\"", "sh", file]);
    rm.target = ctx.target.clone();
    let _ = host.exec(&rm);
}

/// Makes room for the restore (creates the database, or keeps a non-empty
/// one aside with `replace`) and loads the archive into it.
fn restore_database(
    host: &dyn Host,
    ctx: &Context,
    a: &PostgresArgs,
    w: &Which,
    db: &str,
    url: &str,
    archive: &Archive,
) -> Result<Outputs, PluginError> {
    let admin = a
        .admin_url
        .clone()
        .unwrap_or_else(|| with_database(&a.url, "postgres"));
    let admin_secret = a
        .admin_password_secret
        .as_deref()
        .or(if a.admin_url.is_none() {
            a.password_secret.as_deref()
        } else {
            None
        });
    let target = ctx.target.clone();
    let key = match archive {
        Archive::Cairn(key, ..) => key.clone(),
        Archive::Legacy(c) => c.key.clone(),
    };

    let scratch = label::is_scratch(ctx, a.scratch);
    if scratch && a.replace {
        return Err(PluginError::arg(
            "replace",
            "a rehearsal scratch is only ever a new database: `replace` would set the existing one aside",
        ));
    }

    // What is there now (reads, performed in a dry-run too).
    let exists = psql(
        host,
        &admin,
        admin_secret,
        &target,
        &format!("select 1 from pg_database where datname = {}", literal(db)),
        Effect::Read,
    )?;
    let exists = exists.stdout_text().trim() == "1";
    if exists && scratch {
        return Err(PluginError::new(format!(
            "database `{db}` already exists: a rehearsal restores into a new scratch database (and drops only that); choose another `database`; nothing was restored"
        )));
    }
    let mut kept = String::new();
    let mut create = !exists;
    if exists {
        let count = psql(
            host,
            url,
            a.password_secret.as_deref(),
            &target,
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' \
             and c.relkind in ('r', 'v', 'm', 'S', 'f', 'p')",
            Effect::Read,
        )?;
        let count: u64 = count.stdout_text().trim().parse().unwrap_or(0);
        if count > 0 {
            if !a.replace {
                return Err(PluginError::new(format!(
                    "database `{db}` is not empty ({count} tables, views or sequences): refused without `replace #true` (which keeps it as `{}`); nothing was restored",
                    kept_name(db, &ctx.run_id)
                )));
            }
            kept = kept_name(db, &ctx.run_id);
            psql(
                host,
                &admin,
                admin_secret,
                &target,
                &format!(
                    "select pg_terminate_backend(pid) from pg_stat_activity where datname = {} and pid <> pg_backend_pid()",
                    literal(db)
                ),
                Effect::Write,
            )?;
            psql(
                host,
                &admin,
                admin_secret,
                &target,
                &format!("alter database {} rename to {}", ident(db), ident(&kept)),
                Effect::Write,
            )?;
            host.warn(&format!(
                "database `{db}` kept as `{kept}` (drop it with action drop-kept)"
            ));
            create = true;
        }
    }
    if create {
        let owner = a
            .owner
            .as_ref()
            .map(|o| format!(" owner {}", ident(o)))
            .unwrap_or_default();
        psql(
            host,
            &admin,
            admin_secret,
            &target,
            &format!("create database {}{owner}", ident(db)),
            Effect::Write,
        )?;
    }
    // The database's OID, which its label and the outputs record.
    let oid = psql(
        host,
        &admin,
        admin_secret,
        &target,
        &format!(
            "select oid from pg_database where datname = {}",
            literal(db)
        ),
        Effect::Read,
    )?
    .stdout_text()
    .trim()
    .to_string();
    let label = label::database_label(scratch, &ctx.run_id, &oid, &key);
    if create {
        psql(
            host,
            &admin,
            admin_secret,
            &target,
            &format!("comment on database {} is {}", ident(db), literal(&label)),
            Effect::Write,
        )?;
    }

    let timeout = w.timeout.map(Into::into);
    let (planned, outputs) = match archive {
        Archive::Cairn(key, m, file) => (
            pg_restore(host, ctx, a, w, url, key, file.as_deref(), timeout)?,
            found(key.clone(), m),
        ),
        Archive::Legacy(c) => {
            let (load, _) = pg_command(host, "psql", url, a.password_secret.as_deref())?;
            // One transaction: a dump that fails half-way leaves nothing.
            let mut load = load.args([
                "--no-password",
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                "--output=/dev/null",
            ]);
            if let Some(o) = &a.owner {
                // Objects the dump creates belong to the database's owner.
                load = load.args(["-c", &format!("set role {}", ident(o))]);
            }
            let mut load = load.args(["-f", "-"]);
            load.target = target.clone();
            let done = legacy::load(host, c, &w.storage, load, timeout)?;
            (done.planned || c.planned, c.outputs())
        }
    };
    Ok(outputs
        .set("database", db)
        .set("created", create)
        .set("kept", kept)
        .set("oid", oid)
        .set("run-id", ctx.run_id.clone())
        .set("scratch", scratch)
        .set("label", if create { label } else { String::new() })
        .set("planned", planned))
}

/// `pg_restore` of one of cairn's archives: from the storage through zstd,
/// or (`jobs` > 1) from the file it was copied to. Whether it was planned.
#[allow(clippy::too_many_arguments)]
fn pg_restore(
    host: &dyn Host,
    ctx: &Context,
    a: &PostgresArgs,
    w: &Which,
    url: &str,
    key: &str,
    file: Option<&str>,
    timeout: Option<std::time::Duration>,
) -> Result<bool, PluginError> {
    let (restore, _) = pg_command(host, "pg_restore", url, a.password_secret.as_deref())?;
    let mut restore = restore
        .args([
            "--no-password",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
        ])
        .args(a.pg_restore_args.iter().cloned());
    if let Some(o) = &a.owner {
        // Objects belong to the database's owner, not to the restoring role.
        restore = restore.arg(format!("--role={o}"));
    }
    restore.target = ctx.target.clone();
    match file {
        None => {
            let mut t = Transfer::new(Source::object(&w.storage, key))
                .unzstd()
                .to(Sink::command(restore));
            t.timeout = timeout;
            Ok(host.transfer(&t)?.planned)
        }
        Some(file) => {
            let cmd = restore.arg(format!("--jobs={}", a.jobs)).arg(file);
            Ok(run_ok(host, &cmd, "pg_restore")?.planned)
        }
    }
}

/// `drop-kept`: drops a database kept aside by `replace`.
fn drop_kept(host: &dyn Host, a: DropArgs) -> Result<Outputs, PluginError> {
    if a.database.is_empty() {
        return Ok(Outputs::new().set("dropped", "").set("planned", false));
    }
    if !a.database.contains("_before_") {
        return Err(PluginError::arg(
            "database",
            format!(
                "`{}` is not a database kept by a restore (NAME_before_RUNID)",
                a.database
            ),
        ));
    }
    if database_of(&a.url).as_deref() == Some(a.database.as_str()) {
        return Err(PluginError::arg(
            "url",
            "connect to another database than the one to drop (e.g. postgres)",
        ));
    }
    let exists = psql(
        host,
        &a.url,
        a.password_secret.as_deref(),
        &None,
        &format!(
            "select 1 from pg_database where datname = {}",
            literal(&a.database)
        ),
        Effect::Read,
    )?;
    if exists.stdout_text().trim() != "1" {
        host.info(&format!(
            "database `{}` does not exist: nothing to drop",
            a.database
        ));
        return Ok(Outputs::new().set("dropped", "").set("planned", false));
    }
    psql(
        host,
        &a.url,
        a.password_secret.as_deref(),
        &None,
        &format!(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = {} and pid <> pg_backend_pid()",
            literal(&a.database)
        ),
        Effect::Write,
    )?;
    let done = psql(
        host,
        &a.url,
        a.password_secret.as_deref(),
        &None,
        &format!("drop database if exists {}", ident(&a.database)),
        Effect::Write,
    )?;
    Ok(Outputs::new()
        .set("dropped", a.database)
        .set("planned", done.planned))
}

/// Refuses a non-empty destination without `replace`; with it, moves the
/// old one aside as `PATH.before-RUNID`. Returns that name, or "".
fn make_room(
    host: &dyn Host,
    ctx: &Context,
    path: &str,
    replace: bool,
    what: &str,
    siblings: &[&str],
) -> Result<String, PluginError> {
    let test = if what == "directory" {
        r#"[ -e "$1" ] && { [ ! -d "$1" ] || [ -n "$(ls -A "$1")" ]; }"#
    } else {
        r#"[ -e "$1" ]"#
    };
    let mut probe = Command::new("sh")
        .args(["-c", test, "sh", path])
        .effect(Effect::Read);
    probe.target = ctx.target.clone();
    let done = host.exec(&probe)?;
    if done.status != 0 {
        return Ok(String::new());
    }
    let kept = format!(
        "{}.before-{}",
        path.trim_end_matches('/'),
        key_name(&ctx.run_id)
    );
    if !replace {
        return Err(PluginError::new(format!(
            "{what} `{path}` is not empty: refused without `replace #true` (which keeps it as `{kept}`); nothing was restored"
        )));
    }
    let mut script = String::from(r#"set -e; mv "$1" "$2""#);
    for s in siblings {
        script.push_str(&format!(
            r#"; if [ -e "$1{s}" ]; then mv "$1{s}" "$2{s}"; fi"#
        ));
    }
    let mut mv = Command::new("sh").args(["-c", &script, "sh", path.trim_end_matches('/'), &kept]);
    mv.target = ctx.target.clone();
    run_ok(host, &mv, &format!("keeping {path}"))?;
    host.warn(&format!("{what} `{path}` kept as `{kept}`"));
    Ok(kept)
}

fn sqlite(host: &dyn Host, ctx: &Context, a: SqliteArgs, w: Which) -> Result<Outputs, PluginError> {
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

fn files(host: &dyn Host, ctx: &Context, a: FilesArgs, w: Which) -> Result<Outputs, PluginError> {
    if a.dir.trim().is_empty() {
        return Err(PluginError::arg(
            "dir",
            "needs the directory to restore into",
        ));
    }
    match w.legacy() {
        Some(Format::TarLrz) => return legacy_files(host, ctx, a, w),
        Some(f) => {
            return Err(PluginError::arg(
                "key",
                format!(
                    "a `.{}` archive is a database dump, not files: restore it with action postgres",
                    f.name()
                ),
            ));
        }
        None => {}
    }
    let (key, m) = checked(host, &w, "files")?;
    let kept = files_room(host, ctx, &a)?;
    let mut unpack = Command::new("sh").args([
        "-c",
        r#"mkdir -p "$1" && exec tar -C "$1" -xf -"#,
        "sh",
        &a.dir,
    ]);
    unpack.target = ctx.target.clone();
    let mut t = Transfer::new(Source::object(&w.storage, &key))
        .unzstd()
        .to(Sink::command(unpack));
    t.timeout = w.timeout.map(Into::into);
    let done = host.transfer(&t)?;
    Ok(found(key, &m)
        .set("dir", a.dir)
        .set("kept", kept)
        .set("bytes", done.bytes_out)
        .set("planned", done.planned))
}

/// Room for a files restore: a scratch directory is marked as this run's
/// first (it must not exist); any other goes through [`make_room`].
fn files_room(host: &dyn Host, ctx: &Context, a: &FilesArgs) -> Result<String, PluginError> {
    if label::is_scratch(ctx, a.scratch) {
        if a.replace {
            return Err(PluginError::arg(
                "replace",
                "a rehearsal scratch directory is only ever a new one",
            ));
        }
        scratch_dir::prepare(host, ctx, &a.dir)?;
    }
    make_room(host, ctx, &a.dir, a.replace, "directory", &[])
}

/// `files` from a legacy `.tar.lrz`: checked (decompressed and listed in
/// the scratch directory), then the whole tarball, dump included, unpacked
/// into the directory.
fn legacy_files(
    host: &dyn Host,
    ctx: &Context,
    a: FilesArgs,
    w: Which,
) -> Result<Outputs, PluginError> {
    let key = w.key.clone().unwrap_or_default();
    let c = legacy::check(
        host,
        ctx,
        &key,
        Format::TarLrz,
        &legacy::Options {
            storage: &w.storage,
            timeout: w.timeout.map(Into::into),
            tmp_dir: &a.tmp_dir,
            member: None,
            need_dump: false,
        },
    )?;
    let result = files_room(host, ctx, &a).and_then(|kept| {
        let done = legacy::unpack(host, &c, &a.dir)?;
        Ok((kept, done.planned))
    });
    legacy::cleanup(host, &c);
    let (kept, planned) = result?;
    Ok(c.outputs()
        .set("dir", a.dir)
        .set("kept", kept)
        .set("files", c.others.len())
        .set("planned", planned || c.planned))
}

fn schema() -> serde_json::Value {
    json!({
        "type": "object",
        "description": "which backup: storage, prefix (backups/), name (the latest of the series) or key (a key ending in .sql, .sql.gz or .tar.lrz is a dump made before cairn, restored with psql); postgres: url, database, admin-url, password-secret, jobs, replace, owner, member (the dump in a .tar.lrz), tmp-dir; sqlite: path, replace; files: dir, replace, tmp-dir; latest/check: kind; compare: url, database, storage and key (the manifest's row counts), source-url, ignore-tables, tolerance; drop-kept/drop-scratch: url, database (drop-scratch: source-url, oid); remove-scratch-dir: dir, live-dir; postgres/files: scratch",
        "properties": {
            "storage": { "type": "string" },
            "prefix": { "type": "string", "default": "backups/" },
            "name": { "type": "string" },
            "key": { "type": "string" },
            "member": { "type": "string" },
            "tmp-dir": { "type": "string", "default": "/tmp" },
            "kind": { "enum": ["postgres", "sqlite", "files"] },
            "url": { "type": "string" },
            "database": { "type": "string" },
            "jobs": { "type": "integer", "minimum": 1, "default": 1 },
            "replace": { "type": "boolean", "default": false },
            "timeout": { "type": "string" }
        }
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_scratch;
