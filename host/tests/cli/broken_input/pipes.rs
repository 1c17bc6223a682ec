//! A reader that goes away (`cairn list | head -1`): cairn ends quietly, as
//! other Unix tools do, killed by SIGPIPE, with nothing on stderr.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use super::wait_bounded;
use crate::Project;
use crate::harness::Run;

/// Runs `cairn args` with its stdout a pipe whose reader is already closed.
fn into_closed_pipe(p: &Project, args: &[&str]) -> Run {
    let mut child = p
        .cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cairn");
    drop(child.stdout.take());
    Run::new(args, wait_bounded(child, args))
}

fn quiet_sigpipe(r: &Run) {
    assert_eq!(
        r.out.status.signal(),
        Some(13),
        "ended by SIGPIPE, status {:?}\n{}",
        r.out.status,
        r.stderr
    );
    assert_eq!(r.stderr, "", "nothing on stderr");
}

#[test]
fn list_into_a_closed_pipe_ends_quietly() {
    let p = Project::new();
    p.runbook(
        "a",
        "runbook a version=1 {\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    quiet_sigpipe(&into_closed_pipe(&p, &["list"]));
    quiet_sigpipe(&into_closed_pipe(&p, &["list", "--json"]));
}

#[test]
fn history_json_into_a_closed_pipe_ends_quietly() {
    let p = Project::new();
    p.runbook(
        "a",
        "runbook a version=1 {\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    super::bounded(&p, &["run", "a"]).success();
    quiet_sigpipe(&into_closed_pipe(&p, &["history", "--json"]));
    quiet_sigpipe(&into_closed_pipe(&p, &["history"]));
}
