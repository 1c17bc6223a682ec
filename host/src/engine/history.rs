//! Past runs, read back from their journals.

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
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Every run under `runs_dir`, oldest first.
pub fn list(runs_dir: &Path) -> Vec<RunRecord> {
    let Ok(rd) = std::fs::read_dir(runs_dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter().filter_map(|d| read(d)).collect()
}

/// The events of one run's journal.
pub fn events(run_dir: &Path) -> std::io::Result<Vec<Value>> {
    let text = std::fs::read_to_string(run_dir.join("journal.jsonl"))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

pub fn read(run_dir: &Path) -> Option<RunRecord> {
    let events = events(run_dir).ok()?;
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
    let alive = last["pid"].as_u64().is_some_and(|p| {
        crate::children::stat::still_running(p as u32, last["pid_start_time"].as_u64())
    });
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
        dir: run_dir.to_path_buf(),
    })
}

/// Finds a run by id or by a unique prefix of it.
pub fn find(runs_dir: &Path, id: &str) -> Result<PathBuf, String> {
    let exact = runs_dir.join(id);
    if exact.join("journal.jsonl").exists() {
        return Ok(exact);
    }
    let matches: Vec<PathBuf> = list(runs_dir)
        .into_iter()
        .filter(|r| r.id.starts_with(id))
        .map(|r| r.dir)
        .collect();
    match matches.len() {
        1 => Ok(matches.into_iter().next().expect("one")),
        0 => Err(format!("no run `{id}` (see `cairn history`)")),
        n => Err(format!("`{id}` matches {n} runs; give more of the id")),
    }
}
