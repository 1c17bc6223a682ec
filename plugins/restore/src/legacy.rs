//! Archives made before cairn, by hand or by the old cron jobs: a plain SQL
//! dump (`.sql`), a gzipped one (`.sql.gz`), or a tarball compressed with
//! lrzip that holds one (`.tar.lrz`, the handbook's `aws s3 cp
//! s3://BUCKET/backups/PROJECT/DATE.tar.lrz .` then `lrzip -d`). They are
//! recognised by the end of their key and loaded with `psql`, not
//! `pg_restore`.
//!
//! They have no manifest, so there is no sha256 to compare with. What can
//! be checked is checked before any database is touched:
//!
//! - the dump is whole: `pg_dump` ends a plain dump with a
//!   `-- PostgreSQL database dump complete` line, which a dump cut short
//!   lacks; and it restores into the database named here: a dump that
//!   `\connect`s (`pg_dump --create`, `pg_dumpall`) is refused;
//! - `.sql.gz`: the gzip stream decodes, and its CRC and length match
//!   (the host's gunzip, in the same pass);
//! - `.tar.lrz`: lrzip decompresses it, which checks the MD5 lrzip stored
//!   in it, and `tar -t` lists the tarball to its end.
//!
//! lrzip reads a seekable file, not a pipe: the archive is written into a
//! scratch directory on the target (`TMP/cairn-restore-RUN-STEP`, mode
//! 700), decompressed there, and the directory is removed afterwards,
//! whatever happened. The bytes go from the storage to that file and from
//! `tar -xO` to `psql` through the host's transfers, never through the
//! plugin. psql runs the dump in one transaction, stopping at the first
//! error, behind a guard that makes a dump cut off in transit fail too.

use cairn_sdk::HostError;
use cairn_sdk::prelude::*;

use crate::common::*;
mod lrz;
use lrz::*;

/// What a legacy archive is, by the end of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Sql,
    SqlGz,
    TarLrz,
}

impl Format {
    pub fn of(key: &str) -> Option<Format> {
        if key.ends_with(".sql") {
            Some(Format::Sql)
        } else if key.ends_with(".sql.gz") {
            Some(Format::SqlGz)
        } else if key.ends_with(".tar.lrz") {
            Some(Format::TarLrz)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Sql => "sql",
            Format::SqlGz => "sql.gz",
            Format::TarLrz => "tar.lrz",
        }
    }
}

/// Reads a plain dump on stdin and fails unless `pg_dump` finished it (its
/// `-- PostgreSQL database dump complete` line within the last lines) and
/// it never `\connect`s to another database. A backslash in COPY data is
/// written `\\`, so a line starting with `\c` is always a psql command.
const DUMP_CHECK: &str = r#"awk '/^\\(connect|c)([ \t]|$)/ { print "line " NR " is `" $0 "`: the dump connects to another database (pg_dump --create, pg_dumpall): psql would not restore it into the one named here" > "/dev/stderr"; bad = 1; exit 2 } /^-- PostgreSQL database dump complete/ { done = NR } END { if (bad) exit 2; if (!done || NR - done > 10) { print "it does not end with the line `-- PostgreSQL database dump complete` that pg_dump writes last: the dump is cut short, or was not made by pg_dump" > "/dev/stderr"; exit 1 } }'"#;

/// The command that checks a dump fed to its stdin.
pub fn dump_check(target: Option<String>) -> Command {
    let mut c = Command::new("sh")
        .args(["-c", &format!("LC_ALL=C {DUMP_CHECK}")])
        .effect(Effect::Read);
    c.target = target;
    c
}

/// Passes the dump on to psql and, when it ends before pg_dump's last
/// line, adds a statement that fails. psql commits its one transaction at
/// the end of its input, whatever ended it: a transfer broken half-way
/// (the storage, the network) would otherwise commit half a dump.
///
/// The input may end inside a `COPY ... FROM stdin`, whose rows run to a
/// `\.` line: the guard ends one first (outside a COPY, psql fails on the
/// `\.` itself).
const GUARD: &str = r#"{ print } /^-- PostgreSQL database dump complete/ { done = NR } END { if (!done || NR - done > 10) { print "\\."; print "DO $c$ BEGIN RAISE EXCEPTION 'cairn: the dump ended early (the transfer broke off): nothing of it is kept'; END $c$;" } }"#;

/// `psql ...` as the sink of a load: `sh -c 'awk GUARD | psql ...'`, with
/// the same environment and target.
pub fn guarded(psql: Command) -> Command {
    let mut c = Command::new("sh")
        .args([
            "-c",
            r#"guard=$1; shift; LC_ALL=C awk "$guard" | "$@""#,
            "sh",
            GUARD,
            &psql.program,
        ])
        .args(psql.args.iter().cloned());
    c.env = psql.env;
    c.cwd = psql.cwd;
    c.timeout = psql.timeout;
    c.effect = psql.effect;
    c.target = psql.target;
    c
}

/// A legacy archive that passed its checks.
#[derive(Debug)]
pub struct Checked {
    pub key: String,
    pub format: Format,
    /// Bytes of the stored object.
    pub size: u64,
    /// sha256 of the stored object, as read for the check (none in a dry-run
    /// of a `.tar.lrz`).
    pub sha256: String,
    /// The object's last modification, RFC 3339, or empty when the storage
    /// does not say.
    pub created: String,
    /// `.tar.lrz`: the dump inside it.
    pub member: Option<String>,
    /// `.tar.lrz`: its other members (files; directories left out).
    pub others: Vec<String>,
    /// `.tar.lrz`: the scratch directory on the target, removed by `cleanup`.
    pub scratch: Option<String>,
    pub target: Option<String>,
    /// A dry-run: the check was (partly) planned, not performed.
    pub planned: bool,
}

impl Checked {
    /// The decompressed tarball in the scratch directory.
    fn tarball(&self) -> String {
        format!("{}/archive.tar", self.scratch.as_deref().unwrap_or(""))
    }

    /// `tar -xOf TARBALL MEMBER`: the dump on stdout, on the target.
    fn extract(&self) -> Command {
        let member = self.member.clone().unwrap_or_else(|| "*.sql".into());
        let mut c = Command::new("tar")
            .args(["-xOf", &self.tarball(), &member])
            .effect(Effect::Read);
        c.target = self.target.clone();
        c
    }

    pub fn outputs(&self) -> Outputs {
        Outputs::new()
            .set("key", self.key.clone())
            .set("format", self.format.name())
            .set("sha256", self.sha256.clone())
            .set("size", self.size)
            .set("source", "")
            .set("backup-created", self.created.clone())
            .set("member", self.member.clone().unwrap_or_default())
            .set("other-members", self.others.len())
    }
}

/// What `check` needs besides the archive.
pub struct Options<'a> {
    pub storage: &'a str,
    pub timeout: Option<std::time::Duration>,
    /// Where the scratch directory goes, on the target.
    pub tmp_dir: &'a str,
    /// The dump to use in a tarball holding several `.sql` files.
    pub member: Option<&'a str>,
    /// `false` for the `files` action: a tarball needs no dump.
    pub need_dump: bool,
}

pub fn refused(key: &str, why: impl std::fmt::Display) -> PluginError {
    PluginError::new(format!(
        "backup `{key}` is refused: {why}; nothing was restored"
    ))
}

/// Checks a legacy archive as well as its format allows; nothing but the
/// scratch directory of a `.tar.lrz` is written. On success, call `cleanup`
/// once done with it; on failure nothing is left.
pub fn check(
    host: &dyn Host,
    ctx: &Context,
    key: &str,
    format: Format,
    o: &Options,
) -> Result<Checked, PluginError> {
    if o.storage.is_empty() {
        return Err(PluginError::arg("storage", "needs a storage name"));
    }
    let head = host.storage_head(o.storage, key)?.ok_or_else(|| {
        PluginError::new(format!("backup `{key}` is not in storage `{}`", o.storage))
    })?;
    let mut c = Checked {
        key: key.to_string(),
        format,
        size: head.size,
        sha256: String::new(),
        created: head
            .last_modified_ms
            .map(|ms| rfc3339(ms / 1000))
            .unwrap_or_default(),
        member: None,
        others: Vec::new(),
        scratch: None,
        target: ctx.target.clone(),
        planned: false,
    };
    match format {
        Format::Sql | Format::SqlGz => {
            check_stream(host, ctx, o, &mut c)?;
        }
        Format::TarLrz => {
            if let Err(e) = check_lrz(host, ctx, o, &mut c) {
                cleanup(host, &c);
                return Err(e);
            }
        }
    }
    if !c.planned {
        host.info(&format!(
            "backup {key} ({} bytes, {}, no manifest) passed its checks{}",
            c.size,
            format.name(),
            c.member
                .as_ref()
                .map(|m| format!(": dump `{m}`"))
                .unwrap_or_default()
        ));
    }
    Ok(c)
}

/// `.sql`, `.sql.gz`: one pass from the storage through sha256 (and gunzip)
/// into the dump check, on the local target. When a `.sql.gz` fails it, a
/// second pass through gunzip alone tells a damaged gzip stream from a
/// damaged dump (a broken stream also starves the dump check, whose
/// complaint the host would report first). In a dry-run, where a command
/// sink would only be planned, the pass goes into nothing instead: the
/// object is read and the gzip stream checked, the dump is not.
fn check_stream(
    host: &dyn Host,
    ctx: &Context,
    o: &Options,
    c: &mut Checked,
) -> Result<(), PluginError> {
    let gz = c.format == Format::SqlGz;
    let mut t = Transfer::new(Source::object(o.storage, &c.key)).sha256();
    if gz {
        t = t.gunzip();
    }
    if !ctx.is_dry_run() {
        t = t.to(Sink::command(dump_check(Some("local".into()))));
    }
    t.timeout = o.timeout;
    let done = match host.transfer(&t) {
        Ok(done) => done,
        Err(e) if gz && !ctx.is_dry_run() => {
            let mut probe = Transfer::new(Source::object(o.storage, &c.key)).gunzip();
            probe.timeout = o.timeout;
            return Err(match host.transfer(&probe) {
                Err(g) => refused(
                    &c.key,
                    format!("its gzip stream is damaged ({})", g.message),
                ),
                Ok(_) => refused(&c.key, reason(&e)),
            });
        }
        Err(e) => return Err(refused(&c.key, reason(&e))),
    };
    c.sha256 = done.sha256.unwrap_or_default();
    c.planned = done.planned || ctx.is_dry_run();
    Ok(())
}

/// Why a check command failed: the end of its stderr, without the command
/// line (the whole check script) that the host's message quotes first.
fn reason(e: &HostError) -> String {
    let m = &e.message;
    m.find("` exited with status ")
        .and_then(|i| m[i..].find(": ").map(|j| m[i + j + 2..].to_string()))
        .unwrap_or_else(|| m.clone())
}

fn sh(target: &Option<String>, script: &str, args: &[&str]) -> Command {
    let mut c = Command::new("sh")
        .args(["-c", script, "sh"])
        .args(args.iter().copied());
    c.target = target.clone();
    c
}

/// Loads the checked dump into `psql` (a command reading the dump on its
/// stdin): from the storage (through gunzip for `.sql.gz`), or from
/// `tar -xO` in the scratch directory.
pub fn load(
    host: &dyn Host,
    c: &Checked,
    storage: &str,
    psql: Command,
    timeout: Option<std::time::Duration>,
) -> Result<Transferred, PluginError> {
    let t = match c.format {
        Format::Sql => Transfer::new(Source::object(storage, &c.key)),
        Format::SqlGz => Transfer::new(Source::object(storage, &c.key)).gunzip(),
        Format::TarLrz => Transfer::new(Source::command(c.extract())),
    };
    let mut t = t.to(Sink::command(guarded(psql)));
    t.timeout = timeout;
    host.transfer(&t).map_err(|e| {
        PluginError::new(format!(
            "restoring `{}` with psql failed, in one transaction, so the database holds nothing of it: {}",
            c.key,
            reason(&e)
        ))
    })
}

/// Unpacks the whole tarball of a checked `.tar.lrz` into `dir` (which
/// exists or is created) on the target.
pub fn unpack(host: &dyn Host, c: &Checked, dir: &str) -> Result<Completed, PluginError> {
    let cmd = sh(
        &c.target,
        r#"mkdir -p "$1" && exec tar -C "$1" -xf "$2""#,
        &[dir, &c.tarball()],
    );
    run_ok(host, &cmd, &format!("unpacking `{}` into {dir}", c.key))
}

/// Removes the scratch directory, if there is one; a failure is a warning.
pub fn cleanup(host: &dyn Host, c: &Checked) {
    let Some(dir) = &c.scratch else { return };
    let rm = sh(&c.target, r#"rm -rf "$1""#, &[dir]);
    match host.exec(&rm) {
        Ok(d) if d.planned || d.status == 0 => {}
        Ok(d) => host.warn(&format!(
            "the scratch directory {dir} was not removed: {}",
            tail(&d)
        )),
        Err(e) => host.warn(&format!("the scratch directory {dir} was not removed: {e}")),
    }
}
