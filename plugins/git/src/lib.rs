//! The stock `git` plugin: the revision of a checkout, `fetch`, `checkout`
//! (each returning the previous and the new commit, so that an `undo` can
//! go back), and `export`: a temporary tree of a revision, made without
//! touching the checkout, for a dry-run that reads the revision being
//! deployed (see `export.rs`).
//!
//! ```kdl
//! step checkout uses=git action=checkout {
//!     dir "/srv/site"
//!     ref "origin/main"
//!     undo {
//!         step back uses=git action=checkout {
//!             dir "/srv/site"
//!             ref "{{ steps.checkout.outputs.previous }}"
//!             allow-dirty #true
//!         }
//!     }
//! }
//! ```

use cairn_sdk::prelude::*;

mod export;

/// How many changed files a refusal lists.
const LISTED: usize = 10;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RevisionArgs {
    /// The checkout (a work tree).
    dir: String,
    timeout: Option<Duration>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FetchArgs {
    dir: String,
    #[serde(default = "origin")]
    remote: String,
    /// A branch or tag of the remote; its remote-tracking commit before and
    /// after is returned.
    #[serde(rename = "ref")]
    reference: Option<String>,
    timeout: Option<Duration>,
}

fn origin() -> String {
    "origin".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CheckoutArgs {
    dir: String,
    /// A commit, tag or branch (`origin/main`); the checkout is detached at
    /// the commit it names.
    #[serde(rename = "ref")]
    reference: String,
    /// Check out over local changes to tracked files (git still refuses to
    /// overwrite one the new revision changes).
    #[serde(default)]
    allow_dirty: bool,
    timeout: Option<Duration>,
}

pub struct Git;

impl Plugin for Git {
    fn describe() -> Description {
        Description::new(
            "git",
            env!("CARGO_PKG_VERSION"),
            "Revision, fetch and checkout of a git work tree, and temporary trees of a revision",
        )
        .action(
            "revision",
            "The commit checked out, its branch and whether tracked files changed",
            Effect::Read,
        )
        .action(
            "fetch",
            "Fetch a remote; the remote-tracking commit of `ref` before and after",
            Effect::Write,
        )
        .action(
            "checkout",
            "Check out a revision (detached); refuses local changes unless `allow-dirty`; returns `previous` and `current`",
            Effect::Write,
        )
        .action(
            "export",
            "A temporary tree of a revision (`git archive`), the checkout untouched; a read",
            Effect::Read,
        )
        .action(
            "remove-export",
            "Remove a tree that `export` made in this run (and nothing else); a read",
            Effect::Read,
        )
        .default_action("revision")
        .action_args::<RevisionArgs>("revision")
        .action_args::<FetchArgs>("fetch")
        .action_args::<CheckoutArgs>("checkout")
        .action_args::<export::ExportArgs>("export")
        .action_args::<export::RemoveArgs>("remove-export")
        .capability("exec", ["git", "sh"])
    }

    fn run(
        host: &dyn Host,
        ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "revision" => revision(host, ctx, args.decode()?),
            "fetch" => fetch(host, ctx, args.decode()?),
            "checkout" => checkout(host, ctx, args.decode()?),
            "export" => export::export(host, ctx, args.decode()?),
            "remove-export" => export::remove(host, ctx, args.decode()?),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(Git);

/// `git -C DIR ARGS...` on the step's target.
pub(crate) fn git(
    ctx: &Context,
    dir: &str,
    args: &[&str],
    effect: Effect,
    timeout: Option<Duration>,
) -> Command {
    let mut cmd = Command::new("git")
        .args(["-C", dir])
        .args(args.iter().copied())
        .effect(effect);
    cmd.timeout = timeout.map(Into::into);
    cmd.target = ctx.target.clone();
    cmd
}

/// The last lines of a failed command's stderr (stdout when it is empty).
pub(crate) fn tail(done: &Completed) -> String {
    let text = if done.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        done.stderr_text()
    } else {
        done.stdout_text()
    };
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n  ")
}

/// Runs a command; fails with its status and output unless it exits 0.
pub(crate) fn run_ok(host: &dyn Host, cmd: &Command, what: &str) -> Result<String, PluginError> {
    let done = host.exec(cmd)?;
    if !done.planned && done.status != 0 {
        return Err(PluginError::new(format!(
            "{what}: `{} {}` exited with status {}\n  {}",
            cmd.program,
            cmd.args.join(" "),
            done.status,
            tail(&done)
        )));
    }
    Ok(done.stdout_text().trim_end().to_string())
}

fn need_dir(dir: &str) -> Result<(), PluginError> {
    if dir.trim().is_empty() {
        return Err(PluginError::arg("dir", "needs the checkout's directory"));
    }
    Ok(())
}

/// The commit `reference` names in `dir`, or a clear error.
pub(crate) fn resolve(
    host: &dyn Host,
    ctx: &Context,
    dir: &str,
    reference: &str,
    timeout: Option<Duration>,
) -> Result<String, PluginError> {
    if reference.trim().is_empty() || reference.starts_with('-') {
        return Err(PluginError::arg(
            "ref",
            format!("`{reference}` is not a revision"),
        ));
    }
    let spec = format!("{reference}^{{commit}}");
    let cmd = git(
        ctx,
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ],
        Effect::Read,
        timeout,
    );
    let done = host.exec(&cmd)?;
    if done.planned {
        // A dry-run step that runs offline (it depends on a planned step):
        // nothing is read, the reference stands for itself.
        return Ok(reference.to_string());
    }
    let commit = done.stdout_text().trim().to_string();
    if done.status != 0 || commit.is_empty() {
        return Err(PluginError::arg(
            "ref",
            format!("`{reference}` names no commit in `{dir}` (fetch it first?)"),
        ));
    }
    Ok(commit)
}

/// The checked-out commit, its branch ("" when detached), and the changes
/// to tracked files (`git status --porcelain`, untracked files left out).
fn state(
    host: &dyn Host,
    ctx: &Context,
    dir: &str,
    timeout: Option<Duration>,
) -> Result<(String, String, Vec<String>), PluginError> {
    let head = run_ok(
        host,
        &git(
            ctx,
            dir,
            &["rev-parse", "--verify", "HEAD"],
            Effect::Read,
            timeout,
        ),
        &format!("reading the revision of `{dir}`"),
    )?;
    let branch_cmd = git(
        ctx,
        dir,
        &["symbolic-ref", "--quiet", "--short", "HEAD"],
        Effect::Read,
        timeout,
    );
    let branch = host.exec(&branch_cmd)?;
    let branch = if branch.status == 0 {
        branch.stdout_text().trim().to_string()
    } else {
        String::new()
    };
    let status = run_ok(
        host,
        &git(
            ctx,
            dir,
            &["status", "--porcelain", "--untracked-files=no"],
            Effect::Read,
            timeout,
        ),
        &format!("reading the status of `{dir}`"),
    )?;
    let changes = status.lines().map(str::to_string).collect();
    Ok((head, branch, changes))
}

fn revision(host: &dyn Host, ctx: &Context, a: RevisionArgs) -> Result<Outputs, PluginError> {
    need_dir(&a.dir)?;
    let (commit, branch, changes) = state(host, ctx, &a.dir, a.timeout)?;
    Ok(Outputs::new()
        .set("short", commit.get(..12).unwrap_or(&commit))
        .set("commit", commit)
        .set("branch", branch)
        .set("dirty", !changes.is_empty())
        .set("changes", changes))
}

fn fetch(host: &dyn Host, ctx: &Context, a: FetchArgs) -> Result<Outputs, PluginError> {
    need_dir(&a.dir)?;
    if a.remote.is_empty() || a.remote.starts_with('-') {
        return Err(PluginError::arg(
            "remote",
            format!("`{}` is not a remote", a.remote),
        ));
    }
    let tracking = a
        .reference
        .as_deref()
        .map(|r| format!("refs/remotes/{}/{}", a.remote, r));
    let peek = |host: &dyn Host| -> Result<String, PluginError> {
        let Some(t) = &tracking else {
            return Ok(String::new());
        };
        let spec = format!("{t}^{{commit}}");
        let done = host.exec(&git(
            ctx,
            &a.dir,
            &["rev-parse", "--verify", "--quiet", &spec],
            Effect::Read,
            a.timeout,
        ))?;
        Ok(if done.status == 0 {
            done.stdout_text().trim().to_string()
        } else {
            String::new()
        })
    };
    let previous = peek(host)?;
    let mut args = vec!["fetch", "--quiet", "--", a.remote.as_str()];
    if let Some(r) = &a.reference {
        args.push(r);
    }
    let mut cmd = git(ctx, &a.dir, &args, Effect::Write, a.timeout);
    // A fetch that asks for a password would wait for it until the timeout.
    cmd = cmd.env("GIT_TERMINAL_PROMPT", "0");
    let done = host.exec(&cmd)?;
    if !done.planned && done.status != 0 {
        return Err(PluginError::new(format!(
            "fetching `{}` in `{}` failed (status {})\n  {}",
            a.remote,
            a.dir,
            done.status,
            tail(&done)
        )));
    }
    let current = if done.planned {
        previous.clone()
    } else {
        peek(host)?
    };
    Ok(Outputs::new()
        .set("changed", previous != current)
        .set("previous", previous)
        .set("current", current)
        .set("planned", done.planned))
}

fn checkout(host: &dyn Host, ctx: &Context, a: CheckoutArgs) -> Result<Outputs, PluginError> {
    need_dir(&a.dir)?;
    let (previous, previous_branch, changes) = state(host, ctx, &a.dir, a.timeout)?;
    let target = resolve(host, ctx, &a.dir, &a.reference, a.timeout)?;
    if !changes.is_empty() && !a.allow_dirty {
        let mut listed: Vec<&str> = changes.iter().take(LISTED).map(String::as_str).collect();
        if changes.len() > LISTED {
            listed.push("…");
        }
        return Err(PluginError::new(format!(
            "`{}` has local changes to {} tracked file(s); commit or discard them, or pass `allow-dirty #true`; nothing was checked out\n  {}",
            a.dir,
            changes.len(),
            listed.join("\n  ")
        )));
    }
    let outputs = |planned: bool| {
        Outputs::new()
            .set("previous", previous.clone())
            .set("previous-branch", previous_branch.clone())
            .set("current", target.clone())
            .set("changed", previous != target)
            .set("planned", planned)
    };
    if previous == target && previous_branch.is_empty() {
        host.info(&format!("`{}` is already at {target}", a.dir));
        return Ok(outputs(false));
    }
    let cmd = git(
        ctx,
        &a.dir,
        &["checkout", "--quiet", "--detach", &target, "--"],
        Effect::Write,
        a.timeout,
    );
    let done = host.exec(&cmd)?;
    if done.planned {
        return Ok(outputs(true));
    }
    if done.status != 0 {
        return Err(PluginError::new(format!(
            "checking out `{}` ({target}) in `{}` failed (status {}); the checkout is still at {previous}\n  {}",
            a.reference,
            a.dir,
            done.status,
            tail(&done)
        )));
    }
    let now = run_ok(
        host,
        &git(
            ctx,
            &a.dir,
            &["rev-parse", "--verify", "HEAD"],
            Effect::Read,
            a.timeout,
        ),
        "reading the revision after the checkout",
    )?;
    if now != target {
        return Err(PluginError::new(format!(
            "after checking out {target}, `{}` is at {now}",
            a.dir
        )));
    }
    Ok(outputs(false))
}

#[cfg(test)]
mod tests;
