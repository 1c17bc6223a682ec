//! `export`: a temporary tree of a revision, for reading the revision being
//! deployed (its migrations, its requirements) before it is checked out.
//!
//! The tree is made with `git archive REV | tar -x` into a fresh directory
//! from `mktemp -d` (`cairn-tree.XXXXXXXX` in `under`, else `/tmp`):
//! `git archive` only reads the repository, so neither the work tree, the
//! index, `HEAD`, the refs nor `git worktree list` change. The directory
//! holds the marker `cairn-owner` (written before anything else, naming the
//! run, the step and the commit) and the tree in `tree/`, so that nothing in
//! the archive can overwrite the marker.
//!
//! Both actions are classified as reads, and so run in a dry-run: they
//! create and remove a private directory that did not exist before the step
//! and is gone after `remove-export`, and change nothing else.
//! `remove-export` removes a directory only when its marker names this run.

use cairn_sdk::prelude::*;

use crate::{resolve, run_ok};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExportArgs {
    /// The repository (a checkout or a bare repository).
    dir: String,
    #[serde(rename = "ref")]
    reference: String,
    /// Where to make the temporary directory; `/tmp` (or the command's
    /// `$TMPDIR`) by default.
    under: Option<String>,
    timeout: Option<Duration>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RemoveArgs {
    /// The `dir` output of `export`.
    dir: String,
    timeout: Option<Duration>,
}

/// The marker's first line for a run: what `remove-export` checks.
pub fn marker_prefix(run_id: &str) -> String {
    format!("cairn git export run={run_id} ")
}

const EXPORT: &str = r#"set -u
repo=$1; commit=$2; under=$3; marker=$4
if [ -z "$under" ]; then under=${TMPDIR:-/tmp}; fi
root=$(mktemp -d "$under/cairn-tree.XXXXXXXX") || exit 3
printf '%s\n' "$marker" > "$root/cairn-owner" || { rmdir -- "$root"; exit 3; }
fail() { rm -rf -- "$root/tree" "$root/archive.tar"; rm -f -- "$root/cairn-owner"; rmdir -- "$root"; exit 4; }
mkdir "$root/tree" || fail
git -C "$repo" archive --format=tar -o "$root/archive.tar" "$commit" || fail
tar -xf "$root/archive.tar" -C "$root/tree" || fail
rm -f -- "$root/archive.tar"
printf '%s\n' "$root/tree""#;

pub fn export(host: &dyn Host, ctx: &Context, a: ExportArgs) -> Result<Outputs, PluginError> {
    if a.dir.trim().is_empty() {
        return Err(PluginError::arg("dir", "needs the repository's directory"));
    }
    let commit = resolve(host, ctx, &a.dir, &a.reference, a.timeout)?;
    let marker = format!(
        "{}step={} commit={commit}",
        marker_prefix(&ctx.run_id),
        ctx.step_id
    );
    // The script goes on stdin (`sh -s`): a dry-run prints the command.
    let mut cmd = Command::new("sh")
        .args([
            "-s",
            &a.dir,
            &commit,
            a.under.as_deref().unwrap_or(""),
            &marker,
        ])
        .effect(Effect::Read)
        .stdin(EXPORT);
    cmd.timeout = a.timeout.map(Into::into);
    cmd.target = ctx.target.clone();
    let tree = run_ok(
        host,
        &cmd,
        &format!("exporting {commit} of `{}` to a temporary tree", a.dir),
    )?;
    if !tree.ends_with("/tree") {
        return Err(PluginError::new(format!(
            "exporting {commit}: unexpected answer `{tree}`"
        )));
    }
    host.info(&format!("{} ({commit}) is in `{tree}`", a.reference));
    if ctx.is_dry_run() && a.reference != "HEAD" && !commit.starts_with(a.reference.as_str()) {
        // `fetch` is planned in a dry-run: a branch is what was last fetched.
        host.info(&format!(
            "`{}` resolved in the local repository, as of its last fetch",
            a.reference
        ));
    }
    Ok(Outputs::new()
        .set("dir", tree)
        .set("commit", commit)
        .set("planned", false))
}

/// Why the tree at `dir` (canonical) must not be removed, if it must not.
pub fn refusal(dir: &str, marker: &str, run_id: &str) -> Option<String> {
    let Some(root) = dir.strip_suffix("/tree") else {
        return Some("is not a tree made by `export` (it does not end in `/tree`)".into());
    };
    let name = root.rsplit('/').next().unwrap_or("");
    if !name.starts_with("cairn-tree.") || root.matches('/').count() < 2 {
        return Some(format!("is not in a directory made by `export` (`{root}`)"));
    }
    if marker.is_empty() {
        return Some("has no `cairn-owner` marker beside it: `export` did not make it".into());
    }
    if !marker.starts_with(&marker_prefix(run_id)) {
        return Some(format!(
            "was made by another run (its marker says `{marker}`)"
        ));
    }
    None
}

const PROBE: &str = r#"d=$(readlink -e -- "$1") || { echo gone; exit 0; }
printf 'dir=%s\n' "$d"
r=${d%/tree}
if [ -f "$r/cairn-owner" ] && [ ! -L "$r/cairn-owner" ]; then printf 'marker=%s\n' "$(head -n 1 -- "$r/cairn-owner")"; fi"#;

pub fn remove(host: &dyn Host, ctx: &Context, a: RemoveArgs) -> Result<Outputs, PluginError> {
    if a.dir.trim().is_empty() {
        return Err(PluginError::arg(
            "dir",
            "needs the `dir` output of `export`",
        ));
    }
    let mut probe = Command::new("sh")
        .args(["-s", &a.dir])
        .effect(Effect::Read)
        .stdin(PROBE);
    probe.target = ctx.target.clone();
    probe.timeout = a.timeout.map(Into::into);
    let seen = run_ok(host, &probe, &format!("looking at `{}`", a.dir))?;
    if seen == "gone" {
        host.info(&format!("`{}` does not exist: nothing to remove", a.dir));
        return Ok(Outputs::new().set("removed", "").set("planned", false));
    }
    let mut dir = String::new();
    let mut marker = String::new();
    for line in seen.lines() {
        match line.split_once('=') {
            Some(("dir", v)) => dir = v.to_string(),
            Some(("marker", v)) => marker = v.to_string(),
            _ => {}
        }
    }
    if let Some(why) = refusal(&dir, &marker, &ctx.run_id) {
        return Err(PluginError::new(format!(
            "remove-export refused: `{}` {why}; nothing was removed",
            a.dir
        )));
    }
    let root = dir.trim_end_matches("/tree").to_string();
    let mut rm = Command::new("sh")
        .args([
            "-c",
            r#"rm -rf -- "$1/tree" && rm -f -- "$1/cairn-owner" && rmdir -- "$1""#,
            "sh",
            &root,
        ])
        .effect(Effect::Read);
    rm.target = ctx.target.clone();
    rm.timeout = a.timeout.map(Into::into);
    run_ok(host, &rm, &format!("removing `{root}`"))?;
    Ok(Outputs::new().set("removed", root).set("planned", false))
}
