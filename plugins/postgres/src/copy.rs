//! `copy`: the source database into a new database on the target server,
//! `pg_dump -Fc` streamed into `pg_restore` by the host (no temporary file;
//! hence no `pg_restore -j`, which needs a seekable archive). The target
//! database must not exist: a copy never overwrites. The new database is
//! labelled with this run's id and its OID is returned, so a later step can
//! prove what it would drop.

use cairn_sdk::prelude::*;

use crate::common::{
    database_of, ident, literal, pg_command, run_ok, split_password, tail, with_database,
    with_password,
};
use crate::readonly::psql;
use crate::{StepArgs, target};

pub fn copy(host: &dyn Host, ctx: &Context, a: &StepArgs) -> Result<Outputs, PluginError> {
    let target_url = target(a)?;
    let db = database_of(target_url)
        .ok_or_else(|| PluginError::arg("target-url", "the target URL names no database"))?;
    let tsecret = a.target_password_secret.as_deref();
    let server = with_database(target_url, "postgres");
    let q = |sql: &str, effect: Effect| -> Result<Completed, PluginError> {
        let (cmd, shown) = psql(host, &server, tsecret, sql, effect)?;
        run_ok(host, &cmd, &format!("on {shown}"))
    };
    let exists_error = || {
        PluginError::arg(
            "target-url",
            format!(
                "database `{db}` already exists on the target server: a copy never overwrites; drop it or name another"
            ),
        )
    };
    // A dry-run asks; a run lets `create database` refuse (one psql less
    // while the old site is read-only).
    if ctx.mode == Mode::DryRun {
        let exists = q(
            &format!(
                "select count(*) from pg_database where datname = {}",
                literal(&db)
            ),
            Effect::Read,
        )?;
        if exists.stdout_text().trim() != "0" {
            return Err(exists_error());
        }
    }
    let (source_shown, _) = split_password(&a.url);
    let owner = a.owner.as_deref().filter(|o| !o.is_empty());
    let label = format!("cairn copy run={} of {source_shown}", ctx.run_id);
    let create = format!(
        "create database {}{}",
        ident(&db),
        owner
            .map(|o| format!(" owner {}", ident(o)))
            .unwrap_or_default()
    );
    // Verbose errors carry the SQLSTATE, whatever the server's language:
    // 42P04 is `duplicate_database`.
    let (cmd, shown) = psql(host, &server, tsecret, &create, Effect::Write)?;
    let cmd = cmd.args(["-v", "VERBOSITY=verbose"]);
    let created = host.exec(&cmd)?;
    if !created.planned && created.status != 0 {
        if created.stderr_text().contains("ERROR:  42P04:") {
            return Err(exists_error());
        }
        return Err(PluginError::new(format!(
            "on {shown}: `{}` exited with status {}\n  {}",
            cmd.program,
            created.status,
            tail(&created)
        )));
    }
    if created.planned {
        host.log(
            Level::Info,
            &format!("would create database {db} on the target and restore {source_shown} into it"),
            &[],
        );
        // What would be copied, read for real: the plan shows it.
        let (cmd, _) = psql(
            host,
            &a.url,
            a.password_secret.as_deref(),
            "select pg_database_size(current_database())",
            Effect::Read,
        )?;
        let size = run_ok(host, &cmd, &format!("reading {source_shown}"))?
            .stdout_text()
            .trim()
            .parse::<u64>()
            .ok();
        return Ok(Outputs::new()
            .set("database", db)
            .set("size-bytes", size)
            .set("planned", true));
    }
    // Labelled, and its OID read, in one session.
    let oid = q(
        &format!(
            "comment on database {} is {}; select oid from pg_database where datname = {}",
            ident(&db),
            literal(&label),
            literal(&db)
        ),
        Effect::Write,
    )?
    .stdout_text()
    .trim()
    .to_string();

    let (dump, _) = pg_command(
        host,
        "pg_dump",
        &a.url,
        a.password_secret.as_deref().filter(|s| !s.is_empty()),
    )?;
    let dump = dump
        .args(["--format=custom", "--no-password"])
        .target("local");
    let (restore, _) = with_password(
        host,
        Command::new("pg_restore").arg(format!("--dbname={}", split_password(target_url).0)),
        target_url,
        tsecret.filter(|s| !s.is_empty()),
    )?;
    let mut restore = restore
        .args(["--no-password", "--exit-on-error", "--no-owner"])
        .target("local");
    if let Some(o) = owner {
        restore = restore.arg(format!("--role={o}"));
    }
    let mut t = Transfer::new(Source::command(dump)).to(Sink::command(restore));
    t.timeout = a.timeout.map(Into::into);
    let done = host
        .transfer(&t)
        .map_err(|e| PluginError::new(format!("copying {source_shown} into {db}: {e}")))?;
    Ok(Outputs::new()
        .set("database", db)
        .set("oid", oid)
        .set("label", label)
        .set("bytes", done.bytes_in)
        .set("planned", false))
}
