//! What a replace keeps aside (`NAME_before_RUNID`, `DIR.before-RUNID`) and
//! `action=drop-kept`, which drops a kept database.

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
