//! What a replace keeps aside (`NAME_before_RUNID`, `DIR.before-RUNID`) and
//! `action=drop-kept`, which drops a kept database.
//!
//! A kept database carries the comment `cairn kept run=RUN oid=OID`, set
//! when it is renamed aside. `drop-kept` drops a database only when that
//! comment names the database's own OID (a name can be given to any
//! database, and a comment copied; an OID is the database's own) and no
//! other client is connected to it; otherwise it refuses, dropping nothing.

use super::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct DropArgs {
    /// A maintenance database's URL (the database named here is dropped,
    /// not the URL's).
    pub(crate) url: String,
    /// The database to drop; empty means nothing to do.
    pub(crate) database: String,
    pub(crate) password_secret: Option<String>,
}

/// An identifier made of a name and the run id: `site_before_20261122_030000_12345`.
pub(crate) fn kept_name(db: &str, run_id: &str) -> String {
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

/// The mark of a kept database, for the run that kept it and its OID.
fn mark_text(run_id: &str, oid: &str) -> String {
    format!("cairn kept run={run_id} oid={oid}")
}

/// Marks `kept` (just renamed aside) as kept by this run, with its OID.
pub(crate) fn mark(
    host: &dyn Host,
    admin: &str,
    secret: Option<&str>,
    target: &Option<String>,
    kept: &str,
    run_id: &str,
) -> Result<(), PluginError> {
    let prefix = mark_text(run_id, "");
    psql(
        host,
        admin,
        secret,
        target,
        &format!(
            "do $$ begin execute format('comment on database %I is %L', {k}, {p} || (select oid from pg_database where datname = {k})::text); end $$",
            k = literal(kept),
            p = literal(&prefix),
        ),
        Effect::Write,
    )?;
    Ok(())
}

/// `drop-kept`: drops a database kept aside by `replace`.
pub(crate) fn drop_kept(host: &dyn Host, a: DropArgs) -> Result<Outputs, PluginError> {
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
    // OID, comment and the other clients connected, in one read.
    let found = psql(
        host,
        &a.url,
        a.password_secret.as_deref(),
        &None,
        &format!(
            "select d.oid, encode(convert_to(coalesce(shobj_description(d.oid, 'pg_database'), ''), 'UTF8'), 'hex'), \
             encode(convert_to(coalesce((select string_agg(format('pid %s (%s@%s %s)', pid, usename, coalesce(client_addr::text, 'local'), application_name), ', ') \
              from pg_stat_activity s where s.datid = d.oid and s.pid <> pg_backend_pid()), ''), 'UTF8'), 'hex') \
             from pg_database d where d.datname = {}",
            literal(&a.database)
        ),
        Effect::Read,
    )?;
    let text = found.stdout_text();
    let row: Vec<&str> = text.trim_end_matches('\n').split('|').collect();
    let [oid, comment, clients] = row.as_slice() else {
        // No row: no such database.
        host.info(&format!(
            "database `{}` does not exist: nothing to drop",
            a.database
        ));
        return Ok(Outputs::new().set("dropped", "").set("planned", false));
    };
    let (oid, comment, clients) = (*oid, unhex(comment), unhex(clients));
    let marked = comment
        .strip_prefix("cairn kept run=")
        .and_then(|rest| rest.rsplit_once(" oid="))
        .is_some_and(|(run, o)| comment == mark_text(run, oid) && o == oid);
    if !marked {
        return Err(PluginError::new(format!(
            "`{}` (oid {oid}) does not carry the mark of a database cairn kept for its own OID (its comment is `{comment}`, not `cairn kept run=… oid={oid}`): nothing was dropped; drop it by hand if it must go",
            a.database
        )));
    }
    if !clients.is_empty() {
        return Err(PluginError::new(format!(
            "`{}` has other clients connected: {clients}; nothing was dropped (end them, then run this step again)",
            a.database
        )));
    }
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
pub(crate) fn make_room(
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

/// Text that the query sent as hex (so that no `|` in it splits the row).
fn unhex(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}
