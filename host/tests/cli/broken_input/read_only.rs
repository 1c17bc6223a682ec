//! A `.cairn/` that cannot be written (a read-only mount: root writes
//! through file modes, so a `chmod` would prove nothing): a run is refused
//! with a message naming the path, nothing runs, nothing is written
//! elsewhere; what only reads still works.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::bounded;
use crate::Project;

const MARK: &str = r#"runbook mark version=1 {
    step a uses=exec { run sh "-c" "echo a > ran"; cwd "{{ project.root }}"; }
}
"#;

/// `dir` bind-mounted onto itself read-only; unmounted when dropped, also
/// when the test fails.
struct ReadOnly(PathBuf);

impl ReadOnly {
    /// `None` where this process may not mount (not root, no
    /// `CAP_SYS_ADMIN`, a container without it).
    fn mount(dir: &Path) -> Option<Self> {
        let bind = Command::new("mount")
            .args(["--bind"])
            .arg(dir)
            .arg(dir)
            .output()
            .ok()?;
        if !bind.status.success() {
            eprintln!(
                "skipped: cannot bind-mount `{}` here: {}",
                dir.display(),
                String::from_utf8_lossy(&bind.stderr).trim()
            );
            return None;
        }
        // From here on, Drop unmounts.
        let guard = ReadOnly(dir.to_path_buf());
        let ro = Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(dir)
            .status()
            .expect("mount -o remount");
        assert!(ro.success(), "remount `{}` read-only", dir.display());
        Some(guard)
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let st = Command::new("umount").arg(&self.0).status();
        if !matches!(st, Ok(s) if s.success()) {
            eprintln!("could not unmount `{}`: {st:?}", self.0.display());
        }
    }
}

/// Every path under `dir` with its content, `.cairn` left out.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == ".cairn") {
            continue;
        }
        if p.is_dir() {
            out.push((p.clone(), Vec::new()));
            out.extend(snapshot(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
        }
    }
    out.sort();
    out
}

#[test]
fn a_state_dir_that_is_read_only_refuses_the_run_naming_it() {
    let p = Project::new();
    p.runbook("mark", MARK);
    // One run while it is writable: history has something to read.
    bounded(&p, &["run", "mark"]).success();
    std::fs::remove_file(p.join("ran")).expect("rm ran");
    let Some(_ro) = ReadOnly::mount(&p.join(".cairn")) else {
        return;
    };
    assert!(
        std::fs::write(p.join(".cairn/probe"), "x").is_err(),
        "the mount is read-only"
    );
    let before = snapshot(p.path());
    let r = bounded(&p, &["run", "mark"]);
    assert_ne!(r.out.status.code(), Some(0), "{}", r.stderr);
    r.stderr_has(".cairn").stderr_has("Read-only file system");
    assert!(!p.join("ran").exists(), "the step did not run");
    assert_eq!(snapshot(p.path()), before, "nothing written elsewhere");
    // Reading the past still works.
    bounded(&p, &["history"]).success().stdout_has("mark@1");
}
