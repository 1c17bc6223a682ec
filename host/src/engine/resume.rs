//! `cairn resume RUN-ID`: what an interrupted run already did, read back
//! from its journal.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::resolver::StepDone;
use crate::events::{Mode, StepStatus};

#[derive(Debug, Clone)]
pub struct Resume {
    pub run_id: String,
    pub dir: PathBuf,
    pub runbook: String,
    pub sha256: String,
    pub mode: Mode,
    /// The params the run started with, as `-p` overrides.
    pub params: Vec<(String, String)>,
    /// Main-list steps that finished (ok, skipped, failed but continued),
    /// with their recorded outputs.
    pub done: HashMap<String, StepDone>,
    /// `--kill-leftovers`: end the run's processes that still run, instead
    /// of refusing.
    pub kill_leftovers: bool,
}

pub(crate) fn as_override(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// Reads a run's journal; refuses a run that ended (its verdict stands) or
/// is still going: only an interrupted run is continued.
pub fn load(dir: &Path) -> Result<Resume, String> {
    let record = super::history::read(dir)
        .ok_or_else(|| format!("`{}` holds no readable journal", dir.display()))?;
    super::retry::only_interrupted(&record)?;
    let events = super::history::events(dir).map_err(|e| e.to_string())?;
    let start = events
        .iter()
        .find(|e| e["event"] == "run-started")
        .ok_or("the journal has no run-started event")?;
    let mode: Mode = serde_json::from_value(start["mode"].clone()).map_err(|e| e.to_string())?;
    if mode == Mode::DryRun {
        return Err(format!(
            "run `{}` was a dry-run; start a new one instead",
            record.id
        ));
    }
    let params = start["params"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), as_override(v))).collect())
        .unwrap_or_default();
    let mut done = HashMap::new();
    for e in &events {
        if e["event"] != "step-finished" || e["phase"] != "main" {
            continue;
        }
        let Some(step) = e["step"].as_str() else {
            continue;
        };
        let Ok(status) = serde_json::from_value::<StepStatus>(e["status"].clone()) else {
            continue;
        };
        if status == StepStatus::Failed {
            done.remove(step);
            continue;
        }
        done.insert(
            step.to_string(),
            StepDone {
                status,
                outputs: e["outputs"].clone(),
                planned: false,
            },
        );
    }
    Ok(Resume {
        run_id: record.id,
        dir: dir.to_path_buf(),
        runbook: record.runbook,
        sha256: record.sha256,
        mode,
        params,
        done,
        kill_leftovers: false,
    })
}
