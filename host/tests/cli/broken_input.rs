//! Hostile and broken input (issue: never crash): deeply nested blocks and
//! expressions, very long lines, files that are not regular files or are
//! too large, closed pipes, link loops, a name declared twice. Each ends in
//! a clear diagnostic and a non-zero exit, never a panic, an abort or a
//! hang: every run here is bounded in time.

use std::io::Read;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use crate::Project;
use crate::harness::Run;

mod damaged;
mod depth;
mod files;
mod media;
mod names;
mod params;
mod pipes;
mod read_only;
mod user_files;

/// How long one `cairn` here may take before it counts as a hang.
const BOUND: Duration = Duration::from_secs(60);

/// Runs `cairn args` in `p`, killed (by its pid) and failed after [`BOUND`].
pub(crate) fn bounded(p: &Project, args: &[&str]) -> Run {
    let child = p
        .cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cairn");
    let out = wait_bounded(child, args);
    let run = Run::new(args, out);
    no_crash(&run);
    run
}

/// Waits for `child`, reading its output; kills exactly it after [`BOUND`].
pub(crate) fn wait_bounded(mut child: Child, args: &[&str]) -> Output {
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .map(|r| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    })
    .collect();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait cairn") {
            break status;
        }
        if start.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`cairn {}` hung: killed after {BOUND:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut bufs = readers.into_iter().map(|h| h.join().expect("reader"));
    Output {
        status,
        stdout: bufs.next().unwrap_or_default(),
        stderr: bufs.next().unwrap_or_default(),
    }
}

/// No panic, no abort (a stack overflow ends in SIGABRT or SIGSEGV).
pub(crate) fn no_crash(r: &Run) {
    use std::os::unix::process::ExitStatusExt;
    assert!(
        r.out.status.signal().is_none(),
        "cairn died of signal {:?}\n{}",
        r.out.status.signal(),
        r.stderr
    );
    for sign in ["panicked", "overflowed its stack", "RUST_BACKTRACE"] {
        assert!(!r.stderr.contains(sign), "cairn crashed:\n{}", r.stderr);
    }
}
