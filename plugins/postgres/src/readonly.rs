//! `read-only mode=on|off`. A database's `default_transaction_read_only`
//! applies to sessions opened after it is set; sessions already open keep
//! writing until they end. So `on` sets it, then waits until every session
//! opened before has ended (or terminates them with `sessions terminate`),
//! then proves it with a write from a new session that must fail.

use std::time::{Duration, Instant};

use cairn_sdk::prelude::*;

use crate::StepArgs;
use crate::common::{database_of, ident, literal, pg_command, run_ok, tail};

const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// `psql` on `url` as any new session of the site would connect: the
/// database's own defaults apply.
pub(crate) fn session(
    host: &dyn Host,
    url: &str,
    secret: Option<&str>,
    sql: &str,
    effect: Effect,
) -> Result<(Command, String), PluginError> {
    let (cmd, shown) = pg_command(host, "psql", url, secret.filter(|s| !s.is_empty()))?;
    // Quiet: no command tags (`ALTER DATABASE`, `COMMENT`) before the
    // value a statement list ends with.
    let args = [
        "--no-password",
        "--no-psqlrc",
        "--quiet",
        "-v",
        "ON_ERROR_STOP=1",
        "-tA",
        "-F",
        "\t",
        "-c",
        sql,
    ];
    Ok((cmd.args(args).effect(effect), shown))
}

/// [`session`] forced writable for itself (`PGOPTIONS`), so that `ALTER
/// DATABASE` works on a database already read-only.
pub(crate) fn psql(
    host: &dyn Host,
    url: &str,
    secret: Option<&str>,
    sql: &str,
    effect: Effect,
) -> Result<(Command, String), PluginError> {
    let (cmd, shown) = session(host, url, secret, sql, effect)?;
    Ok((
        cmd.env("PGOPTIONS", "-c default_transaction_read_only=off"),
        shown,
    ))
}

fn query(host: &dyn Host, a: &StepArgs, sql: &str) -> Result<String, PluginError> {
    let (cmd, shown) = psql(
        host,
        &a.url,
        a.password_secret.as_deref(),
        sql,
        Effect::Read,
    )?;
    Ok(run_ok(host, &cmd, &format!("reading {shown}"))?
        .stdout_text()
        .trim()
        .to_string())
}

pub fn read_only(host: &dyn Host, ctx: &Context, a: &StepArgs) -> Result<Outputs, PluginError> {
    let on = match a.mode.as_deref() {
        Some("on") => true,
        Some("off") => false,
        other => {
            return Err(PluginError::arg(
                "mode",
                format!("`{}` is not on or off", other.unwrap_or("")),
            ));
        }
    };
    let db =
        database_of(&a.url).ok_or_else(|| PluginError::arg("url", "the URL names no database"))?;
    // The database's own setting (not this session's, which PGOPTIONS forces off).
    let was = query(
        host,
        a,
        &format!(
            "select coalesce((select 'on' from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase \
             where d.datname = {} and s.setrole = 0 and 'default_transaction_read_only=on' = any(s.setconfig)), 'off')",
            literal(&db)
        ),
    )?;
    // `on` reads the time of its own change in the same session: sessions
    // opened before it are the ones that may still write (see `settle`).
    let sql = if on {
        format!(
            "alter database {} set default_transaction_read_only = on; select now()",
            ident(&db)
        )
    } else {
        format!(
            "alter database {} reset default_transaction_read_only",
            ident(&db)
        )
    };
    let to = if on { "on" } else { "off" };
    // A plan of an undo reads nothing: the setting is not known yet.
    let line = if was.is_empty() {
        format!("database {db}: read-only → {to} (its setting is read when the step runs)")
    } else {
        format!("database {db}: read-only {was} → {to}")
    };
    host.log(Level::Info, &line, &[]);
    let (cmd, shown) = psql(
        host,
        &a.url,
        a.password_secret.as_deref(),
        &sql,
        Effect::Write,
    )?;
    let done = run_ok(
        host,
        &cmd,
        &format!("read-only {} on {shown}", a.mode.as_deref().unwrap_or("")),
    )?;
    let mut out = Outputs::new()
        .set("database", db.clone())
        .set("previous", was.clone())
        .set("read-only", on)
        .set("planned", done.planned);
    if done.planned || ctx.mode == Mode::DryRun {
        let open = query(host, a, &others(&db, "count(*)"))?;
        return Ok(out.set("sessions-open", open.parse::<u64>().unwrap_or(0)));
    }
    if on {
        let changed_at = done.stdout_text().trim().to_string();
        let ended = settle(host, a, &db, &changed_at)?;
        out = out.set("sessions-terminated", ended);
        prove_read_only(host, ctx, a, &db)?;
        out = out.set("verified", true);
    } else {
        // A new session without our PGOPTIONS must be writable again.
        let (cmd, _) = session(
            host,
            &a.url,
            a.password_secret.as_deref(),
            "show default_transaction_read_only",
            Effect::Read,
        )?;
        let shown = host.exec(&cmd)?.stdout_text().trim().to_string();
        if shown != "off" {
            return Err(PluginError::new(format!(
                "database {db}: new sessions are still read-only ({shown})"
            )));
        }
        out = out.set("verified", true);
    }
    Ok(out)
}

/// Sessions on `db` other than this one, opened before now.
fn others(db: &str, what: &str) -> String {
    format!(
        "select {what} from pg_stat_activity where datname = {} and pid <> pg_backend_pid() and backend_type = 'client backend'",
        literal(db)
    )
}

/// Waits until the sessions opened before the change (at `changed_at`, as
/// the change's session read it; read now when it did not say) have ended,
/// or terminates them; how many were terminated.
fn settle(host: &dyn Host, a: &StepArgs, db: &str, changed_at: &str) -> Result<u64, PluginError> {
    let cutoff = if changed_at.is_empty() {
        query(host, a, "select now()")?
    } else {
        changed_at.to_string()
    };
    let older = format!(
        "{} and backend_start < {}::timestamptz",
        others(db, "pid"),
        literal(&cutoff)
    );
    match a.sessions.as_deref().unwrap_or("wait") {
        "terminate" => {
            let sql = older.replacen("select pid", "select count(pg_terminate_backend(pid))", 1);
            let (cmd, shown) = psql(
                host,
                &a.url,
                a.password_secret.as_deref(),
                &sql,
                Effect::Write,
            )?;
            let n = run_ok(
                host,
                &cmd,
                &format!("terminating the older sessions of {shown}"),
            )?;
            Ok(n.stdout_text().trim().parse().unwrap_or(0))
        }
        "wait" => {
            let limit: Duration = a.timeout.map_or(DEFAULT_WAIT, Into::into);
            let started = Instant::now();
            loop {
                let left = query(host, a, &older.replacen("select pid", "select count(*)", 1))?;
                if left == "0" {
                    return Ok(0);
                }
                if started.elapsed() >= limit {
                    return Err(PluginError::new(format!(
                        "database {db} is read-only for new sessions, but {left} session(s) opened before still may write after {}s; \
                         end them, or say `sessions terminate`",
                        limit.as_secs()
                    )));
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        other => Err(PluginError::arg(
            "sessions",
            format!("`{other}` is not wait or terminate"),
        )),
    }
}

/// A new session (without our PGOPTIONS) must fail to write.
fn prove_read_only(
    host: &dyn Host,
    ctx: &Context,
    a: &StepArgs,
    db: &str,
) -> Result<(), PluginError> {
    let probe = format!(
        "cairn_ro_probe_{}",
        ctx.run_id
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    let (cmd, _) = session(
        host,
        &a.url,
        a.password_secret.as_deref(),
        &format!("create table {} (x int)", ident(&probe)),
        Effect::Write,
    )?;
    let done = host.exec(&cmd)?;
    if done.status == 0 {
        // It was written: remove exactly the table this run just made.
        let (rm, _) = psql(
            host,
            &a.url,
            a.password_secret.as_deref(),
            &format!("drop table {}", ident(&probe)),
            Effect::Write,
        )?;
        let _ = host.exec(&rm);
        return Err(PluginError::new(format!(
            "database {db}: a new session could still write (created and dropped {probe})"
        )));
    }
    if !tail(&done).contains("read-only transaction") {
        return Err(PluginError::new(format!(
            "database {db}: the write probe failed for another reason: {}",
            tail(&done)
        )));
    }
    Ok(())
}
