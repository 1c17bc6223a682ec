//! `exec`: a command on a target, with env, stdin, a deadline and an effect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::registry::Capability;
use super::{Inputs, StepState, Targets};
use crate::events::Event;
use crate::targets::docker::run::{self as container, RunError};
pub use crate::targets::process::{Finished, run_process};
use crate::targets::{Launch, launch, marked};
use crate::wit::cairn::plugin::exec::{self as wit, Command, Completed};
use crate::wit::cairn::plugin::types::Effect;
use cairn_lang::TargetKind;

/// The `exec` capability.
pub struct Exec;

impl Capability for Exec {
    const NAME: &'static str = "exec";
    type State = OnTargets;

    fn build(inputs: &Inputs<'_>) -> OnTargets {
        OnTargets::build(inputs)
    }
}

/// What a capability that runs commands on targets keeps (`exec`,
/// `transfer`): the project's targets and the step's.
#[derive(Clone)]
pub struct OnTargets {
    pub targets: Arc<Targets>,
    /// The step's target name (`local` when the step names none).
    pub target: String,
}

impl OnTargets {
    pub fn build(inputs: &Inputs<'_>) -> Self {
        Self {
            targets: inputs.targets.clone(),
            target: inputs.target.to_string(),
        }
    }
}

impl Default for OnTargets {
    fn default() -> Self {
        Self {
            targets: Arc::new(Targets::default()),
            target: "local".into(),
        }
    }
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
        let on = self.cx.state::<Exec>();
        let target_name = cmd.target.clone().unwrap_or_else(|| on.target.clone());
        let target = on
            .targets
            .get(&target_name)
            .cloned()
            .ok_or_else(|| format!("exec: unknown target `{target_name}`"))?;
        let mut inv = self.invocation("exec", &cmd, &target_name, &target)?;
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
        // On an ssh or docker target the processes carry a mark, so that
        // they can be found there again (cairn killed, a deadline).
        let log = self.cx.child_log();
        let remote = !matches!(target, TargetKind::Local);
        // (A local command needs none: it is followed by pid and cgroup.)
        let marker = if remote {
            marked::new_marker()
        } else {
            String::new()
        };
        if remote {
            if matches!(target, TargetKind::Ssh { .. }) {
                inv.env.push((marked::MARKER.into(), marker.clone()));
            }
            log.remote_started(&target_name, &target, &marker, &summary);
        }
        let cannot_start = |e: &dyn std::fmt::Display| {
            format!(
                "exec: cannot start `{}` on `{target_name}`: {e}",
                inv.program
            )
        };
        let launched = launch(&target, &inv, deadline).map_err(|e| cannot_start(&e))?;
        let finished = match launched {
            Launch::Process(c) => {
                let shown = inv.display();
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
                &marker,
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
        if remote {
            // An ssh command past its deadline: the client is gone, the
            // command may not be; end it there.
            if finished.timed_out
                && matches!(target, TargetKind::Ssh { .. })
                && let Err(e) = marked::find(&target, &marker, true)
            {
                stop_failure = Some(format!(
                    "its processes carry {}={marker} there: {e}",
                    marked::MARKER
                ));
            }
            if stop_failure.is_none() {
                log.remote_ended(&marker);
            }
        }
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
            let after = crate::humanize::humanize(elapsed);
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
