//! libpq URLs and commands: the password taken out of a URL (it goes to
//! the command's environment, never its arguments), the database a URL
//! names, and `psql`/`pg_*` commands with their password. `backup` and
//! `restore` both include this file (see `common.rs`).

use cairn_sdk::prelude::*;

/// A libpq connection string split into what may be shown and the password:
/// `postgresql://u:pw@h/db` → (`postgresql://u@h/db`, `Some("pw")`). Other
/// forms (`dbname=site host=...`, a plain database name) are kept as they are.
pub fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_string(), None);
    };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let Some(at) = authority.rfind('@') else {
        return (url.to_string(), None);
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return (url.to_string(), None);
    };
    let password = percent_decode(&userinfo[colon + 1..]);
    let shown = format!(
        "{}{}{}",
        &url[..scheme_end + 3],
        &userinfo[..colon],
        &rest[at..]
    );
    (shown, Some(password))
}

/// The database a connection string names: the URL's path, `dbname=`, or the
/// string itself when it is a bare name.
pub fn database_of(url: &str) -> Option<String> {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let path = rest.find('/').map(|i| &rest[i + 1..])?;
        let db = path.split('?').next().unwrap_or("");
        return (!db.is_empty()).then(|| percent_decode(db));
    }
    if url.contains('=') {
        return url
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("dbname="))
            .map(|s| s.trim_matches('\'').to_string());
    }
    (!url.is_empty()).then(|| url.to_string())
}

/// The same connection string with another database.
pub fn with_database(url: &str, db: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let query = tail.find('?').map(|i| &tail[i..]).unwrap_or("");
        return format!(
            "{}{authority}/{}{query}",
            &url[..scheme_end + 3],
            percent_encode(db)
        );
    }
    if url.contains('=') {
        let mut parts: Vec<String> = url
            .split_whitespace()
            .filter(|kv| !kv.starts_with("dbname="))
            .map(str::to_string)
            .collect();
        parts.push(format!("dbname={db}"));
        return parts.join(" ");
    }
    db.to_string()
}

pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if let Some(Ok(v)) =
            (b[i] == b'%' && i + 2 < b.len()).then(|| u8::from_str_radix(&s[i + 1..i + 3], 16))
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

/// A command against PostgreSQL: the connection string without its
/// password in `--dbname`, the password in `PGPASSWORD` (never in the
/// command line, so never in logs or the journal), or a secret by handle.
pub fn pg_command(
    host: &dyn Host,
    program: &str,
    url: &str,
    password_secret: Option<&str>,
) -> Result<(Command, String), PluginError> {
    let (shown, _) = split_password(url);
    let cmd = Command::new(program).arg(format!("--dbname={shown}"));
    with_password(host, cmd, url, password_secret)
}

/// `cmd` with the password of `url` (or the secret `password_secret`, by
/// handle) in `PGPASSWORD`, and the URL without its password.
pub fn with_password(
    host: &dyn Host,
    mut cmd: Command,
    url: &str,
    password_secret: Option<&str>,
) -> Result<(Command, String), PluginError> {
    let (shown, password) = split_password(url);
    if let Some(name) = password_secret.filter(|n| !n.is_empty()) {
        let s = host
            .secret(name)
            .map_err(|e| PluginError::arg("password-secret", e))?;
        cmd = cmd.env("PGPASSWORD", s);
    } else if let Some(pw) = password {
        cmd = cmd.env("PGPASSWORD", pw);
    }
    Ok((cmd, shown))
}
