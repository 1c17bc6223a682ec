//! `exec`: a command on a target, with env, stdin, a deadline and an effect.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::StepState;
use super::docker::run::{self as container, RunError};
use super::target::{Launch, launch};
use crate::events::Event;
use crate::runtime::bindings::cairn::plugin::exec::{self as wit, Command, Completed};
use crate::runtime::bindings::cairn::plugin::types::Effect;

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

impl wit::Host for StepState {
    fn run(&mut self, cmd: Command) -> wasmtime::Result<Result<Completed, String>> {
        Ok(self.exec(cmd))
    }
}

impl StepState {
    fn exec(&mut self, cmd: Command) -> Result<Completed, String> {
        if self.cx.grants.get("exec").is_none() {
            return Err(self.cx.denied("exec", &cmd.program));
        }
        let target_name = cmd.target.clone().unwrap_or_else(|| self.cx.target.clone());
        let target = self
            .cx
            .targets
            .get(&target_name)
            .cloned()
            .ok_or_else(|| format!("exec: unknown target `{target_name}`"))?;
        let inv = self.invocation("exec", &cmd, &target_name, &target)?;
        let write = cmd.effect == Effect::Write;
        let summary = format!("{} (on `{target_name}`)", inv.display());
        let mut detail = json!({
            "target": target_name,
            "program": inv.program,
            "args": inv.args,
            "cwd": inv.cwd,
            "env": inv.env.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        });
        if let Some(path) = &inv.path {
            detail["path"] = json!(path);
        }
        let effect = if write { "write" } else { "read" };
        if self.cx.plans(write) {
            self.cx.emit(Event::Capability {
                step: self.cx.step.clone(),
                capability: "exec".into(),
                effect: effect.into(),
                planned: true,
                summary,
                detail,
            });
            return Ok(Completed {
                status: 0,
                stdout: Vec::new(),
                stderr: Vec::new(),
                planned: true,
            });
        }
        let timeout = cmd.timeout_ms.map(Duration::from_millis);
        let deadline = Instant::now() + self.cx.remaining(timeout);
        let started = Instant::now();
        let mut stop_failure = None;
        let cannot_start = |e: &dyn std::fmt::Display| {
            format!(
                "exec: cannot start `{}` on `{target_name}`: {e}",
                inv.program
            )
        };
        let launched = launch(&target, &inv, deadline).map_err(|e| cannot_start(&e))?;
        let finished = match launched {
            Launch::Process(c) => {
                let (log, shown) = (self.cx.child_log(), inv.display());
                match run_process(
                    c,
                    cmd.stdin.clone(),
                    deadline,
                    self.cx.limits.max_exec_capture,
                    &|started| log.started(started, &shown),
                ) {
                    Ok(f) => {
                        log.ended(f.pid, f.status);
                        f
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(format!(
                            "exec: program `{}` not found on `{target_name}`",
                            inv.program
                        ));
                    }
                    Err(e) => return Err(cannot_start(&e)),
                }
            }
            Launch::Container(c) => match container::run(
                &c,
                cmd.stdin.clone(),
                deadline,
                self.cx.limits.max_exec_capture,
            ) {
                Ok(done) => Finished {
                    pid: 0,
                    status: done.status,
                    stdout: done.stdout,
                    stderr: done.stderr,
                    timed_out: false,
                    truncated: done.truncated,
                },
                Err(RunError::Engine(why)) => return Err(cannot_start(&why)),
                Err(RunError::Deadline(stopped)) => {
                    stop_failure = stopped.err();
                    Finished {
                        pid: 0,
                        status: 128 + 9,
                        stdout: Vec::new(),
                        stderr: Vec::new(),
                        timed_out: true,
                        truncated: false,
                    }
                }
            },
        };
        let elapsed = started.elapsed();
        self.mark_if_late();
        detail["status"] = json!(finished.status);
        detail["duration_ms"] = json!(elapsed.as_secs_f64() * 1000.0);
        if finished.timed_out {
            detail["timed_out"] = json!(true);
        }
        self.cx.emit(Event::Capability {
            step: self.cx.step.clone(),
            capability: "exec".into(),
            effect: effect.into(),
            planned: false,
            summary,
            detail,
        });
        if finished.timed_out {
            let after = crate::runtime::humanize(elapsed);
            return Err(match stop_failure {
                None => format!(
                    "exec: `{}` on `{target_name}` did not finish in {after} and was killed",
                    inv.program
                ),
                Some(why) => format!(
                    "exec: `{}` on `{target_name}` did not finish in {after} and may still run there: it could not be stopped: {why}",
                    inv.program
                ),
            });
        }
        Ok(Completed {
            status: finished.status,
            stdout: finished.stdout,
            stderr: finished.stderr,
            planned: false,
        })
    }
}
