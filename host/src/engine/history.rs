//! Past runs, read back from their journals.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::journal_read;

pub use super::journal_read::RunRecord;

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

/// The events of one run's journal (see [`journal_read::events`]).
pub fn events(run_dir: &Path) -> std::io::Result<Vec<Value>> {
    let text = std::fs::read_to_string(run_dir.join("journal.jsonl"))?;
    Ok(journal_read::events(&text))
}

pub fn read(run_dir: &Path) -> Option<RunRecord> {
    let events = events(run_dir).ok()?;
    journal_read::record(&events, run_dir, |pid, start_time| {
        crate::children::stat::still_running(pid as u32, start_time)
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
