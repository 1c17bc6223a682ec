//! The stock `service` plugin: stops, starts, restarts and reloads the
//! programs of a site, and waits until they are really up (supervisor's
//! `RUNNING`, systemd's `active`, a compose service running and healthy),
//! not merely until the command returns.
//!
//! ```kdl
//! step stop uses=service action=stop {
//!     backend supervisor
//!     config "/etc/supervisor/supervisord.conf"
//!     programs web "workers:*"
//! }
//! // undo: start exactly what was running before
//! step start uses=service action=start {
//!     backend supervisor
//!     config "/etc/supervisor/supervisord.conf"
//!     programs "{{ steps.stop.outputs.was-running }}"
//!     ready-url "http://127.0.0.1:8000/health/"
//! }
//! ```
//!
//! Outputs of every action: `backend`, `programs` (each program's `name`,
//! `state`, `running`, `pid`, `detail`), `running` (names), `all-running`,
//! `planned`; `stop` and `restart` add `was-running`, the programs that
//! were running before, which an undo step starts again.

use std::time::Instant;

use cairn_sdk::prelude::*;
use serde_json::{Value, json};

mod args;
mod backend;
mod compose;
mod compose_v1;
mod supervisor;
mod supervisor_rpc;
mod systemd;
mod wait;
mod xmlrpc;

pub(crate) use args::ServiceArgs;
pub(crate) use backend::{Backend, Class, Program, Verb};

const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
const DEFAULT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

pub struct Service;

impl Plugin for Service {
    fn describe() -> Description {
        Description::new(
            "service",
            env!("CARGO_PKG_VERSION"),
            "Stop, start and wait for supervisor programs, systemd units and compose services",
        )
        .action("status", "The state of every program", Effect::Read)
        .action(
            "stop",
            "Stop programs; returns those that were running",
            Effect::Write,
        )
        .action(
            "start",
            "Start programs and wait until they run",
            Effect::Write,
        )
        .action(
            "restart",
            "Restart programs and wait until they run",
            Effect::Write,
        )
        .action(
            "reload",
            "Reload programs (a signal, systemd's reload) and wait until they run",
            Effect::Write,
        )
        .action(
            "wait-ready",
            "Wait until programs run (and a URL answers)",
            Effect::Read,
        )
        .action("pull", "compose: pull the services' images", Effect::Write)
        .default_action("status")
        .capability(
            "exec",
            [
                "supervisorctl",
                "cat",
                "systemctl",
                "journalctl",
                "docker",
                "docker-compose",
            ],
        )
        .capability("http", ["*"])
        // supervisord's XML-RPC socket.
        .capability("socket", ["*"])
        .args_for_every_action::<ServiceArgs>()
        // Differ from one run to the next: not compared by `cairn apply`.
        .volatile_outputs("start", &["waited-ms"])
        .volatile_outputs("stop", &["waited-ms"])
        .volatile_outputs("restart", &["waited-ms"])
    }

    fn run(
        host: &dyn Host,
        ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        let known = [
            "status",
            "stop",
            "start",
            "restart",
            "reload",
            "wait-ready",
            "pull",
        ];
        if !known.contains(&action) {
            return Err(PluginError::unknown_action(action));
        }
        let a: ServiceArgs = args.decode::<ServiceArgs>()?.without_empty();
        let local = ctx.target.as_deref().is_none_or(|t| t == "local");
        let backend = backend::from_args(&a, local)?;
        let wanted = programs_arg(a.programs.as_ref())?;
        let job = Job {
            host,
            backend: backend.as_ref(),
            wait: wait::Wait::from_args(&a, ctx.mode == Mode::DryRun)?,
        };
        match action {
            "status" => job.status(wanted.as_deref()),
            "stop" => job.stop(wanted.as_deref()),
            "start" => job.start(wanted.as_deref()),
            "restart" => job.restart(wanted.as_deref()),
            "reload" => job.reload(wanted.as_deref()),
            "wait-ready" => job.wait_ready(wanted.as_deref()),
            _ => job.pull(wanted.as_deref()),
        }
    }
}

cairn_sdk::export_plugin!(Service);

/// `programs`: absent (all), one name, a list, or one string of names
/// separated by spaces or commas. An empty list selects nothing (an undo
/// step given `was-running` of a stop that found nothing running).
fn programs_arg(v: Option<&Value>) -> Result<Option<Vec<String>>, PluginError> {
    let bad = || PluginError::arg("programs", "expected a name or a list of names");
    let split = |s: &str| -> Vec<String> {
        s.split([' ', ',', '\n', '\t'])
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(split(s))),
        Some(Value::Array(items)) => {
            let mut names = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => names.extend(split(s)),
                    Value::Number(n) => names.push(n.to_string()),
                    _ => return Err(bad()),
                }
            }
            Ok(Some(names))
        }
        Some(_) => Err(bad()),
    }
}

struct Job<'a> {
    host: &'a dyn Host,
    backend: &'a dyn Backend,
    wait: wait::Wait,
}

fn names(programs: &[Program]) -> Vec<String> {
    programs.iter().map(|p| p.name.clone()).collect()
}

fn names_where(programs: &[Program], f: impl Fn(Class) -> bool) -> Vec<String> {
    programs
        .iter()
        .filter(|p| f(p.class))
        .map(|p| p.name.clone())
        .collect()
}

impl Job<'_> {
    fn outputs(&self, programs: &[Program], planned: bool) -> Outputs {
        let list: Vec<Value> = programs
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "state": p.state,
                    "running": p.class == Class::Running,
                    "pid": p.pid,
                    "detail": p.detail,
                })
            })
            .collect();
        let running = names_where(programs, |c| c == Class::Running);
        Outputs::new()
            .set("backend", self.backend.name())
            .set("all-running", running.len() == programs.len())
            .set("programs", list)
            .set("running", running)
            .set("planned", planned)
    }

    /// The programs a step names, their state logged (a dry-run's plan
    /// shows what runs now).
    fn select(&self, wanted: Option<&[String]>) -> Result<Vec<Program>, PluginError> {
        let progs = self.backend.select(self.host, wanted)?;
        let states: Vec<String> = progs
            .iter()
            .map(|p| format!("{} {}", p.name, p.state))
            .collect();
        self.host.info(&format!(
            "{}: {}",
            self.backend.name(),
            if states.is_empty() {
                "no program selected".to_string()
            } else {
                states.join(", ")
            }
        ));
        Ok(progs)
    }

    fn status(&self, wanted: Option<&[String]>) -> Result<Outputs, PluginError> {
        let progs = self.select(wanted)?;
        Ok(self.outputs(&progs, false))
    }

    fn stop(&self, wanted: Option<&[String]>) -> Result<Outputs, PluginError> {
        let before = self.select(wanted)?;
        let was_running = names_where(&before, |c| c == Class::Running);
        let to_stop = names_where(&before, |c| {
            matches!(c, Class::Running | Class::Starting | Class::Stopping)
        });
        let mut planned = false;
        let after = if to_stop.is_empty() {
            before
        } else {
            let done = self
                .backend
                .act(self.host, Verb::Stop, &to_stop, self.wait.left())?;
            planned = done.planned;
            if planned {
                before
            } else {
                self.report_exit(Verb::Stop, &done);
                self.wait
                    .until_stopped(self.host, self.backend, &names(&before))?
            }
        };
        Ok(self
            .outputs(&after, planned)
            .set("was-running", was_running)
            .set("stopped", to_stop))
    }

    fn start(&self, wanted: Option<&[String]>) -> Result<Outputs, PluginError> {
        let before = self.select(wanted)?;
        let to_start = names_where(&before, |c| {
            matches!(c, Class::Stopped | Class::Failed | Class::Stopping)
        });
        let was_running = names_where(&before, |c| c == Class::Running);
        if !to_start.is_empty() {
            let done = self
                .backend
                .act(self.host, Verb::Start, &to_start, self.wait.left())?;
            if done.planned {
                return Ok(self
                    .outputs(&before, true)
                    .set("was-running", was_running)
                    .set("started", to_start));
            }
            self.report_exit(Verb::Start, &done);
        }
        let started = Instant::now();
        let after = self
            .wait
            .until_ready(self.host, self.backend, &names(&before))?;
        Ok(self
            .outputs(&after, false)
            .set("was-running", was_running)
            .set("started", to_start)
            .set("waited-ms", ms(started)))
    }

    fn restart(&self, wanted: Option<&[String]>) -> Result<Outputs, PluginError> {
        self.act_and_wait(wanted, Verb::Restart)
    }

    fn reload(&self, wanted: Option<&[String]>) -> Result<Outputs, PluginError> {
        self.act_and_wait(wanted, Verb::Reload)
    }

    fn act_and_wait(&self, wanted: Option<&[String]>, verb: Verb) -> Result<Outputs, PluginError> {
        let before = self.select(wanted)?;
        let was_running = names_where(&before, |c| c == Class::Running);
        let all = names(&before);
        if all.is_empty() {
            return Ok(self.outputs(&before, false).set("was-running", was_running));
        }
        let done = self.backend.act(self.host, verb, &all, self.wait.left())?;
        if done.planned {
            return Ok(self.outputs(&before, true).set("was-running", was_running));
        }
        if verb == Verb::Reload && done.status != 0 {
            return Err(self.command_failed(verb, &all, &done));
        }
        self.report_exit(verb, &done);
        let started = Instant::now();
        let after = self.wait.until_ready(self.host, self.backend, &all)?;
        Ok(self
            .outputs(&after, false)
            .set("was-running", was_running)
            .set("waited-ms", ms(started)))
    }

    fn wait_ready(&self, wanted: Option<&[String]>) -> Result<Outputs, PluginError> {
        let before = self.select(wanted)?;
        if self.wait.dry_run {
            // A dry-run reports the state; it does not wait for what the
            // planned steps before it would have started.
            return Ok(self.outputs(&before, true));
        }
        let started = Instant::now();
        let after = self
            .wait
            .until_ready(self.host, self.backend, &names(&before))?;
        Ok(self.outputs(&after, false).set("waited-ms", ms(started)))
    }

    fn pull(&self, wanted: Option<&[String]>) -> Result<Outputs, PluginError> {
        let before = self.select(wanted)?;
        let all = names(&before);
        let done = self
            .backend
            .act(self.host, Verb::Pull, &all, self.wait.left())?;
        if !done.planned && done.status != 0 {
            return Err(self.command_failed(Verb::Pull, &all, &done));
        }
        Ok(self
            .outputs(&before, done.planned)
            .set("pulled", all)
            .set("output", tail(&done, 20)))
    }

    /// A start or stop command that exited non-zero is not the verdict: the
    /// programs' state, looked at next, is. Its output goes to the journal.
    fn report_exit(&self, verb: Verb, done: &Completed) {
        if done.status != 0 {
            self.host.warn(&format!(
                "{} `{}` exited with status {}: {}",
                self.backend.name(),
                verb.word(),
                done.status,
                tail(done, 10)
            ));
        }
    }

    fn command_failed(&self, verb: Verb, names: &[String], done: &Completed) -> PluginError {
        PluginError::new(format!(
            "{} {} of `{}` failed with status {}: {}",
            self.backend.name(),
            verb.word(),
            names.join(" "),
            done.status,
            tail(done, 10)
        ))
    }
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The last `n` lines of a command's stderr and stdout, on one line.
pub(crate) fn tail(done: &Completed, n: usize) -> String {
    let mut text = done.stderr_text().trim().to_string();
    let out = done.stdout_text();
    if !out.trim().is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(out.trim());
    }
    last_lines(&text, n)
}

pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

#[cfg(test)]
mod tests;
