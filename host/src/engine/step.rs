//! Running steps: `when`, `confirm`, arguments, retries, timeouts and
//! parallel blocks. The order of the lists is in `lists.rs`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_lang::{Block, Runbook, Step};
use serde_json::{Value, json};

use super::resolver::{RunInfo, Scopes, StepDone};
use super::{Resolved, RunOptions};
use crate::capabilities::{CapCtx, Inputs, States, Targets};
use crate::events::{Event, EventSink, Mode, Phase, StepStatus};
use crate::project::Workspace;
use crate::redact::Redactor;
use crate::runtime::{CallError, Context, Limits, WitMode};

/// Why a list of steps stopped.
#[derive(Debug, Clone)]
pub struct Failure {
    pub message: String,
    /// A confirmation was declined: the run ends as refused (exit 3).
    pub refused: bool,
}

/// Dry-run: what a reference to an output of a step that was only planned
/// reads as (the SDK's `KNOWN_LATER`, which plugins compare with).
pub const UNKNOWN: &str = "(known after the step runs)";

/// Passes a step's events on, noting whether any write was only planned.
struct PlannedTap {
    inner: Arc<dyn EventSink>,
    planned: AtomicBool,
}

impl EventSink for PlannedTap {
    fn emit(&self, event: &Event) {
        if let Event::Capability { planned: true, .. } = event {
            self.planned.store(true, Ordering::SeqCst);
        }
        self.inner.emit(event);
    }
}

/// How a step ended, as journaled.
pub(super) struct End {
    pub status: StepStatus,
    pub outputs: Value,
    pub attempts: u32,
    pub error: Option<String>,
    pub reason: Option<String>,
    /// Dry-run: a write was only planned, so the outputs are not known.
    pub planned: bool,
}

pub(crate) struct Executor<'a> {
    pub ws: &'a Workspace,
    pub rb: &'a Runbook,
    pub opts: &'a RunOptions,
    pub params: serde_json::Map<String, Value>,
    pub plugins: HashMap<String, Resolved>,
    pub done: Mutex<HashMap<String, StepDone>>,
    /// Steps a resumed run already finished: not run again.
    pub reused: HashMap<String, StepDone>,
    /// A resumed run that had started its rollback: why its main list
    /// failed. The main list is not run again; the rollback continues.
    pub rollback: Option<Failure>,
    pub sink: Arc<dyn EventSink>,
    pub redactor: Arc<Redactor>,
    pub targets: Arc<Targets>,
    pub info: RunInfo,
    /// Dry-run of `on-failure` after main steps that did not fail: every
    /// call is planned, not even reads are performed.
    pub hypothetical: AtomicBool,
    /// The runbook's `limits`, counted across the run.
    pub guard: super::guard::Guard,
    /// Main steps whose undo block ran to its end.
    pub undone: Mutex<std::collections::HashSet<String>>,
}

impl Executor<'_> {
    /// Runs blocks in order. With `stop_on_failure` the first failure ends
    /// the list; otherwise every block runs and the first failure is returned.
    pub fn run_blocks(
        &self,
        blocks: &[Block],
        phase: Phase,
        stop_on_failure: bool,
    ) -> Result<(), Failure> {
        let mut first: Option<Failure> = None;
        for block in blocks {
            if matches!(phase, Phase::Main | Phase::Verify) && crate::sys::stop_requested() {
                return Err(Failure {
                    message: "stopped by a signal".into(),
                    refused: false,
                });
            }
            let r = match block {
                Block::Step(s) => self.run_step(s, phase),
                Block::Parallel { steps, .. } => self.run_parallel(steps, phase),
                Block::Fanout {
                    id,
                    steps,
                    parallel,
                    ..
                } => self.run_fanout(id, steps, *parallel, phase),
                Block::Rolling(r) => self.run_rolling(r, phase),
            };
            if let Err(f) = r {
                if stop_on_failure {
                    return Err(f);
                }
                first.get_or_insert(f);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn run_parallel(&self, steps: &[Step], phase: Phase) -> Result<(), Failure> {
        let results: Vec<Result<(), Failure>> = std::thread::scope(|s| {
            let handles: Vec<_> = steps
                .iter()
                .map(|st| s.spawn(move || self.run_step(st, phase)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Failure {
                            message: "a parallel step panicked".into(),
                            refused: false,
                        })
                    })
                })
                .collect()
        });
        results.into_iter().find(Result::is_err).unwrap_or(Ok(()))
    }

    fn scopes<'s>(&'s self, done: &'s HashMap<String, StepDone>, target: &'s str) -> Scopes<'s> {
        Scopes {
            params: &self.params,
            steps: done,
            secrets: &self.ws.secrets,
            redactor: &self.redactor,
            run: &self.info,
            target,
            targets: &self.targets,
            unknown: Default::default(),
        }
    }

    pub(super) fn finish(&self, step: &Step, phase: Phase, started: Instant, end: End) {
        self.done.lock().expect("steps").insert(
            step.id.clone(),
            StepDone {
                status: end.status,
                outputs: end.outputs.clone(),
                planned: end.planned,
            },
        );
        self.sink.emit(&Event::StepFinished {
            step: step.id.clone(),
            phase,
            status: end.status,
            reason: end.reason,
            outputs: end.outputs,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            attempts: end.attempts,
            error: end.error,
            planned: end.planned,
        });
    }

    pub(super) fn run_step(&self, step: &Step, phase: Phase) -> Result<(), Failure> {
        // A resumed run does not repeat a step that finished; an undo,
        // on-failure or finally step that failed stays failed.
        if let Some(d) = self.reused.get(&step.id) {
            self.done
                .lock()
                .expect("steps")
                .insert(step.id.clone(), d.clone());
            self.sink.emit(&Event::StepReused {
                step: step.id.clone(),
                status: d.status,
            });
            return match d.status {
                StepStatus::Failed => Err(Failure {
                    message: format!("step `{}` failed before the run was resumed", step.id),
                    refused: false,
                }),
                _ => Ok(()),
            };
        }
        let started = Instant::now();
        let resolved = &self.plugins[cairn_lang::written_id(&step.id)];
        let target = step
            .target
            .as_ref()
            .map_or("local", |t| t.value.as_str())
            .to_string();
        let _span = tracing::info_span!(
            "step",
            step = %step.id,
            phase = ?phase,
            plugin = %step.plugin,
            target = %target,
            duration_ms = tracing::field::Empty
        )
        .entered();
        let _timed = crate::spans::Timed::new(&_span);
        let fail = |message: String, attempts: u32, refused: bool| {
            let status = if step.continue_on_error && !refused {
                StepStatus::FailedContinued
            } else {
                StepStatus::Failed
            };
            self.finish(
                step,
                phase,
                started,
                End {
                    status,
                    outputs: json!({}),
                    attempts,
                    error: Some(message.clone()),
                    reason: None,
                    planned: false,
                },
            );
            if status == StepStatus::FailedContinued {
                Ok(())
            } else {
                Err(Failure {
                    message: format!("step `{}` failed: {message}", step.id),
                    refused,
                })
            }
        };

        // Snapshot of what earlier steps left; parallel siblings do not see each other.
        let done = super::fleet::view(&self.done.lock().expect("steps"), step.member.as_deref());
        let scopes = self.scopes(&done, &target);
        let dry = self.opts.mode == Mode::DryRun;
        // Dry-run: a `when` that reads a planned step's output is not known
        // either; the step is shown as it would run.
        let runs = step
            .when
            .as_ref()
            .is_none_or(|w| cairn_lang::eval_when(&w.value, &scopes) || scopes.unknown.get());
        if !runs {
            self.finish(
                step,
                phase,
                started,
                End {
                    status: StepStatus::Skipped,
                    outputs: json!({}),
                    attempts: 0,
                    error: None,
                    reason: Some("`when` is false".into()),
                    planned: false,
                },
            );
            return Ok(());
        }
        let args = match cairn_lang::render_args(&step.args, &scopes) {
            Ok(a) => a,
            Err(e) => return fail(e.to_string(), 0, false),
        };
        if let Some(question) = &step.confirm {
            let q = match cairn_lang::render_template(&question.value, &scopes) {
                Ok(Value::String(s)) => s,
                Ok(other) => other.to_string(),
                Err(e) => return fail(e.to_string(), 0, false),
            };
            if let Err(msg) = self.confirm(step, &q) {
                return fail(msg, 0, true);
            }
        }
        // Dry-run of an undo, on-failure or finally step that uses what
        // earlier steps return only when they run: the plugin would plan
        // with a placeholder (and guess, or fail on it); the plan says
        // what will run instead.
        let later = if dry && !matches!(phase, Phase::Main | Phase::Verify) {
            super::later::known_later(&args)
        } else {
            Vec::new()
        };
        if !later.is_empty() {
            self.plan_later(step, phase, resolved, &later, started);
            return Ok(());
        }
        if let Err(msg) = self.count_limits(step, phase, resolved, &args) {
            return fail(msg, 0, true);
        }
        let args_text = args.to_string();
        // Dry-run: a step that uses a value known only after a planned step
        // runs is planned as a whole, reads included: nothing is performed
        // with a value that is not the real one.
        let offline = self.opts.offline
            || (dry && (scopes.unknown.get() || self.hypothetical.load(Ordering::SeqCst)));
        let retry = step.retry.clone();
        let attempts = retry.as_ref().map_or(1, |r| r.attempts.max(1));
        let mut delay = retry.as_ref().map_or(Duration::ZERO, |r| r.delay);
        let ctx = Context {
            run_id: self.info.id.clone(),
            step_id: step.id.clone(),
            runbook: self.rb.name.clone(),
            mode: match self.opts.mode {
                Mode::Apply => WitMode::Apply,
                Mode::DryRun => WitMode::DryRun,
                Mode::Rehearsal => WitMode::Rehearsal,
            },
            target: step.target.as_ref().map(|t| t.value.clone()),
        };
        let limits = Limits::step(step.timeout);
        let mut last_error = String::new();
        for attempt in 1..=attempts {
            self.sink
                .emit(&resolved.started_event(step, phase, attempt));
            let tap = Arc::new(PlannedTap {
                inner: self.sink.clone(),
                planned: AtomicBool::new(false),
            });
            let inputs = Inputs::new(
                &self.ws.project,
                &self.ws.secrets,
                &self.redactor,
                &self.targets,
                &self.info.id,
                &target,
            );
            let cx = CapCtx {
                plugin: resolved.plugin.name.clone(),
                step: step.id.clone(),
                mode: self.opts.mode,
                offline,
                grants: resolved.grants.clone(),
                deadline: Instant::now() + limits.timeout,
                events: tap.clone(),
                redactor: self.redactor.clone(),
                limits: limits.clone(),
                log_events: 0,
                fatal: None,
                states: States::build(&inputs),
            };
            let runtime = self.ws.catalog.runtime();
            match runtime.run(
                &resolved.plugin,
                cx,
                &limits,
                &ctx,
                &resolved.action,
                &args_text,
            ) {
                Ok(out) => {
                    let outputs = match serde_json::from_str::<Value>(&out) {
                        Ok(v @ Value::Object(_)) => v,
                        Ok(Value::Null) => json!({}),
                        Ok(other) => json!({ "value": other }),
                        Err(e) => {
                            return fail(
                                format!(
                                    "plugin `{}` returned outputs that are not JSON: {e}",
                                    resolved.plugin.name
                                ),
                                attempt,
                                false,
                            );
                        }
                    };
                    self.finish(
                        step,
                        phase,
                        started,
                        End {
                            status: StepStatus::Ok,
                            outputs,
                            attempts: attempt,
                            error: None,
                            reason: None,
                            planned: dry && (offline || tap.planned.load(Ordering::SeqCst)),
                        },
                    );
                    return Ok(());
                }
                Err(e) => {
                    last_error = match &e {
                        CallError::Plugin(pe) => match &pe.field {
                            // The SDK's own argument errors already name it.
                            Some(f) if !pe.message.contains(&format!("`{f}`")) => {
                                format!("argument `{f}`: {}", pe.message)
                            }
                            _ => pe.message.clone(),
                        },
                        other => other.to_string(),
                    };
                    // A trap or timeout is not retried: the plugin is broken or stuck.
                    let retryable = matches!(e, CallError::Plugin(_));
                    if attempt < attempts && retryable {
                        self.sink.emit(&Event::Warning {
                            message: format!(
                                "step `{}` attempt {attempt}/{attempts} failed: {last_error}; retrying in {}",
                                step.id,
                                crate::runtime::humanize(delay)
                            ),
                        });
                        std::thread::sleep(delay);
                        let backoff = retry.as_ref().map_or(1.0, |r| r.backoff);
                        delay = delay.mul_f64(backoff.max(1.0));
                        continue;
                    }
                    return fail(last_error, attempt, false);
                }
            }
        }
        fail(last_error, attempts, false)
    }
}
