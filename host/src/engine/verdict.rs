//! A run's verdict, from how its lists of steps ended.

use super::step::Outcome;
use crate::events::{RunResult, Verdict};

/// A run's end, as journaled.
pub(super) struct End {
    pub result: RunResult,
    pub verdict: Verdict,
    pub error: Option<String>,
    pub not_undone: Vec<String>,
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
        if !rb.failed.is_empty() {
            parts.push(format!("on-failure step {} failed", list(&rb.failed)));
        }
        if !rb.not_run.is_empty() {
            parts.push(format!("{} did not run", list(&rb.not_run)));
        }
        let left = if rb.changed.is_empty() {
            "no main step had finished".to_string()
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
            not_undone: rb.failed.iter().chain(&rb.not_run).cloned().collect(),
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
    }
}
