//! The order of a run's lists: the main steps; when one fails, the `undo`
//! blocks of the main steps that finished (last first), then `on-failure`;
//! always `finally`. A dry-run also shows what would run if a step failed.

use std::sync::atomic::Ordering;

use cairn_lang::Block;

use super::step::{Executor, Failure};
use super::undo::UndoOutcome;
use crate::events::{Event, Mode, Phase, StepStatus};

/// How the lists of a run ended.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The first failure of the main list, `verify` or `finally`.
    pub failure: Option<Failure>,
    /// The main list failed and its rollback (undo blocks, `on-failure`)
    /// ran to its end.
    pub rolled_back: bool,
    /// The main list failed and an undo or `on-failure` step failed.
    pub rollback: Option<RollbackFailure>,
    /// SIGINT or SIGTERM stopped the main list: no rollback, no `finally`,
    /// no end in the journal; `cairn resume` continues it.
    pub interrupted: bool,
}

/// What a failed rollback left: the steps that did not undo, and the main
/// steps whose changes stay.
#[derive(Debug, Clone, Default)]
pub struct RollbackFailure {
    /// The first error of the rollback.
    pub message: String,
    /// `on-failure` steps that failed, in order.
    pub failed: Vec<String>,
    /// `on-failure` steps that never ran (the list stops at its first failure).
    pub not_run: Vec<String>,
    /// Undo steps that failed, and those of the same `undo` blocks that did
    /// not run after them.
    pub undo_failed: Vec<String>,
    pub undo_not_run: Vec<String>,
    /// Main steps whose `undo` block did not complete.
    pub not_undone: Vec<String>,
    /// Main steps that finished and were not undone: what they changed is
    /// still changed.
    pub changed: Vec<String>,
}

impl Executor<'_> {
    /// The main list; on failure the undo blocks, then `on-failure`; always
    /// `finally`. A dry-run also shows the undo and `on-failure` steps that
    /// would run if a step failed, all of them planned.
    pub fn run_all(&self) -> Outcome {
        let dry = self.opts.mode == Mode::DryRun;
        let main = match &self.rollback {
            // Resumed during its rollback: the main list ended already.
            Some(f) => {
                self.reuse_main();
                Err(f.clone())
            }
            None => self.run_blocks(&self.rb.steps, Phase::Main, true),
        };
        let mut out = Outcome {
            failure: main.clone().err(),
            ..Outcome::default()
        };
        // A rehearsal checks what the main steps restored: every check runs.
        if main.is_ok()
            && self.opts.mode == Mode::Rehearsal
            && let Some(r) = &self.rb.rehearsal
            && let Err(f) = self.run_blocks(&r.verify, Phase::Verify, false)
        {
            out.failure = Some(Failure {
                message: format!("verification failed: {}", f.message),
                refused: false,
            });
        }
        if out.failure.is_some() && self.rollback.is_none() && crate::sys::stop_requested() {
            out.interrupted = true;
            return out;
        }
        let on_failure = &self.rb.on_failure;
        if let Err(f) = &main {
            let undo = self.run_undo(f);
            let mut message = undo.message.clone();
            let mut on_failure_ok = true;
            if !on_failure.is_empty() {
                if dry {
                    self.section(Phase::OnFailure, "runs because a step failed", None);
                }
                if let Err(f) = self.run_blocks(on_failure, Phase::OnFailure, true) {
                    self.sink.emit(&Event::Warning {
                        message: format!("on-failure did not complete: {}", f.message),
                    });
                    message.get_or_insert(f.message);
                    on_failure_ok = false;
                }
            }
            match message {
                Some(m) => out.rollback = Some(self.rollback_failure(m, &undo, on_failure_ok)),
                None => out.rolled_back = !undo.undone.is_empty() || !on_failure.is_empty(),
            }
        } else if dry {
            self.plan_undo();
            if !on_failure.is_empty() {
                self.section(Phase::OnFailure, "would run if a step fails", None);
                self.hypothetical.store(true, Ordering::SeqCst);
                if let Err(f) = self.run_blocks(on_failure, Phase::OnFailure, true) {
                    self.sink.emit(&Event::Warning {
                        message: format!("on-failure would not complete: {}", f.message),
                    });
                }
                self.hypothetical.store(false, Ordering::SeqCst);
            }
        }
        if dry && !self.rb.finally.is_empty() {
            self.section(Phase::Finally, "always runs", None);
        }
        // Every finally step runs, even after one of them fails.
        if let Err(f) = self.run_blocks(&self.rb.finally, Phase::Finally, false)
            && out.failure.is_none()
        {
            out.failure = Some(f);
        }
        out
    }

    pub(super) fn section(&self, phase: Phase, note: &str, of: Option<&str>) {
        self.sink.emit(&Event::PlanSection {
            phase,
            note: note.to_string(),
            of: of.map(str::to_string),
        });
    }

    /// A run resumed during its rollback: the main steps it finished, with
    /// their recorded outputs, for the undo steps to use.
    fn reuse_main(&self) {
        let mut done = self.done.lock().expect("steps");
        for step in self.rb.steps.iter().flat_map(Block::steps) {
            if let Some(d) = self.reused.get(&step.id) {
                done.insert(step.id.clone(), d.clone());
            }
        }
    }

    /// Which undo and `on-failure` steps did not undo, and which main steps
    /// changed something that stays changed.
    fn rollback_failure(
        &self,
        message: String,
        undo: &UndoOutcome,
        on_failure_ok: bool,
    ) -> RollbackFailure {
        let done = self.done.lock().expect("steps");
        let mut out = RollbackFailure {
            message,
            undo_failed: undo.failed.clone(),
            undo_not_run: undo.not_run.clone(),
            not_undone: undo.not_undone.clone(),
            ..RollbackFailure::default()
        };
        for id in self
            .rb
            .on_failure
            .iter()
            .flat_map(Block::steps)
            .map(|s| &s.id)
        {
            match done.get(id).map(|d| d.status) {
                None => out.not_run.push(id.clone()),
                Some(StepStatus::Failed) => out.failed.push(id.clone()),
                Some(_) => {}
            }
        }
        // With `on-failure` complete, what stays changed is what an undo
        // block did not put back; without, every main step not undone.
        out.changed = if on_failure_ok {
            undo.not_undone.clone()
        } else {
            self.rb
                .steps
                .iter()
                .flat_map(Block::steps)
                .filter(|s| done.get(&s.id).is_some_and(|d| d.status == StepStatus::Ok))
                .filter(|s| !undo.undone.contains(&s.id))
                .map(|s| s.id.clone())
                .collect()
        };
        out
    }
}
