//! `cairn retry RUN-ID`: a run that ended keeps its verdict; trying again is
//! a new run, with the same params, that names the run it retries.

use std::path::Path;

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

/// Reads the run to retry; refuses one that succeeded, is still going, or
/// was interrupted (that one is resumed, so finished steps do not run twice).
pub fn load(dir: &Path) -> Result<Retry, String> {
    let record = super::history::read(dir)
        .ok_or_else(|| format!("`{}` holds no readable journal", dir.display()))?;
    let events = super::history::events(dir).map_err(|e| e.to_string())?;
    load_from(record, events)
}

/// [`load`] from the project's state backend.
pub fn load_in(
    store: &dyn super::state::StateStore,
    run: &super::state::RunRef,
) -> Result<Retry, String> {
    let record = store
        .read(run)
        .ok_or_else(|| format!("run `{}` has no readable journal", run.id))?;
    let events = store.events(run).map_err(|e| e.to_string())?;
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
