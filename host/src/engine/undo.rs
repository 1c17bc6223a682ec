//! Per-step undo: when a main step fails, the `undo` blocks of the main
//! steps that finished run, the last finished first, before `on-failure`.
//!
//! - Only a main step that finished (`ok`) is undone: the step that failed,
//!   one skipped by `when` and one that failed with `continue-on-error` are
//!   not (what they did is partial or nothing; `on-failure` is for that).
//! - An `undo` block stops at its first failing step (its later steps may
//!   depend on it), and that main step is "not undone"; the undo blocks of
//!   the other steps still run, so as much as possible is put back.
//! - Undo steps see the recorded outputs of their own step and of the main
//!   steps before it, and those of the earlier steps of their block.

use std::sync::atomic::Ordering;

use cairn_lang::{Block, Step};

use super::step::{Executor, Failure};
use crate::events::{Event, Mode, Phase, StepStatus};

/// What the undo phase did.
#[derive(Debug, Clone, Default)]
pub(super) struct UndoOutcome {
    /// Main steps whose undo block ran to its end.
    pub undone: Vec<String>,
    /// Main steps whose undo block did not complete.
    pub not_undone: Vec<String>,
    /// Undo steps that failed, and those that did not run after them.
    pub failed: Vec<String>,
    pub not_run: Vec<String>,
    /// The first error.
    pub message: Option<String>,
}

impl Executor<'_> {
    /// The main steps that finished and have an `undo` block, the last
    /// finished first (within a `parallel` block, the last written first).
    fn to_undo(&self) -> Vec<&Step> {
        let done = self.done.lock().expect("steps");
        let mut out: Vec<&Step> = self
            .rb
            .steps
            .iter()
            .flat_map(Block::steps)
            .filter(|s| !s.undo.is_empty())
            .filter(|s| done.get(&s.id).is_some_and(|d| d.status == StepStatus::Ok))
            .collect();
        // Members of a `rolling` block undone when they failed.
        let undone = self.undone.lock().expect("undone");
        out.retain(|s| !undone.contains(&s.id));
        out.reverse();
        out
    }

    /// The undo phase of a run whose main list failed with `failure`. The
    /// start of the rollback is journaled once, so that `cairn resume` of a
    /// run stopped in it continues the rollback instead of the main list.
    pub(super) fn run_undo(&self, failure: &Failure) -> UndoOutcome {
        let owners = self.to_undo();
        if self.rollback.is_none() {
            self.sink.emit(&Event::RollbackStarted {
                error: failure.message.clone(),
                refused: failure.refused,
                undo: owners.iter().map(|s| s.id.clone()).collect(),
            });
        }
        self.undo_owners(owners)
    }

    /// The undo blocks of `owners`, in that order; each one that completes
    /// is recorded as undone.
    pub(super) fn undo_owners(&self, owners: Vec<&Step>) -> UndoOutcome {
        let dry = self.opts.mode == Mode::DryRun;
        let mut out = UndoOutcome::default();
        for owner in owners {
            if dry {
                self.section(
                    Phase::Undo,
                    "runs because a later step failed",
                    Some(&owner.id),
                );
            }
            let mut failed = false;
            for step in &owner.undo {
                if failed {
                    out.not_run.push(step.id.clone());
                    continue;
                }
                if let Err(f) = self.run_step(step, Phase::Undo) {
                    self.sink.emit(&Event::Warning {
                        message: format!("undo of `{}` did not complete: {}", owner.id, f.message),
                    });
                    out.failed.push(step.id.clone());
                    out.message.get_or_insert(f.message);
                    failed = true;
                }
            }
            if failed {
                out.not_undone.push(owner.id.clone());
            } else {
                out.undone.push(owner.id.clone());
                if !dry {
                    self.undone.lock().expect("undone").insert(owner.id.clone());
                }
            }
        }
        out
    }

    /// Dry-run of a main list that did not fail: the undo blocks that would
    /// run if a later step failed, in the order they would run, all planned.
    /// The last main step has no later step: its undo never runs.
    pub(super) fn plan_undo(&self) {
        let last = match self.rb.steps.last() {
            Some(Block::Step(s)) => Some(s.id.as_str()),
            _ => None,
        };
        self.hypothetical.store(true, Ordering::SeqCst);
        for owner in self.to_undo() {
            if Some(owner.id.as_str()) == last {
                continue;
            }
            self.section(
                Phase::Undo,
                "would run if a later step fails",
                Some(&owner.id),
            );
            for step in &owner.undo {
                // Planned without reads and with values the main steps
                // return only when they run: a plugin that needs either
                // cannot plan, which says nothing of the real undo.
                if let Err(f) = self.run_step(step, Phase::Undo) {
                    self.sink.emit(&Event::Warning {
                        message: format!(
                            "undo of `{}` cannot be checked before the run (it reads nothing in a plan and uses what the steps return when they run): {}",
                            owner.id, f.message
                        ),
                    });
                    break;
                }
            }
        }
        self.hypothetical.store(false, Ordering::SeqCst);
    }
}
