//! The stock `exec` plugin: runs one command on the step's target.
//!
//! ```kdl
//! step revision uses=exec target=app {
//!     run git "-C" "/srv/hello" rev-parse HEAD
//!     effect read
//! }
//! ```
//!
//! Outputs: `stdout` (without its trailing newlines), `stderr`, `status`,
//! `planned` (true when a dry-run did not run the command).

use std::collections::BTreeMap;

use cairn_sdk::args::one_or_many;
use cairn_sdk::prelude::*;

/// How many lines of output a failure message quotes.
const TAIL_LINES: usize = 10;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RunArgs {
    /// The program and its arguments.
    #[serde(deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<String>")]
    run: Vec<String>,
    /// `read` for probes (run in a dry-run too); `write` by default.
    #[serde(default)]
    effect: Effect,
    cwd: Option<String>,
    /// `env NAME=VALUE...`; the node may be repeated.
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<BTreeMap<String, String>>")]
    env: Vec<BTreeMap<String, String>>,
    /// `secret-env NAME=SECRET...`: the variable gets the secret by handle,
    /// and its value never passes through the plugin.
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<BTreeMap<String, String>>")]
    secret_env: Vec<BTreeMap<String, String>>,
    stdin: Option<String>,
    timeout: Option<Duration>,
    /// Exit statuses that count as success; 0 by default.
    #[serde(default = "success", deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<i32>")]
    expect_status: Vec<i32>,
    /// Another target than the step's.
    target: Option<String>,
}

fn success() -> Vec<i32> {
    vec![0]
}

pub struct Exec;

impl Plugin for Exec {
    fn describe() -> Description {
        Description::new(
            "exec",
            env!("CARGO_PKG_VERSION"),
            "Run a command on a target",
        )
        .action(
            "run",
            "Run a program with arguments; `effect read` for probes",
            Effect::Write,
        )
        .default_action("run")
        .capability("exec", ["*"])
        .capability("secrets", ["*"])
        .action_args::<RunArgs>("run")
    }

    fn run(
        host: &dyn Host,
        _ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "run" => run(host, args.decode()?),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(Exec);

fn run(host: &dyn Host, a: RunArgs) -> Result<Outputs, PluginError> {
    let (program, rest) = match a.run.split_first() {
        Some((p, rest)) if !p.is_empty() => (p, rest),
        _ => return Err(PluginError::arg("run", "needs a program to run")),
    };
    let mut cmd = Command::new(program).args(rest).effect(a.effect);
    for (name, value) in a.env.iter().flatten() {
        cmd = cmd.env(name, value);
    }
    // An empty secret name sets nothing: a runbook passes an optional
    // `password-secret` param (default "") straight through.
    for (name, secret) in a.secret_env.iter().flatten().filter(|(_, s)| !s.is_empty()) {
        let handle = host
            .secret(secret)
            .map_err(|e| PluginError::arg(format!("secret-env.{name}"), e))?;
        cmd = cmd.env(name, handle);
    }
    cmd.cwd = a.cwd;
    cmd.stdin = a.stdin.map(String::into_bytes);
    cmd.timeout = a.timeout.map(Into::into);
    cmd.target = a.target;

    let done = host.exec(&cmd)?;
    if done.planned {
        return Ok(Outputs::new()
            .set("stdout", "")
            .set("stderr", "")
            .set("status", 0)
            .set("planned", true));
    }
    if !a.expect_status.contains(&done.status) {
        return Err(PluginError::new(failure(&a.run, &a.expect_status, &done)));
    }
    Ok(Outputs::new()
        .set("stdout", done.stdout_text().trim_end_matches(['\n', '\r']))
        .set("stderr", done.stderr_text())
        .set("status", done.status)
        .set("planned", false))
}

/// ``command `git pull` exited with status 1 (expected 0)``, then the last
/// lines of stderr (or of stdout when stderr is empty).
fn failure(argv: &[String], expected: &[i32], done: &Completed) -> String {
    let expected: Vec<String> = expected.iter().map(i32::to_string).collect();
    let mut message = format!(
        "command `{}` exited with status {} (expected {})",
        shorten(&argv.join(" "), 120),
        done.status,
        expected.join(" or ")
    );
    let (label, text) = if done.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        ("stderr", done.stderr_text())
    } else {
        ("stdout", done.stdout_text())
    };
    let lines: Vec<&str> = text.trim_end().lines().collect();
    if !lines.is_empty() {
        let tail = &lines[lines.len().saturating_sub(TAIL_LINES)..];
        message.push_str(&format!("\n{label}:"));
        for line in tail {
            message.push_str("\n  ");
            message.push_str(line);
        }
    }
    message
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests;
