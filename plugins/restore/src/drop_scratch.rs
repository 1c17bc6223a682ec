//! `drop-scratch`: the end of a rehearsal, which must never be the end of
//! the live site. A database is dropped only when all of this holds, and
//! otherwise the step fails naming the guard and both databases, with
//! nothing dropped and nobody disconnected:
//!
//! - its label is `cairn rehearsal scratch` (never `cairn restore`, which
//!   the live database carries after a disaster recovery);
//! - the label names this run, and the database's OID is the one the run
//!   recorded in it when it created the database (and `oid`, when given);
//! - it is not the run's source database (`source-url`): not the same
//!   server and name, and not the same `system_identifier` and OID;
//! - no client is connected to it (cairn's own session is on the
//!   maintenance database of `url`).

use cairn_sdk::prelude::*;

use crate::common::*;
use crate::label::{Label, parse_label};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DropScratchArgs {
    /// A maintenance database's URL (the database named here is dropped,
    /// not the URL's).
    url: String,
    /// The database to drop; empty means nothing to do.
    database: String,
    password_secret: Option<String>,
    /// The live database the rehearsal read from: never dropped.
    source_url: Option<String>,
    source_password_secret: Option<String>,
    /// The OID the restore step returned; checked when not empty.
    oid: Option<String>,
}

/// What the server says about the database to drop.
struct Found {
    oid: String,
    system: String,
    clients: u64,
    who: String,
    comment: String,
}

pub fn drop_scratch(
    host: &dyn Host,
    ctx: &Context,
    a: DropScratchArgs,
) -> Result<Outputs, PluginError> {
    let nothing = || Outputs::new().set("dropped", "").set("planned", false);
    if a.database.is_empty() {
        return Ok(nothing());
    }
    if database_of(&a.url).as_deref() == Some(a.database.as_str()) {
        return Err(PluginError::arg(
            "url",
            "connect to another database than the one to drop (e.g. postgres)",
        ));
    }
    let secret = a.password_secret.as_deref().filter(|s| !s.is_empty());
    let (server, _) = split_password(&with_database(&a.url, &a.database));
    let Some(found) = look(host, &a.url, secret, &a.database)? else {
        host.info(&format!(
            "database `{}` does not exist: nothing to drop",
            a.database
        ));
        return Ok(nothing());
    };
    let refuse = |why: String| {
        PluginError::new(format!(
            "drop-scratch refused: database `{}` ({server}) {why}; nothing was dropped",
            a.database
        ))
    };
    let (run, oid) = match parse_label(&found.comment) {
        Label::Restore => {
            return Err(refuse(format!(
                "is labelled `{}`: a real restore (it may be the live database), never dropped by a rehearsal",
                found.comment
            )));
        }
        Label::Other => {
            return Err(refuse(format!(
                "is not a rehearsal scratch (its comment is `{}`)",
                found.comment
            )));
        }
        Label::Scratch { run, oid } => (run, oid),
    };
    if let Some(source) = a.source_url.as_deref().filter(|s| !s.is_empty()) {
        let source_secret = a
            .source_password_secret
            .as_deref()
            .filter(|s| !s.is_empty());
        if let Some(why) = is_source(host, &server, &found, source, source_secret)? {
            return Err(refuse(why));
        }
    }
    if run != ctx.run_id {
        return Err(refuse(format!(
            "was restored by another run ({run}), not by this one ({})",
            ctx.run_id
        )));
    }
    if oid != found.oid {
        return Err(refuse(format!(
            "has OID {}, not the OID {oid} this run recorded when it created it (it was dropped and created again since)",
            found.oid
        )));
    }
    if let Some(want) = a.oid.as_deref().filter(|o| !o.is_empty())
        && want != found.oid
    {
        return Err(refuse(format!(
            "has OID {}, not the OID {want} the restore step returned",
            found.oid
        )));
    }
    if found.clients > 0 {
        return Err(refuse(format!(
            "has {} other client(s) connected ({}): they are not disconnected; stop them and drop it again",
            found.clients, found.who
        )));
    }
    let done = run_psql(
        host,
        &a.url,
        secret,
        &format!("drop database {}", ident(&a.database)),
        Effect::Write,
    )?;
    host.info(&format!(
        "dropped rehearsal scratch `{}` (OID {}) of run {run}",
        a.database, found.oid
    ));
    Ok(Outputs::new()
        .set("dropped", a.database)
        .set("oid", found.oid)
        .set("planned", done.planned))
}

/// One row about `db`, or none when it does not exist. The comment comes
/// last: it is free text.
fn look(
    host: &dyn Host,
    url: &str,
    secret: Option<&str>,
    db: &str,
) -> Result<Option<Found>, PluginError> {
    let sql = format!(
        "select d.oid, (select system_identifier from pg_control_system()), \
         (select count(*) from pg_stat_activity a where a.datid = d.oid and a.backend_type = 'client backend' and a.pid <> pg_backend_pid()), \
         coalesce((select string_agg(coalesce(a.usename, '?') || ' pid ' || a.pid || coalesce(' ' || a.application_name, ''), ', ') from pg_stat_activity a where a.datid = d.oid and a.backend_type = 'client backend' and a.pid <> pg_backend_pid()), ''), \
         replace(coalesce(shobj_description(d.oid, 'pg_database'), ''), E'\\n', ' ') \
         from pg_database d where d.datname = {}",
        literal(db)
    );
    let done = run_psql(host, url, secret, &sql, Effect::Read)?;
    let text = done.stdout_text();
    let line = text.trim_end_matches('\n');
    if line.trim().is_empty() {
        return Ok(None);
    }
    let f: Vec<&str> = line.splitn(5, '|').collect();
    if f.len() < 5 {
        return Err(PluginError::new(format!(
            "drop-scratch: unexpected answer about database `{db}`: {line}"
        )));
    }
    Ok(Some(Found {
        oid: f[0].to_string(),
        system: f[1].to_string(),
        clients: f[2].parse().unwrap_or(u64::MAX),
        who: f[3].to_string(),
        comment: f[4].to_string(),
    }))
}

/// Why the database is the run's source database, if it is: the same
/// server and name, or the same cluster (`system_identifier`) and OID.
fn is_source(
    host: &dyn Host,
    server: &str,
    found: &Found,
    source_url: &str,
    secret: Option<&str>,
) -> Result<Option<String>, PluginError> {
    let (source, _) = split_password(source_url);
    if same_place(server, &source) {
        return Ok(Some(format!(
            "is the source database of this run (`{source}`)"
        )));
    }
    let done = run_psql(
        host,
        source_url,
        secret,
        "select (select system_identifier from pg_control_system()) || '|' || oid from pg_database where datname = current_database()",
        Effect::Read,
    )
    .map_err(|e| {
        PluginError::new(format!(
            "drop-scratch refused: cannot tell whether `{server}` is the source database `{source}` ({}); nothing was dropped",
            e.message
        ))
    })?;
    let text = done.stdout_text();
    if text.trim() == format!("{}|{}", found.system, found.oid) {
        return Ok(Some(format!(
            "is the source database of this run (`{source}`: the same cluster {} and OID {})",
            found.system, found.oid
        )));
    }
    Ok(None)
}

/// Host, port and database of two URLs without passwords, compared.
fn same_place(a: &str, b: &str) -> bool {
    fn place(url: &str) -> Option<(String, String, String)> {
        let rest = &url[url.find("://")? + 3..];
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
                (h.to_string(), p.to_string())
            }
            _ => (hostport.to_string(), "5432".to_string()),
        };
        let host = match host.as_str() {
            "" | "localhost" | "[::1]" => "127.0.0.1".to_string(),
            _ => host,
        };
        Some((host, port, database_of(url)?))
    }
    matches!((place(a), place(b)), (Some(x), Some(y)) if x == y)
}

fn run_psql(
    host: &dyn Host,
    url: &str,
    secret: Option<&str>,
    sql: &str,
    effect: Effect,
) -> Result<Completed, PluginError> {
    let (cmd, shown) = pg_command(host, "psql", url, secret)?;
    let cmd = cmd
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
    run_ok(host, &cmd, &format!("psql on {shown}"))
}

#[cfg(test)]
mod tests {
    use super::same_place;

    #[test]
    fn the_same_server_and_database_in_other_spellings() {
        assert!(same_place(
            "postgresql://a@localhost/site",
            "postgresql://b@127.0.0.1:5432/site"
        ));
        assert!(same_place(
            "postgresql://a@10.0.0.1:55433/site",
            "postgresql://postgres@10.0.0.1:55433/site?sslmode=disable"
        ));
        assert!(!same_place(
            "postgresql://a@10.0.0.1:55433/site",
            "postgresql://a@10.0.0.1:55432/site"
        ));
        assert!(!same_place(
            "postgresql://a@h/site",
            "postgresql://a@h/site_rehearsal"
        ));
    }
}
