//! A journal's text read back: its events, the run they tell of, and the
//! steps that finished. Pure (no files, no processes, serde only):
//! `history` and `resume` read journals through it, and the `journal` fuzz
//! target (fuzz/) includes this file.
//!
//! Whatever the text holds (a torn last line, a record edited by hand, a
//! field of the wrong type, garbage), reading returns: a line that is not
//! JSON is skipped, a field of the wrong type reads as absent.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    pub id: String,
    pub runbook: String,
    pub version: u64,
    pub sha256: String,
    pub mode: String,
    /// `success`, `failed`, `refused`, or `interrupted` when the journal has no end.
    pub result: String,
    /// `succeeded`, `failed`, `rollback-failed`, `refused`; `interrupted`
    /// when the journal has no end and its process is gone, `running` while
    /// it lives.
    pub verdict: String,
    /// The ended run this one retries (`cairn retry`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<String>,
    pub started: String,
    pub duration_ms: Option<f64>,
    pub error: Option<String>,
    /// Who started the run, and on which machine (the `postgres` state
    /// backend records them; a `.cairn/` journal is this machine's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip)]
    pub dir: PathBuf,
}

/// The events of a journal's text, one JSON object a line; blank lines and
/// lines that are not JSON (a record torn by a crash) are skipped.
pub fn events(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The run the events of `dir`'s journal tell of; `alive(pid, start_time)`
/// says whether the cairn that ran it last still runs. `None` without a
/// `run-started` event that names the run.
pub fn record(
    events: &[Value],
    dir: &Path,
    alive: impl FnOnce(u64, Option<u64>) -> bool,
) -> Option<RunRecord> {
    let start = events.iter().find(|e| e["event"] == "run-started")?;
    // A verdict is written once: the first end is the run's end.
    let end = events.iter().find(|e| e["event"] == "run-finished");
    // The cairn that ran it last (a resume runs it under the same id),
    // known by pid and start time.
    let last = events
        .iter()
        .rev()
        .find(|e| e["event"] == "run-resumed")
        .unwrap_or(start);
    let alive = last["pid"]
        .as_u64()
        .is_some_and(|p| alive(p, last["pid_start_time"].as_u64()));
    Some(RunRecord {
        id: start["run_id"].as_str()?.to_string(),
        runbook: start["runbook"].as_str().unwrap_or_default().to_string(),
        version: start["version"].as_u64().unwrap_or_default(),
        sha256: start["sha256"].as_str().unwrap_or_default().to_string(),
        mode: start["mode"].as_str().unwrap_or_default().to_string(),
        result: match end {
            Some(e) => e["result"].as_str().unwrap_or("unknown").to_string(),
            None if alive => "running".into(),
            None => "interrupted".into(),
        },
        verdict: match end {
            Some(e) => e["verdict"]
                .as_str()
                .unwrap_or(match e["result"].as_str() {
                    Some("success") => "succeeded",
                    Some(other) => other,
                    None => "unknown",
                })
                .to_string(),
            None if alive => "running".into(),
            None => "interrupted".into(),
        },
        retry_of: start["retry_of"].as_str().map(str::to_string),
        started: start["started"].as_str().unwrap_or_default().to_string(),
        duration_ms: end.and_then(|e| e["duration_ms"].as_f64()),
        error: end.and_then(|e| e["error"].as_str().map(str::to_string)),
        user: None,
        host: None,
        dir: dir.to_path_buf(),
    })
}

/// The params of the `run-started` event, as `-p` overrides.
pub fn start_params(start: &Value) -> Vec<(String, String)> {
    start["params"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), as_override(v))).collect())
        .unwrap_or_default()
}

/// A param's journaled value as a `-p` override: a list joined by commas.
pub fn as_override(v: &Value) -> String {
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

/// The failure the run's rollback started from, as journaled: the message,
/// and whether the run was refused.
pub fn rollback(events: &[Value]) -> Option<(String, bool)> {
    events
        .iter()
        .find(|e| e["event"] == "rollback-started")
        .map(|e| {
            (
                e["error"].as_str().unwrap_or("a step failed").to_string(),
                e["refused"] == true,
            )
        })
}

/// A `step-finished` event of the main list or of the undo, `on-failure`
/// and `finally` lists.
pub struct StepEnd<'a> {
    pub step: &'a str,
    /// Of the main list.
    pub main: bool,
    /// As journaled; the caller decodes it.
    pub status: &'a Value,
    pub outputs: &'a Value,
}

/// The steps that finished, in journal order.
pub fn step_ends(events: &[Value]) -> impl Iterator<Item = StepEnd<'_>> {
    events.iter().filter_map(|e| {
        let main = e["phase"] == "main";
        let rollback_or_finally =
            ["undo", "on-failure", "finally"].contains(&e["phase"].as_str().unwrap_or(""));
        if e["event"] != "step-finished" || !(main || rollback_or_finally) {
            return None;
        }
        Some(StepEnd {
            step: e["step"].as_str()?,
            main,
            status: &e["status"],
            outputs: &e["outputs"],
        })
    })
}
