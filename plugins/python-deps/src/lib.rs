//! The stock `python-deps` plugin: installs a site's dependencies
//! (`requirements.txt`, or `pyproject.toml`'s `[project] dependencies`)
//! into its virtualenv, with pip, or uv when it is there, and reports what
//! changed: `changes` (`{name, from, to}`; `from` empty for a new package,
//! `to` empty for a removed one).
//!
//! ```kdl
//! step deps uses=python-deps {
//!     dir "/srv/site"                 // requirements.txt, else pyproject.toml
//!     venv "/srv/site/venv"
//! }
//! ```
//!
//! With pip, the install runs under a small snippet of the virtualenv's
//! python (`install.py`) that reads the installed packages before and after
//! `pip install` in the same process (`importlib.metadata`): two `pip list`
//! runs fewer in the maintenance window.
//!
//! A dry-run never modifies the virtualenv: it lists the installed
//! packages and asks `pip install --dry-run --report -` (or `uv pip install
//! --dry-run`) what would change; both are reads.

use std::collections::BTreeMap;

use cairn_sdk::args::one_or_many;
use cairn_sdk::prelude::*;

mod changes;
use changes::{Change, Installed};

/// Reads `[project] dependencies` of a pyproject.toml (Python 3.11's
/// tomllib, else the `tomli` package) as JSON.
const PYPROJECT_DEPS: &str = r#"import json, sys
try:
    import tomllib
except ImportError:
    import tomli as tomllib
with open(sys.argv[1], "rb") as f:
    data = tomllib.load(f)
print(json.dumps(data.get("project", {}).get("dependencies", [])))"#;

/// Runs `pip install ARGS` between two reads of the installed packages.
const PIP_INSTALL: &str = include_str!("install.py");
/// The line of its answer.
const PIP_ANSWER: &str = "CAIRN-DEPS-JSON ";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct InstallArgs {
    /// The virtualenv.
    venv: String,
    /// The site's directory: `requirements.txt` in it, else `pyproject.toml`.
    dir: Option<String>,
    /// The file, absolute or relative to `dir`.
    requirements: Option<String>,
    /// `auto` (uv when it runs, else pip), `pip` or `uv`.
    #[serde(default)]
    installer: Installer,
    /// More arguments for the install (`--no-index`, `--find-links DIR`).
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<String>")]
    pip_args: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<BTreeMap<String, String>>")]
    env: Vec<BTreeMap<String, String>>,
    /// Variables set to a secret by handle (`PIP_INDEX_URL=private_index`).
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<BTreeMap<String, String>>")]
    secret_env: Vec<BTreeMap<String, String>>,
    timeout: Option<Duration>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum Installer {
    #[default]
    Auto,
    Pip,
    Uv,
}

pub struct PythonDeps;

impl Plugin for PythonDeps {
    fn describe() -> Description {
        Description::new(
            "python-deps",
            env!("CARGO_PKG_VERSION"),
            "Install requirements.txt or pyproject.toml dependencies into a virtualenv",
        )
        .action(
            "install",
            "pip (or uv) install into the virtualenv; `changes` lists what changed",
            Effect::Write,
        )
        .default_action("install")
        .action_args::<InstallArgs>("install")
        .capability("exec", ["*"])
        .capability("secrets", ["*"])
    }

    fn run(
        host: &dyn Host,
        ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "install" => install(host, ctx, args.decode()?),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(PythonDeps);

struct Runner<'a> {
    host: &'a dyn Host,
    ctx: &'a Context,
    a: &'a InstallArgs,
}

impl Runner<'_> {
    fn command(
        &self,
        program: &str,
        args: &[&str],
        effect: Effect,
    ) -> Result<Command, PluginError> {
        let mut cmd = Command::new(program)
            .args(args.iter().copied())
            .effect(effect)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1");
        for (name, value) in self.a.env.iter().flatten() {
            cmd = cmd.env(name, value);
        }
        for (name, secret) in self
            .a
            .secret_env
            .iter()
            .flatten()
            .filter(|(_, s)| !s.is_empty())
        {
            let handle = self
                .host
                .secret(secret)
                .map_err(|e| PluginError::arg(format!("secret-env.{name}"), e))?;
            cmd = cmd.env(name, handle);
        }
        if let Some(d) = &self.a.dir {
            cmd.cwd = Some(d.clone());
        }
        cmd.timeout = self.a.timeout.map(Into::into);
        cmd.target = self.ctx.target.clone();
        Ok(cmd)
    }

    fn ok(&self, cmd: &Command, what: &str) -> Result<Completed, PluginError> {
        let done = self.host.exec(cmd)?;
        if !done.planned && done.status != 0 {
            let text = if done.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
                done.stderr_text()
            } else {
                done.stdout_text()
            };
            let lines: Vec<&str> = text.trim_end().lines().collect();
            return Err(PluginError::new(format!(
                "{what}: exited with status {}\n  {}",
                done.status,
                lines[lines.len().saturating_sub(10)..].join("\n  ")
            )));
        }
        Ok(done)
    }
}

fn install(host: &dyn Host, ctx: &Context, a: InstallArgs) -> Result<Outputs, PluginError> {
    if a.venv.trim().is_empty() {
        return Err(PluginError::arg("venv", "needs the virtualenv's directory"));
    }
    let r = Runner { host, ctx, a: &a };
    let python = format!("{}/bin/python", a.venv.trim_end_matches('/'));
    let Some(file) = requirements_file(&r)? else {
        // A dry-run step that runs offline (it depends on a planned step):
        // nothing can be read, so what would change is not known.
        host.info("what would change is not known: this step depends on a planned one");
        return Ok(Outputs::new()
            .set("changes", serde_json::json!([]))
            .set("changed", 0)
            .set("planned", true));
    };
    let pyproject = file.ends_with("pyproject.toml");

    let uv = match a.installer {
        Installer::Pip => false,
        Installer::Uv => true,
        Installer::Auto => host
            .exec(&r.command("uv", &["--version"], Effect::Read)?)
            .is_ok_and(|d| d.status == 0),
    };
    let list = |r: &Runner| -> Result<Installed, PluginError> {
        let cmd = if uv {
            r.command(
                "uv",
                &["pip", "list", "--python", &python, "--format", "json"],
                Effect::Read,
            )?
        } else {
            r.command(
                &python,
                &["-m", "pip", "list", "--format=json"],
                Effect::Read,
            )?
        };
        let done = r.ok(&cmd, "listing the installed packages")?;
        changes::parse_list(&done.stdout_text()).map_err(PluginError::new)
    };
    // pip's install reads the packages itself (`install.py`).
    let before = if uv || ctx.is_dry_run() {
        list(&r)?
    } else {
        Installed::new()
    };

    // What to install: `-r FILE`, or a pyproject's dependencies (uv reads
    // pyproject.toml itself).
    let mut what: Vec<String> = if pyproject && !uv {
        let cmd = r.command(&python, &["-c", PYPROJECT_DEPS, &file], Effect::Read)?;
        let done = r.ok(&cmd, &format!("reading the dependencies of `{file}`"))?;
        serde_json::from_str(done.stdout_text().trim())
            .map_err(|e| PluginError::new(format!("reading `{file}`: {e}")))?
    } else {
        vec!["-r".into(), file.clone()]
    };
    what.extend(a.pip_args.iter().cloned());
    let what: Vec<&str> = what.iter().map(String::as_str).collect();
    let installer = if uv { "uv" } else { "pip" };
    let base: Vec<&str> = if uv {
        vec!["pip", "install", "--python", &python]
    } else {
        vec!["-m", "pip", "install"]
    };
    let program = if uv { "uv" } else { python.as_str() };

    let (changes, planned) = if ctx.is_dry_run() {
        let mut args = base.clone();
        if uv {
            args.push("--dry-run");
        } else {
            args.extend(["--dry-run", "--quiet", "--report", "-"]);
        }
        args.extend(&what);
        let done = r.ok(
            &r.command(program, &args, Effect::Read)?,
            "asking what would change",
        )?;
        let changes = if uv {
            changes::from_uv(&format!("{}\n{}", done.stdout_text(), done.stderr_text()))
        } else {
            changes::from_report(&before, &done.stdout_text()).map_err(PluginError::new)?
        };
        (changes, true)
    } else if uv {
        let mut args = base.clone();
        args.extend(&what);
        let done = r.ok(
            &r.command(program, &args, Effect::Write)?,
            "installing the dependencies",
        )?;
        if done.planned {
            (Vec::new(), true)
        } else {
            (changes::diff(&before, &list(&r)?), false)
        }
    } else {
        // `python - ARGS`: the snippet on stdin, pip's arguments after it.
        let mut args = vec!["-"];
        args.extend(&what);
        let cmd = r.command(program, &args, Effect::Write)?.stdin(PIP_INSTALL);
        let done = r.ok(&cmd, "installing the dependencies")?;
        if done.planned {
            (Vec::new(), true)
        } else {
            let text = done.stdout_text();
            let line = text
                .lines()
                .find_map(|l| l.strip_prefix(PIP_ANSWER))
                .ok_or_else(|| {
                    PluginError::new("installing the dependencies: pip ran, but the packages after it were not read")
                })?;
            let (before, after) = changes::parse_before_after(line).map_err(PluginError::new)?;
            (changes::diff(&before, &after), false)
        }
    };
    for c in &changes {
        host.info(&describe(c, planned));
    }
    if changes.is_empty() {
        host.info("no package changes");
    }
    let count = |f: fn(&Change) -> bool| changes.iter().filter(|c| f(c)).count();
    Ok(Outputs::new()
        .set("added", count(|c| c.from.is_empty()))
        .set("removed", count(|c| c.to.is_empty()))
        .set(
            "upgraded",
            count(|c| !c.from.is_empty() && !c.to.is_empty()),
        )
        .set("changed", changes.len())
        .set(
            "changes",
            serde_json::to_value(&changes).unwrap_or_default(),
        )
        .set("installer", installer)
        .set("requirements", file)
        .set("planned", planned))
}

fn describe(c: &Change, planned: bool) -> String {
    let verb = if planned { "would " } else { "" };
    match (c.from.is_empty(), c.to.is_empty()) {
        (true, _) => format!("{verb}add {} {}", c.name, c.to),
        (_, true) => format!("{verb}remove {} {}", c.name, c.from),
        _ => format!("{verb}change {} {} → {}", c.name, c.from, c.to),
    }
}

/// The requirements file: `requirements` (relative to `dir`), else
/// `dir/requirements.txt`, else `dir/pyproject.toml`.
/// `None` when the probe itself was planned (nothing is read).
fn requirements_file(r: &Runner) -> Result<Option<String>, PluginError> {
    let a = r.a;
    let join = |f: &str| match (&a.dir, f.starts_with('/')) {
        (Some(d), false) => format!("{}/{f}", d.trim_end_matches('/')),
        _ => f.to_string(),
    };
    let candidates: Vec<String> = match (&a.requirements, &a.dir) {
        (Some(f), _) => vec![join(f)],
        (None, Some(_)) => vec![join("requirements.txt"), join("pyproject.toml")],
        (None, None) => {
            return Err(PluginError::arg(
                "requirements",
                "needs the `requirements` file or the site's `dir`",
            ));
        }
    };
    let mut args = vec![
        "-c",
        r#"for f; do if [ -f "$f" ]; then printf '%s\n' "$f"; exit 0; fi; done; exit 1"#,
        "sh",
    ];
    args.extend(candidates.iter().map(String::as_str));
    let mut probe = Command::new("sh").args(args).effect(Effect::Read);
    probe.target = r.ctx.target.clone();
    let done = r.host.exec(&probe)?;
    if done.planned {
        return Ok(None);
    }
    let found = done.stdout_text().trim().to_string();
    if done.status != 0 || found.is_empty() {
        return Err(PluginError::arg(
            if a.requirements.is_some() {
                "requirements"
            } else {
                "dir"
            },
            format!("no requirements file: none of {}", candidates.join(", ")),
        ));
    }
    Ok(Some(found))
}

#[cfg(test)]
mod tests;
