//! Running `manage.py` of a Django site: where it is, with which python,
//! settings module and environment (plain values and secrets by handle).
//! Shared by the stock plugins `migrate` and `static-collect`.

use std::collections::BTreeMap;

use cairn_sdk::args::one_or_many;
use cairn_sdk::prelude::*;

#[derive(Debug, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct Site {
    /// The site's directory, with `manage.py` at its root.
    pub dir: Option<String>,
    /// Or the path of `manage.py` (its directory is the site's).
    pub manage: Option<String>,
    /// The site's python (its virtualenv's `bin/python`); `python3` by
    /// default.
    pub python: Option<String>,
    /// `DJANGO_SETTINGS_MODULE`; `manage.py`'s own default when absent or
    /// empty.
    pub settings: Option<String>,
    /// `env NAME=VALUE...`: plain variables (no passwords: arguments are
    /// journaled, masked only where cairn recognises a password).
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<BTreeMap<String, String>>")]
    pub env: Vec<BTreeMap<String, String>>,
    /// `secret-env NAME=SECRET...`: variables set to a secret by handle
    /// (`secret-env DATABASE_URL=site_database_url`).
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<BTreeMap<String, String>>")]
    pub secret_env: Vec<BTreeMap<String, String>>,
    pub timeout: Option<Duration>,
}

/// The arguments [`Site`] takes, for plugins that check their own.
pub const SITE_KEYS: &[&str] = &[
    "dir",
    "manage",
    "python",
    "settings",
    "env",
    "secret-env",
    "timeout",
];

/// Refuses an argument that is neither one of [`SITE_KEYS`] nor of `own`.
pub fn check_keys(args: &Args, own: &[&str]) -> Result<(), PluginError> {
    for key in args.as_map().keys() {
        if !SITE_KEYS.contains(&key.as_str()) && !own.contains(&key.as_str()) {
            let mut all: Vec<&str> = SITE_KEYS.iter().chain(own).copied().collect();
            all.sort_unstable();
            return Err(PluginError::arg(
                key,
                format!(
                    "unknown argument `{key}`, expected one of {}",
                    all.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

impl Site {
    /// The site's directory and `manage.py`'s path.
    pub fn paths(&self) -> Result<(String, String), PluginError> {
        match (&self.dir, &self.manage) {
            (Some(d), None) if !d.trim().is_empty() => {
                let d = d.trim_end_matches('/');
                let d = if d.is_empty() { "/" } else { d };
                Ok((
                    d.to_string(),
                    format!("{}/manage.py", d.trim_end_matches('/')),
                ))
            }
            (None, Some(m)) if m.ends_with("manage.py") => {
                let dir = match m.rsplit_once('/') {
                    Some(("", _)) => "/".to_string(),
                    Some((d, _)) => d.to_string(),
                    None => ".".to_string(),
                };
                Ok((dir, m.clone()))
            }
            (None, Some(m)) => Err(PluginError::arg(
                "manage",
                format!("`{m}` is not a path to `manage.py`"),
            )),
            (Some(_), Some(_)) => Err(PluginError::arg(
                "manage",
                "give the site's `dir` or the path of `manage`, not both",
            )),
            _ => Err(PluginError::arg(
                "dir",
                "needs the site's directory (`dir`, with manage.py at its root) or `manage`",
            )),
        }
    }

    /// `PYTHON manage.py ARGS...` in the site's directory, with the
    /// settings module and the environment.
    pub fn manage(
        &self,
        host: &dyn Host,
        ctx: &Context,
        args: &[&str],
        effect: Effect,
    ) -> Result<Command, PluginError> {
        let (dir, manage) = self.paths()?;
        let mut cmd = Command::new(self.python.as_deref().unwrap_or("python3"))
            .arg(manage)
            .args(args.iter().copied())
            .effect(effect)
            .cwd(dir);
        // Empty: `manage.py`'s own default (a stock runbook passes `""`).
        if let Some(s) = self.settings.as_deref().filter(|s| !s.trim().is_empty()) {
            cmd = cmd.env("DJANGO_SETTINGS_MODULE", s);
        }
        for (name, value) in self.env.iter().flatten() {
            cmd = cmd.env(name, value);
        }
        for (name, secret) in self
            .secret_env
            .iter()
            .flatten()
            .filter(|(_, s)| !s.is_empty())
        {
            let handle = host
                .secret(secret)
                .map_err(|e| PluginError::arg(format!("secret-env.{name}"), e))?;
            cmd = cmd.env(name, handle);
        }
        cmd.timeout = self.timeout.map(Into::into);
        cmd.target = ctx.target.clone();
        Ok(cmd)
    }
}

/// The last lines of a failed command's stderr (stdout when it is empty).
pub fn tail(done: &Completed) -> String {
    let text = if done.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        done.stderr_text()
    } else {
        done.stdout_text()
    };
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n  ")
}

/// Runs a `manage.py` command; fails with its status and output unless it exits 0.
pub fn run_ok(host: &dyn Host, cmd: &Command, what: &str) -> Result<Completed, PluginError> {
    let done = host.exec(cmd)?;
    if !done.planned && done.status != 0 {
        return Err(PluginError::new(format!(
            "{what}: `manage.py {}` exited with status {}\n  {}",
            cmd.args.get(1).map(String::as_str).unwrap_or(""),
            done.status,
            tail(&done)
        )));
    }
    Ok(done)
}
