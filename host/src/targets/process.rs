//! Processes of this machine run to completion or a deadline, their output
//! captured up to a cap: local commands, `ssh` clients, the ssh masters' control
//! commands.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The result of running a process.
#[derive(Debug)]
pub struct Finished {
    /// The process's pid (and process group).
    pub pid: u32,
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
    pub truncated: bool,
}

/// Runs a process to completion or until `deadline`, capturing at most
/// `cap` bytes of each output stream (the rest is read and discarded so the
/// process never blocks on a full pipe). The process is a child of the run
/// ([`crate::children::spawn`]); `on_start` hears of it as soon as it runs.
pub fn run_process(
    mut cmd: std::process::Command,
    stdin: Option<Vec<u8>>,
    deadline: Instant,
    cap: usize,
    on_start: &dyn Fn(crate::children::Started),
) -> std::io::Result<Finished> {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let (mut child, started, watched) = crate::children::spawn(&mut cmd)?;
    let cgroup = started.cgroup.clone();
    on_start(started);
    let pid = child.id();
    if let (Some(mut w), Some(data)) = (child.stdin.take(), stdin) {
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        });
    }
    let out = child.stdout.take().map(|r| reader(r, cap));
    let err = child.stderr.take().map(|r| reader(r, cap));
    // A waiter thread wakes us the moment the process exits; the deadline
    // is a timeout on that wake-up.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let status = child.wait();
        drop(watched);
        let _ = tx.send(status);
    });
    let mut timed_out = false;
    let status = match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(status) => status?,
        Err(_) => {
            timed_out = true;
            crate::sys::kill_process_group(pid);
            // What left the group is still in the cgroup.
            if let Some(cg) = &cgroup {
                crate::children::cgroup::kill(cg);
            }
            rx.recv()
                .map_err(|_| std::io::Error::other("lost the process"))??
        }
    };
    // A daemonised grandchild may keep the pipes open: wait a little for the
    // rest of the output, then go on without it.
    let grace = Instant::now() + Duration::from_secs(2);
    let join = |rx: Option<mpsc::Receiver<(Vec<u8>, bool)>>| {
        rx.and_then(|rx| {
            rx.recv_timeout(grace.saturating_duration_since(Instant::now()))
                .ok()
        })
        .unwrap_or_default()
    };
    let (stdout, t1) = join(out);
    let (stderr, t2) = join(err);
    Ok(Finished {
        pid,
        status: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout,
        stderr,
        timed_out,
        truncated: t1 || t2,
    })
}

fn reader(r: impl Read + Send + 'static, cap: usize) -> mpsc::Receiver<(Vec<u8>, bool)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(capture(r, cap));
    });
    rx
}

fn capture(mut r: impl Read, cap: usize) -> (Vec<u8>, bool) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 << 10];
    let mut truncated = false;
    loop {
        match r.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(buf.len());
                if n > room {
                    truncated = true;
                }
                buf.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
    (buf, truncated)
}
