//! `cairn retry RUN-ID`: a run that ended keeps its verdict; trying again is
//! a new run, with the same params, that names the run it retries.

use super::history::RunRecord;
use crate::events::{Mode, Verdict};

/// What a retry starts from: the ended run's runbook, mode and params.
#[derive(Debug, Clone)]
pub struct Retry {
    pub of: String,
    pub runbook: String,
    pub mode: Mode,
    /// The params the run started with, as `-p` overrides.
    pub params: Vec<(String, String)>,
}

/// `resume` continues an interrupted run only: a run that ended has a
/// verdict, and that verdict is never rewritten.
pub fn only_interrupted(r: &RunRecord) -> Result<(), String> {
    let id = &r.id;
    match r.verdict.as_str() {
        "interrupted" => Ok(()),
        "running" => Err(format!("run `{id}` is still running")),
        "succeeded" => Err(format!("run `{id}` succeeded; there is nothing to resume")),
        v => Err(format!(
            "run `{id}` ended: {}; a run that ended is not resumed, its verdict stands. \
             To try again as a new run that names this one: `cairn retry {id}`",
            Verdict::label_of(v)
        )),
    }
}

/// Reads the run to retry from the project's state backend; refuses one
/// that succeeded, is still going, or was interrupted (that one is resumed,
/// so finished steps do not run twice).
pub fn load_in(
    store: &dyn super::state::StateStore,
    run: &super::state::RunRef,
) -> Result<Retry, String> {
    let (record, events) = store.recorded(run)?;
    load_from(record, events)
}

fn load_from(record: RunRecord, events: Vec<serde_json::Value>) -> Result<Retry, String> {
    let id = &record.id;
    match record.verdict.as_str() {
        "interrupted" => {
            return Err(format!(
                "run `{id}` was interrupted, not ended: continue it with `cairn resume {id}` \
                 (a retry would run its finished steps again)"
            ));
        }
        "running" => return Err(format!("run `{id}` is still running")),
        "succeeded" => {
            return Err(format!(
                "run `{id}` succeeded; there is nothing to retry (start a new run with `cairn run {}`)",
                record.runbook
            ));
        }
        _ => {}
    }
    let super::resume::Started { mode, params, .. } = super::resume::started_from(events)?;
    Ok(Retry {
        of: record.id,
        runbook: record.runbook,
        mode,
        params,
    })
}
