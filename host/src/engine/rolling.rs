//! `rolling group=G batch=N max-failures=F min-healthy=H { ... }`: the
//! block's steps on one batch of members at a time.
//!
//! - In a batch, each member runs its `before` steps, the body and its
//!   `after` steps in order; the members of a batch run at the same time.
//!   A `once` step runs in the first batch only, when every member of it
//!   has run the steps written before it, and before any runs those after.
//! - A member whose step fails stops there; the undo blocks of its
//!   finished steps run at once (last finished first), and it stays out of
//!   service (its `after` steps, which put it back, do not run).
//! - Before each batch: the members out of service (the batch, and those
//!   that failed) must leave `min-healthy` in service, or the rolling stops.
//! - After each batch: more failed members than `max-failures`, or a
//!   failed `once` step, stops the rolling; the run then fails as any run
//!   does (the undo blocks of the finished steps, last finished first).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cairn_lang::{RollPart, Rolling, Step};

use super::step::{Executor, Failure};
use crate::events::{Event, Mode, Phase};

/// How long opening the members' connections at the block's start may
/// take (ssh's own `ConnectTimeout` is shorter).
const CONNECT: Duration = Duration::from_secs(60);

/// A stretch of a batch: steps each member runs, or a `once` step.
enum Stretch<'r> {
    Each(Vec<&'r str>),
    Once(&'r str),
}

fn stretches(r: &Rolling) -> Vec<Stretch<'_>> {
    let mut out: Vec<Stretch<'_>> = Vec::new();
    for (id, part) in &r.written {
        match (part, out.last_mut()) {
            (RollPart::Once, _) => out.push(Stretch::Once(id)),
            (_, Some(Stretch::Each(ids))) => ids.push(id),
            _ => out.push(Stretch::Each(vec![id])),
        }
    }
    out
}

fn fail(message: String) -> Failure {
    Failure {
        message,
        refused: false,
    }
}

impl Executor<'_> {
    pub(super) fn run_rolling(&self, r: &Rolling, phase: Phase) -> Result<(), Failure> {
        // The members' connections open side by side while the first batch
        // runs: a member's first step then waits for its own handshake at
        // most, not for those of the members before it.
        let targets: BTreeSet<&str> = r
            .steps
            .iter()
            .filter_map(|s| s.target.as_ref().map(|t| t.value.as_str()))
            .collect();
        let deadline = Instant::now() + CONNECT;
        std::thread::scope(|s| {
            for t in targets {
                s.spawn(move || self.targets.connect(t, deadline));
            }
            self.roll(r, phase)
        })
    }

    fn roll(&self, r: &Rolling, phase: Phase) -> Result<(), Failure> {
        let group = &r.group.value;
        let n: usize = r.batches.iter().map(Vec::len).sum();
        let allowed = r.max_failures.value.floor_of(n);
        let min = r.min_healthy_of(n);
        let by_id: HashMap<&str, &Step> = r.steps.iter().map(|s| (s.id.as_str(), s)).collect();
        let plan = stretches(r);
        let mut out_of_service: Vec<String> = Vec::new();
        let mut result = Ok(());
        for (b, batch) in r.batches.iter().enumerate() {
            if crate::sys::stop_requested() {
                result = Err(fail("stopped by a signal".into()));
                break;
            }
            let left = n.saturating_sub(out_of_service.len() + batch.len());
            if left < min {
                result = Err(fail(format!(
                    "rolling over `{group}` stopped before batch {} ({}): it would leave {left} of {n} members in service, fewer than min-healthy {min} ({} failed: {})",
                    b + 1,
                    batch.join(", "),
                    out_of_service.len(),
                    out_of_service.join(", ")
                )));
                break;
            }
            self.sink.emit(&Event::Batch {
                group: group.clone(),
                index: b + 1,
                of: r.batches.len(),
                members: batch.clone(),
            });
            let failed = Mutex::new(Vec::<(String, Failure)>::new());
            let mut once_failed = None;
            for stretch in &plan {
                match stretch {
                    Stretch::Once(id) if b == 0 => {
                        if let Err(f) = self.run_step(by_id[id], phase) {
                            once_failed = Some(f);
                            break;
                        }
                    }
                    Stretch::Once(_) => {}
                    Stretch::Each(ids) => self.each_member(batch, ids, &by_id, phase, &failed),
                }
            }
            let failed = failed.into_inner().expect("batch");
            for (m, f) in &failed {
                self.sink.emit(&Event::Warning {
                    message: format!(
                        "member `{m}` of `{group}` failed and stays out of service: {}",
                        f.message
                    ),
                });
                self.undo_member(r, m);
                out_of_service.push(m.clone());
            }
            if let Some(f) = once_failed {
                result = Err(fail(format!("rolling over `{group}`: {}", f.message)));
                break;
            }
            if out_of_service.len() > allowed {
                let why: Vec<String> = failed.iter().map(|(_, f)| f.message.clone()).collect();
                result = Err(fail(format!(
                    "rolling over `{group}` stopped after batch {}: {} of {n} members failed ({}), more than max-failures {}: {}",
                    b + 1,
                    out_of_service.len(),
                    out_of_service.join(", "),
                    r.max_failures.value,
                    why.join("; ")
                )));
                break;
            }
        }
        for (id, part) in &r.written {
            if *part != RollPart::Once {
                self.aggregate(
                    id,
                    r.steps
                        .iter()
                        .filter(|s| s.member.is_some() && cairn_lang::written_id(&s.id) == id),
                );
            }
        }
        result
    }

    /// Steps `ids` on every member of `batch` that has not failed, the
    /// members at the same time, each member's in order.
    fn each_member(
        &self,
        batch: &[String],
        ids: &[&str],
        by_id: &HashMap<&str, &Step>,
        phase: Phase,
        failed: &Mutex<Vec<(String, Failure)>>,
    ) {
        let gone = |m: &str| failed.lock().expect("batch").iter().any(|(f, _)| f == m);
        std::thread::scope(|s| {
            for m in batch.iter().filter(|m| !gone(m)) {
                s.spawn(move || {
                    for id in ids {
                        let Some(step) = by_id.get(format!("{id}@{m}").as_str()) else {
                            continue;
                        };
                        if let Err(f) = self.run_step(step, phase) {
                            failed.lock().expect("batch").push((m.clone(), f));
                            return;
                        }
                    }
                });
            }
        });
    }

    /// The undo blocks of member `m`'s finished steps of this block, last
    /// first; what they undo is not undone again by the run's rollback.
    fn undo_member(&self, r: &Rolling, m: &str) {
        if self.opts.mode == Mode::DryRun {
            return;
        }
        let owners: Vec<&Step> = {
            let done = self.done.lock().expect("steps");
            r.steps
                .iter()
                .filter(|s| s.member.as_deref() == Some(m) && !s.undo.is_empty())
                .filter(|s| {
                    done.get(&s.id)
                        .is_some_and(|d| d.status == crate::events::StepStatus::Ok)
                })
                .rev()
                .collect()
        };
        let _ = self.undo_owners(owners);
    }
}
