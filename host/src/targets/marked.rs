//! The processes of a command on an `ssh` or `docker` target, found again
//! by their mark. Every such command runs with `CAIRN_EXEC_ID=MARK` in its
//! environment (a value of its own, [`new_marker`]), which the processes
//! it starts inherit. Killing cairn ends the local `ssh` client, not the
//! remote command; the container engine keeps running an exec whatever
//! happens to its client. So `cairn resume` asks the target itself, with a
//! small `sh` script that reads `/proc/*/environ` there, which processes
//! still carry the mark, and ends them with `--kill-leftovers`; an `ssh`
//! command past its deadline is ended there the same way.
//!
//! That needs `sh` and a Linux `/proc` on the target, and the right to read
//! the environment of those processes (the same user, as they are);
//! without them the search fails and says so.

use std::time::{Duration, Instant};

use cairn_lang::TargetKind;

use super::docker::run::{self as container, MARK_SCRIPT, RunError};
pub use super::docker::run::{MARKER, new_marker};
use super::{Invocation, Launch, launch, process};

/// How long a search may take on the target.
const SEARCH: Duration = Duration::from_secs(30);

/// The pids, on `target`, of the processes marked `mark`: those still
/// running (`kill` false) or those it ended (`kill` true). An error when
/// the target cannot be searched.
pub fn find(target: &TargetKind, mark: &str, kill: bool) -> Result<Vec<u32>, String> {
    if !mark.chars().all(|c| c.is_ascii_alphanumeric()) || mark.is_empty() {
        return Err(format!("`{mark}` is not a mark cairn gives"));
    }
    let inv = Invocation {
        program: "sh".into(),
        args: vec![
            "-c".into(),
            MARK_SCRIPT.into(),
            "sh".into(),
            mark.into(),
            if kill { "kill" } else { "list" }.into(),
        ],
        ..Default::default()
    };
    let deadline = Instant::now() + SEARCH;
    let (status, stdout, stderr) = match launch(target, &inv, deadline)? {
        Launch::Process(c) => {
            let f = process::run_process(c, None, deadline, 1 << 20, &|_| {})
                .map_err(|e| e.to_string())?;
            if f.timed_out {
                return Err("the search did not end in time".into());
            }
            (f.status, f.stdout, f.stderr)
        }
        Launch::Container(c) => match container::run(&c, &new_marker(), None, deadline, 1 << 20) {
            Ok(done) => (done.status, done.stdout, done.stderr),
            Err(RunError::Engine(why)) => return Err(why),
            Err(RunError::Deadline(_)) => {
                return Err("the search did not end in time".into());
            }
        },
    };
    if status != 0 {
        return Err(format!(
            "the search exited with status {status}: {}",
            String::from_utf8_lossy(&stderr).trim()
        ));
    }
    let mut pids: Vec<u32> = String::from_utf8_lossy(&stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// Where a target is, for messages: `cairn-lab@127.0.0.1`, container `web`.
pub fn describe(target: &TargetKind) -> String {
    match target {
        TargetKind::Local => "this machine".into(),
        TargetKind::Ssh { destination, .. } => format!("`{destination}`"),
        TargetKind::Docker { container, .. } => format!("container `{container}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_looks_for_the_marker_and_a_mark_is_plain() {
        assert!(MARK_SCRIPT.contains(&format!("{MARKER}=$1")));
        assert!(find(&TargetKind::Local, "a b", false).is_err());
        assert!(find(&TargetKind::Local, "", false).is_err());
    }

    /// On this machine: a process marked is found, then killed; nothing
    /// else is.
    #[test]
    fn a_marked_process_is_found_and_killed() {
        let mark = new_marker();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env(MARKER, &mark)
            .spawn()
            .unwrap();
        let pid = child.id();
        let found = find(&TargetKind::Local, &mark, false).unwrap();
        assert_eq!(found, vec![pid]);
        assert!(
            find(&TargetKind::Local, &new_marker(), false)
                .unwrap()
                .is_empty()
        );
        let killed = find(&TargetKind::Local, &mark, true).unwrap();
        assert_eq!(killed, vec![pid]);
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9));
        assert!(find(&TargetKind::Local, &mark, false).unwrap().is_empty());
    }
}
