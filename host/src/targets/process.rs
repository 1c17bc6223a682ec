//! Processes of this machine run to completion or a deadline, their output
//! captured up to a cap: local commands, `ssh` clients, the ssh masters' control
//! commands.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::ExitStatusExt;
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
///
/// One thread does it all: it polls both pipes and a pidfd of the child
/// (Linux 5.3+; elsewhere it polls the child every few milliseconds), so a
/// command costs no thread of its own (stdin, when given, is written by one).
pub fn run_process(
    cmd: crate::children::Command,
    stdin: Option<Vec<u8>>,
    deadline: Instant,
    cap: usize,
    on_start: &dyn Fn(crate::children::Started),
) -> std::io::Result<Finished> {
    let (mut child, started, watched) = crate::children::spawn(&cmd, stdin.is_some())?;
    let cgroup = started.cgroup.clone();
    on_start(started);
    let pid = child.id();
    if let (Some(mut w), Some(data)) = (child.stdin.take(), stdin) {
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        });
    }
    let mut out = Stream::new(child.stdout.take(), cap);
    let mut err = Stream::new(child.stderr.take(), cap);
    let exited = crate::sys::PidFd::open(pid);
    let mut watched = Some(watched);
    let mut timed_out = false;
    let mut status = None;
    // After the exit, a daemonised grandchild may keep the pipes open: wait
    // a little for the rest of the output, then go on without it.
    let mut grace = None;
    loop {
        if status.is_none() {
            if let Some(s) = child.try_wait()? {
                drop(watched.take());
                status = Some(s);
                grace = Some(Instant::now() + Duration::from_secs(2));
            } else if Instant::now() >= deadline {
                timed_out = true;
                crate::sys::kill_process_group(pid);
                // What left the group is still in the cgroup.
                if let Some(cg) = &cgroup {
                    crate::children::cgroup::kill(cg);
                }
                let s = child.wait()?;
                drop(watched.take());
                status = Some(s);
                grace = Some(Instant::now() + Duration::from_secs(2));
            }
        }
        if status.is_some() && out.done() && err.done() {
            break;
        }
        let until = grace.unwrap_or(deadline);
        let left = until.saturating_duration_since(Instant::now());
        if status.is_some() && left.is_zero() {
            break;
        }
        // Without a pidfd nothing wakes us when the child exits with its
        // pipes still open: look again every few milliseconds.
        let wait = match (&exited, status.is_some()) {
            (None, false) => left.min(Duration::from_millis(5)),
            _ => left,
        };
        let pid_fd = if status.is_none() {
            exited.as_ref().map(|p| p.fd())
        } else {
            None
        };
        let ready = crate::sys::poll_readable(&[out.fd(), err.fd(), pid_fd], wait)?;
        if ready[0] {
            out.read();
        }
        if ready[1] {
            err.read();
        }
    }
    let status = status.expect("the loop ends after the exit");
    Ok(Finished {
        pid,
        status: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: out.buf,
        stderr: err.buf,
        timed_out,
        truncated: out.truncated || err.truncated,
    })
}

/// One output stream of the child, read as it becomes readable.
struct Stream<R> {
    pipe: Option<R>,
    buf: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl<R: Read + AsRawFd> Stream<R> {
    fn new(pipe: Option<R>, cap: usize) -> Self {
        Self {
            pipe,
            buf: Vec::new(),
            cap,
            truncated: false,
        }
    }

    fn done(&self) -> bool {
        self.pipe.is_none()
    }

    fn fd(&self) -> Option<RawFd> {
        self.pipe.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// One read (the pipe is readable, or at its end): keeps what fits under
    /// the cap, closes the pipe at its end.
    fn read(&mut self) {
        let Some(pipe) = &mut self.pipe else { return };
        let mut chunk = [0u8; 16 << 10];
        match pipe.read(&mut chunk) {
            Ok(0) => self.pipe = None,
            Ok(n) => {
                let room = self.cap.saturating_sub(self.buf.len());
                if n > room {
                    self.truncated = true;
                }
                self.buf.extend_from_slice(&chunk[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => self.pipe = None,
        }
    }
}
