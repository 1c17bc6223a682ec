//! Scratch directories of a rehearsal: `files` (as a scratch) writes the
//! marker `DIR.cairn-scratch` naming its run before it unpacks anything;
//! `remove-scratch-dir` removes a directory only when that marker names this
//! run, and never `/`, `$HOME` (or a directory holding it), the live media
//! directory (`live-dir`), a directory holding it, or one inside it.

use cairn_sdk::prelude::*;

use crate::common::*;
use crate::label::{dir_marker, dir_marker_text};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RemoveArgs {
    /// The scratch directory.
    dir: String,
    /// The live directory the rehearsal restored a copy of: never removed,
    /// nor anything that holds it or is inside it.
    live_dir: Option<String>,
}

/// Before a scratch restore unpacks into `dir`: it must not exist (a
/// rehearsal removes only what it made), unless this run's marker is
/// beside it (a resumed run). Then the marker is written.
pub fn prepare(host: &dyn Host, ctx: &Context, dir: &str) -> Result<(), PluginError> {
    let marker = dir_marker(dir);
    let mut probe = Command::new("sh")
        .args([
            "-c",
            r#"if [ -e "$1" ] || [ -L "$1" ]; then echo exists; fi; cat -- "$2" 2>/dev/null; true"#,
            "sh",
            dir.trim_end_matches('/'),
            &marker,
        ])
        .effect(Effect::Read);
    probe.target = ctx.target.clone();
    let seen = run_ok(host, &probe, &format!("looking at {dir}"))?
        .stdout_text()
        .to_string();
    let mut lines = seen.lines();
    let first = lines.next().unwrap_or("");
    let ours = seen.lines().any(|l| l == dir_marker_text(&ctx.run_id));
    if first == "exists" && !ours {
        return Err(PluginError::new(format!(
            "scratch directory `{dir}` already exists and this run did not make it: a rehearsal restores into a directory it creates (and removes only that); remove it or choose another directory; nothing was restored"
        )));
    }
    let mut write = Command::new("sh").args([
        "-c",
        r#"set -e; mkdir -p -- "$(dirname -- "$1")"; printf '%s\n' "$2" > "$1""#,
        "sh",
        &marker,
        &dir_marker_text(&ctx.run_id),
    ]);
    write.target = ctx.target.clone();
    run_ok(host, &write, &format!("writing {marker}"))?;
    Ok(())
}

/// The facts a removal is decided on, read on the target.
#[derive(Debug, Default, PartialEq)]
pub struct Seen {
    /// Canonical paths (symlinks followed; `readlink -m`).
    pub dir: String,
    pub live: String,
    pub home: String,
    pub exists: bool,
    /// The marker's first line, empty when there is none.
    pub marker: String,
}

/// Why `dir` must not be removed, if it must not.
pub fn refusal(seen: &Seen, run_id: &str) -> Option<String> {
    let within = |inner: &str, outer: &str| {
        outer == "/" || inner == outer || inner.starts_with(&format!("{outer}/"))
    };
    if seen.dir == "/" || seen.dir.is_empty() {
        return Some("is `/`".into());
    }
    if !seen.home.is_empty() && within(&seen.home, &seen.dir) {
        return Some(if seen.home == seen.dir {
            "is $HOME".into()
        } else {
            format!("holds $HOME (`{}`)", seen.home)
        });
    }
    if !seen.live.is_empty() {
        if seen.live == seen.dir {
            return Some("is the live directory `live-dir`".into());
        }
        if within(&seen.live, &seen.dir) {
            return Some(format!("is a parent of the live directory `{}`", seen.live));
        }
        if within(&seen.dir, &seen.live) {
            return Some(format!("is inside the live directory `{}`", seen.live));
        }
    }
    if seen.exists && seen.marker != dir_marker_text(run_id) {
        return Some(if seen.marker.is_empty() {
            "has no scratch marker: this run did not create it".into()
        } else {
            format!(
                "was not created by this run (its marker says `{}`)",
                seen.marker
            )
        });
    }
    None
}

pub fn remove(host: &dyn Host, ctx: &Context, a: RemoveArgs) -> Result<Outputs, PluginError> {
    if a.dir.trim().is_empty() {
        return Err(PluginError::arg("dir", "needs the scratch directory"));
    }
    let marker = dir_marker(&a.dir);
    let mut probe = Command::new("sh")
        .args([
            "-c",
            r#"c() { readlink -m -- "$1" 2>/dev/null || printf '%s\n' "$1"; }
printf 'dir=%s\n' "$(c "$1")"
if [ -n "$2" ]; then printf 'live=%s\n' "$(c "$2")"; fi
if [ -n "${HOME:-}" ]; then printf 'home=%s\n' "$(c "$HOME")"; fi
if [ -e "$1" ] || [ -L "$1" ]; then echo exists=1; fi
if [ -f "$3" ]; then printf 'marker=%s\n' "$(head -n 1 -- "$3")"; fi"#,
            "sh",
            &a.dir,
            a.live_dir.as_deref().unwrap_or(""),
            &marker,
        ])
        .effect(Effect::Read);
    probe.target = ctx.target.clone();
    let text = run_ok(host, &probe, &format!("looking at {}", a.dir))?
        .stdout_text()
        .to_string();
    let mut seen = Seen::default();
    for line in text.lines() {
        match line.split_once('=') {
            Some(("dir", v)) => seen.dir = v.into(),
            Some(("live", v)) => seen.live = v.into(),
            Some(("home", v)) => seen.home = v.into(),
            Some(("exists", _)) => seen.exists = true,
            Some(("marker", v)) => seen.marker = v.into(),
            _ => {}
        }
    }
    if let Some(why) = refusal(&seen, &ctx.run_id) {
        return Err(PluginError::new(format!(
            "remove-scratch-dir refused: `{}` {why}; nothing was removed",
            a.dir
        )));
    }
    if !seen.exists {
        host.info(&format!("`{}` does not exist: nothing to remove", a.dir));
        if seen.marker == dir_marker_text(&ctx.run_id) {
            let mut rm = Command::new("sh").args(["-c", r#"rm -f -- "$1""#, "sh", &marker]);
            rm.target = ctx.target.clone();
            run_ok(host, &rm, &format!("removing {marker}"))?;
        }
        return Ok(Outputs::new().set("removed", "").set("planned", false));
    }
    let mut rm = Command::new("sh").args([
        "-c",
        r#"rm -rf -- "$1" && rm -f -- "$2""#,
        "sh",
        &seen.dir,
        &marker,
    ]);
    rm.target = ctx.target.clone();
    let done = run_ok(host, &rm, &format!("removing {}", a.dir))?;
    Ok(Outputs::new()
        .set("removed", seen.dir)
        .set("planned", done.planned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(dir: &str) -> Seen {
        Seen {
            dir: dir.into(),
            live: "/srv/site/media".into(),
            home: "/home/site".into(),
            exists: true,
            marker: dir_marker_text("r1"),
        }
    }

    #[test]
    fn only_a_marked_scratch_away_from_live_data_is_removed() {
        assert_eq!(refusal(&seen("/tmp/rehearsal/media"), "r1"), None);
        let why = |dir: &str| refusal(&seen(dir), "r1").unwrap_or_default();
        assert_eq!(why("/"), "is `/`");
        assert_eq!(why("/home/site"), "is $HOME");
        assert!(why("/home").starts_with("holds $HOME"));
        assert_eq!(why("/srv/site/media"), "is the live directory `live-dir`");
        assert!(why("/srv/site").starts_with("is a parent of the live directory"));
        assert!(why("/srv").starts_with("is a parent of the live directory"));
        assert!(why("/srv/site/media/x").starts_with("is inside the live directory"));
        // Marked by another run, or not at all.
        assert!(
            refusal(&seen("/tmp/m"), "r2")
                .unwrap()
                .contains("not created by this run")
        );
        let unmarked = Seen {
            marker: String::new(),
            ..seen("/tmp/m")
        };
        assert!(
            refusal(&unmarked, "r1")
                .unwrap()
                .contains("no scratch marker")
        );
        // A directory that is gone has nothing to remove.
        let gone = Seen {
            exists: false,
            marker: String::new(),
            ..seen("/tmp/m")
        };
        assert_eq!(refusal(&gone, "r1"), None);
    }
}
