//! The moving parts of a transfer: processes at either end, a watchdog for
//! the deadline, and the chain of stages bytes flow through (transforms,
//! then the sink) with fixed buffers.

use std::cell::Cell;
use std::io::{self, PipeReader, PipeWriter, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::capabilities::ChildLog;
use crate::capabilities::docker::run::{PipeEnd, Piped, RunError, Stopper};
use crate::capabilities::storage::ObjectWriter;
use crate::capabilities::storage::dir::TempFile;
use crate::children::Child;
use crate::targets::{Launch, marked};

use super::ends::{Launched, Remote};

mod stages;
pub use stages::*;

/// The size of the buffer the pump reads into.
pub const CHUNK: usize = 256 << 10;
/// How much of a command's stderr (and stdout, for a sink) is kept for an
/// error message.
const TAIL: usize = 4 << 10;

/// What the watchdog stops at the deadline.
enum Victim {
    /// A local process group, killed.
    Group(u32),
    /// A command in a container, stopped through the engine.
    Container(Stopper),
}

impl Victim {
    fn stop(&self) {
        match self {
            Victim::Group(pid) => crate::sys::kill_process_group(*pid),
            Victim::Container(s) => s.stop(),
        }
    }
}

/// Stops the registered commands when the deadline passes: kills the
/// process groups of local ones, stops those in containers.
pub struct Watchdog {
    stop: Option<mpsc::Sender<()>>,
    fired: Arc<AtomicBool>,
    victims: Arc<Mutex<Vec<Victim>>>,
    deadline: Instant,
}

impl Watchdog {
    pub fn new(deadline: Instant) -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        let fired = Arc::new(AtomicBool::new(false));
        let victims = Arc::new(Mutex::new(Vec::<Victim>::new()));
        let (f, v) = (fired.clone(), victims.clone());
        std::thread::spawn(move || {
            let wait = deadline.saturating_duration_since(Instant::now());
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(wait) {
                f.store(true, Ordering::SeqCst);
                for victim in v.lock().expect("victims").iter() {
                    victim.stop();
                }
            }
        });
        Self {
            stop: Some(tx),
            fired,
            victims,
            deadline,
        }
    }

    fn watch(&self, victim: Victim) {
        if self.fired() {
            victim.stop();
        }
        self.victims.lock().expect("victims").push(victim);
    }

    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.take();
    }
}

/// A command at one end of a transfer: a local process (the command, or the
/// `ssh` client running it) in its own process group, or an exec in a
/// container. Dropped before it was waited for, it is killed (the process
/// with its whole group; in a container, every process of the exec).
pub struct Proc {
    inner: Inner,
    pub what: String,
    /// On an ssh or docker target: the mark of its processes there.
    remote: Option<Remote>,
    log: ChildLog,
    /// A container's command that could not be stopped at the deadline.
    maybe_running: bool,
}

enum Inner {
    Local {
        child: Child,
        pid: u32,
        stderr: Option<JoinHandle<Vec<u8>>>,
        stdout: Option<JoinHandle<Vec<u8>>>,
        waited: bool,
        /// Dropped with the `Proc`, after the child was reaped.
        _watched: crate::children::Watched,
        log: ChildLog,
    },
    /// Its stderr and stdout tails come with its end.
    Container(Option<Piped>),
}

impl Proc {
    /// Starts the command with its stdout piped (a source) or its stdin
    /// piped (a sink); the other streams are kept as tails for error
    /// messages. A command in a container is created and started by the
    /// engine before this returns, or fails here (an engine failure, or the
    /// deadline).
    pub fn spawn(
        launched: Launched,
        what: String,
        sink: bool,
        watchdog: &Watchdog,
        log: ChildLog,
    ) -> io::Result<(Self, Option<PipeReader>, Option<PipeWriter>)> {
        let Launched { launch, remote } = launched;
        let cmd = match launch {
            Launch::Process(cmd) => cmd,
            Launch::Container(cc) => {
                let mark = remote
                    .as_ref()
                    .map_or_else(marked::new_marker, |r| r.mark.clone());
                let (piped, end) = Piped::spawn(&cc, &mark, sink, watchdog.deadline, TAIL)
                    .map_err(|e| match e {
                        RunError::Engine(why) => io::Error::other(why),
                        RunError::Deadline(_) => io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the engine did not start it before the deadline",
                        ),
                    })?;
                watchdog.watch(Victim::Container(piped.stopper()));
                let (out, stdin) = match end {
                    PipeEnd::Stdout(r) => (Some(r), None),
                    PipeEnd::Stdin(w) => (None, Some(w)),
                };
                let proc_ = Self {
                    inner: Inner::Container(Some(piped)),
                    what,
                    remote,
                    log,
                    maybe_running: false,
                };
                return Ok((proc_, out, stdin));
            }
        };
        let (mut child, started, watched) = crate::children::spawn(&cmd, sink)?;
        log.started(started, &what);
        let pid = child.id();
        watchdog.watch(Victim::Group(pid));
        let stderr = child.stderr.take().map(tail_reader);
        let (out, stdout) = if sink {
            (None, child.stdout.take().map(tail_reader))
        } else {
            (child.stdout.take(), None)
        };
        let stdin = child.stdin.take();
        Ok((
            Self {
                inner: Inner::Local {
                    child,
                    pid,
                    stderr,
                    stdout,
                    waited: false,
                    _watched: watched,
                    log: log.clone(),
                },
                what,
                remote,
                log,
                maybe_running: false,
            },
            out,
            stdin,
        ))
    }

    /// Waits for the command; a non-zero exit is an error quoting the end of
    /// its stderr (or stdout). On an ssh target whose client was killed at
    /// the deadline, the command is ended there too; the end of a command
    /// on another machine is journaled once nothing of it runs there.
    pub fn wait(mut self, watchdog: &Watchdog, elapsed: Duration) -> Result<(), String> {
        let result = self.wait_here(watchdog, elapsed);
        if let Some(r) = self.remote.take() {
            let ended = match r.at {
                cairn_lang::TargetKind::Ssh { .. } if watchdog.fired() => {
                    marked::find(&r.at, &r.mark, true).is_ok()
                }
                _ => !self.maybe_running,
            };
            if ended {
                self.log.remote_ended(&r.mark);
            }
        }
        result
    }

    fn wait_here(&mut self, watchdog: &Watchdog, elapsed: Duration) -> Result<(), String> {
        let killed = |what: &str| {
            format!(
                "transfer: `{what}` did not finish in {} and was killed",
                crate::humanize::humanize(elapsed)
            )
        };
        let (code, stderr, stdout) = match &mut self.inner {
            Inner::Local {
                child,
                pid,
                stderr,
                stdout,
                waited,
                log,
                ..
            } => {
                let status = child
                    .wait()
                    .map_err(|e| format!("transfer: waiting for `{}`: {e}", self.what))?;
                *waited = true;
                let code = status
                    .code()
                    .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
                log.ended(*pid, code);
                if watchdog.fired() {
                    return Err(killed(&self.what));
                }
                if status.success() {
                    return Ok(());
                }
                (code, join_tail(stderr.take()), join_tail(stdout.take()))
            }
            Inner::Container(piped) => {
                let ended = piped.take().expect("waited once").wait();
                match ended.stopped {
                    Some(Ok(())) => return Err(killed(&self.what)),
                    Some(Err(why)) => {
                        self.maybe_running = true;
                        return Err(format!(
                            "transfer: `{}` did not finish in {} and may still run there: it could not be stopped: {why}",
                            self.what,
                            crate::humanize::humanize(elapsed)
                        ));
                    }
                    None => {}
                }
                let code = ended
                    .status
                    .map_err(|why| format!("transfer: `{}`: {why}", self.what))?;
                if code == 0 {
                    return Ok(());
                }
                (code, tail_line(&ended.stderr), tail_line(&ended.stdout))
            }
        };
        let tail = if stderr.is_empty() { stdout } else { stderr };
        let tail = if tail.is_empty() {
            String::new()
        } else {
            format!(": {tail}")
        };
        Err(format!(
            "transfer: `{}` exited with status {code}{tail}",
            self.what
        ))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A container's command is stopped by its own drop.
        if let Inner::Local {
            child,
            pid,
            waited: false,
            ..
        } = &mut self.inner
        {
            crate::sys::kill_process_group(*pid);
            let _ = child.wait();
        }
    }
}

/// Reads a stream to its end, keeping the last `TAIL` bytes.
fn tail_reader(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut keep = Vec::new();
        let mut chunk = [0u8; 8 << 10];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    keep.extend_from_slice(&chunk[..n]);
                    if keep.len() > 2 * TAIL {
                        keep.drain(..keep.len() - TAIL);
                    }
                }
            }
        }
        if keep.len() > TAIL {
            keep.drain(..keep.len() - TAIL);
        }
        keep
    })
}

/// The tail a reader thread kept, as one line (a daemonised grandchild
/// holding the pipe open is not waited for past two seconds).
fn join_tail(h: Option<JoinHandle<Vec<u8>>>) -> String {
    let Some(h) = h else { return String::new() };
    let until = Instant::now() + Duration::from_secs(2);
    while !h.is_finished() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    if !h.is_finished() {
        return String::new();
    }
    tail_line(&h.join().unwrap_or_default())
}

/// The last lines of a tail, as one line.
fn tail_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.trim().lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// Where a failure happened, so the message can name the right end.
pub enum PumpError {
    Source(io::Error),
    Sink(io::Error),
    Deadline,
}

/// Moves bytes from `src` into `chain` until the source ends; returns the
/// bytes read.
/// How often a long transfer reports the bytes it has moved.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

pub fn pump(
    src: &mut dyn Read,
    chain: &mut dyn Stage,
    deadline: Instant,
    watchdog: &Watchdog,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, PumpError> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let mut next_report = Instant::now() + PROGRESS_EVERY;
    loop {
        if Instant::now() >= next_report {
            progress(total);
            next_report = Instant::now() + PROGRESS_EVERY;
        }
        if Instant::now() >= deadline || watchdog.fired() {
            return Err(PumpError::Deadline);
        }
        let n = match src.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(PumpError::Source(e)),
        };
        total += n as u64;
        chain.write_all(&buf[..n]).map_err(PumpError::Sink)?;
    }
}
