//! Steps on a group: a step's instances, one per member, at most
//! `parallel` at a time; what the step leaves for later steps is the
//! outputs of every member by name (`steps.ID.outputs.MEMBER.KEY`). Each
//! instance is a step of its own in the journal (`ID@MEMBER`), so a resumed
//! run repeats only the members that did not finish.

use std::collections::HashMap;
use std::sync::Mutex;

use cairn_lang::Step;
use serde_json::{Map, Value};

use super::resolver::StepDone;
use super::step::{Executor, Failure};
use crate::events::{Phase, StepStatus};

impl Executor<'_> {
    /// The instances of a step on a group: a pool of `parallel` workers
    /// takes them in order; every instance runs even after one fails (a
    /// member's failure says nothing of the others'), then the step fails.
    pub(super) fn run_fanout(
        &self,
        id: &str,
        steps: &[Step],
        parallel: usize,
        phase: Phase,
    ) -> Result<(), Failure> {
        let next = Mutex::new(0usize);
        let failures: Mutex<Vec<Failure>> = Mutex::new(Vec::new());
        let workers = parallel.clamp(1, steps.len().max(1));
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let i = {
                            let mut n = next.lock().expect("fan-out");
                            let i = *n;
                            *n += 1;
                            i
                        };
                        let Some(step) = steps.get(i) else { break };
                        if crate::sys::stop_requested() {
                            break;
                        }
                        if let Err(f) = self.run_step(step, phase) {
                            failures.lock().expect("fan-out").push(f);
                        }
                    }
                });
            }
        });
        self.aggregate(id, steps.iter());
        let mut failures = failures.into_inner().expect("fan-out");
        if crate::sys::stop_requested() && failures.is_empty() {
            return Err(Failure {
                message: "stopped by a signal".into(),
                refused: false,
            });
        }
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            n => {
                let refused = failures.iter().any(|f| f.refused);
                Err(Failure {
                    message: format!(
                        "{n} members failed: {}",
                        failures
                            .iter()
                            .map(|f| f.message.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    refused,
                })
            }
        }
    }

    /// Records step `id` as the sum of its instances that ran: outputs by
    /// member, failed if one failed, skipped if all were.
    pub(super) fn aggregate<'s>(&self, id: &str, instances: impl Iterator<Item = &'s Step>) {
        let mut done = self.done.lock().expect("steps");
        let mut outputs = Map::new();
        let mut statuses = Vec::new();
        let mut planned = false;
        for inst in instances {
            let (Some(d), Some(member)) = (done.get(&inst.id), &inst.member) else {
                continue;
            };
            outputs.insert(member.clone(), d.outputs.clone());
            statuses.push(d.status);
            planned |= d.planned;
        }
        if statuses.is_empty() {
            return;
        }
        let status = if statuses.contains(&StepStatus::Failed) {
            StepStatus::Failed
        } else if statuses.iter().all(|s| *s == StepStatus::Skipped) {
            StepStatus::Skipped
        } else if statuses.contains(&StepStatus::FailedContinued) {
            StepStatus::FailedContinued
        } else {
            StepStatus::Ok
        };
        done.insert(
            id.to_owned(),
            StepDone {
                status,
                outputs: Value::Object(outputs),
                planned,
            },
        );
    }
}

/// What a step sees of the steps before it: on a member, its own
/// instances (`OTHER@MEMBER`) answer for `steps.OTHER`.
pub(super) fn view(
    done: &HashMap<String, StepDone>,
    member: Option<&str>,
) -> HashMap<String, StepDone> {
    let mut out = done.clone();
    if let Some(m) = member {
        let suffix = format!("@{m}");
        for (k, v) in done {
            if let Some(w) = k.strip_suffix(&suffix) {
                out.insert(w.to_owned(), v.clone());
            }
        }
    }
    out
}
