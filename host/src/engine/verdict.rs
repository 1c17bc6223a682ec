//! A run's verdict, from how its lists of steps ended.

use super::lists::Outcome;
use crate::events::{RunResult, Verdict};

/// A run's end, as journaled.
pub(super) struct End {
    pub result: RunResult,
    pub verdict: Verdict,
    pub error: Option<String>,
    pub not_undone: Vec<String>,
    pub left_changed: Vec<String>,
}

/// The verdict of what the lists did. A failed rollback outranks every
/// other failure: it leaves state that someone must look at.
pub(super) fn of(o: &Outcome) -> End {
    if o.interrupted {
        return End {
            result: RunResult::Failed,
            verdict: Verdict::Interrupted,
            error: o.failure.as_ref().map(|f| f.message.clone()),
            not_undone: Vec::new(),
            left_changed: Vec::new(),
        };
    }
    if let Some(rb) = &o.rollback {
        let main = o
            .failure
            .as_ref()
            .map_or("a step failed", |f| f.message.as_str());
        let list = |ids: &[String]| {
            ids.iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        if !rb.not_undone.is_empty() {
            let mut undo = format!(
                "step {} not undone (undo step {} failed",
                list(&rb.not_undone),
                list(&rb.undo_failed)
            );
            if !rb.undo_not_run.is_empty() {
                undo.push_str(&format!(", {} did not run", list(&rb.undo_not_run)));
            }
            parts.push(undo + ")");
        }
        if !rb.failed.is_empty() {
            parts.push(format!("on-failure step {} failed", list(&rb.failed)));
        }
        if !rb.not_run.is_empty() {
            parts.push(format!("{} did not run", list(&rb.not_run)));
        }
        let left = if rb.changed.is_empty() {
            "no finished main step is left changed".to_string()
        } else {
            format!(
                "what main step {} changed is left as it is: check it and undo it by hand",
                list(&rb.changed)
            )
        };
        return End {
            result: RunResult::Failed,
            verdict: Verdict::RollbackFailed,
            error: Some(format!(
                "{main}; rollback failed: {} ({}); {left}",
                parts.join(", "),
                rb.message
            )),
            not_undone: (rb.undo_failed.iter().chain(&rb.undo_not_run))
                .chain(rb.failed.iter().chain(&rb.not_run))
                .cloned()
                .collect(),
            left_changed: rb.changed.clone(),
        };
    }
    let (result, verdict) = match &o.failure {
        None => (RunResult::Success, Verdict::Succeeded),
        Some(f) if f.refused => (RunResult::Refused, Verdict::Refused),
        Some(_) => (RunResult::Failed, Verdict::Failed),
    };
    End {
        result,
        verdict,
        error: o.failure.as_ref().map(|f| f.message.clone()),
        not_undone: Vec::new(),
        left_changed: Vec::new(),
    }
}
