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
    /// with their recorded outputs; and undo, `on-failure` and `finally`
    /// steps that finished, failed ones included (they are not run again).
    pub done: HashMap<String, StepDone>,
    /// The run had started its rollback (a main step failed): the failure,
    /// as journaled. The resumed run continues the rollback.
    pub rollback: Option<super::Failure>,
    /// `--kill-leftovers`: end the run's processes that still run, instead
    /// of refusing.
    pub kill_leftovers: bool,
    /// `--ended-elsewhere`: the commands another machine started for the
    /// run and never recorded as ended are taken as ended (they cannot be
    /// checked from here).
    pub ended_elsewhere: bool,
}

impl Resume {
    /// The params to continue with: the journaled ones, with `given` in
    /// place of those the journal holds masked (a secret's value, a
    /// password in a URL). A masked param not given again is refused: the
    /// run would go on with `********` for a password.
    pub fn params_with(&self, given: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
        if let Some((name, _)) = given
            .iter()
            .find(|(k, _)| !self.params.iter().any(|(p, _)| p == k))
        {
            return Err(format!(
                "run `{}` has no param `{name}`; a resume continues with the params the run started with",
                self.run_id
            ));
        }
        let mut out = Vec::with_capacity(self.params.len());
        let mut masked = Vec::new();
        for (k, v) in &self.params {
            match given.iter().rev().find(|(g, _)| g == k) {
                Some((_, value)) => out.push((k.clone(), value.clone())),
                None if v.contains(crate::redact::MASK) => masked.push(format!("`{k}`")),
                None => out.push((k.clone(), v.clone())),
            }
        }
        if !masked.is_empty() {
            return Err(format!(
                "the journal of run `{}` holds param {} masked (a secret or a password); give it again with `cairn resume {} -p NAME=VALUE`",
                self.run_id,
                masked.join(", "),
                self.run_id
            ));
        }
        Ok(out)
    }
}

pub(crate) use super::journal_read::as_override;

/// The mode and params a run's run-started record holds (params as `-p`
/// overrides), with its events: what resume and retry start from.
pub(crate) fn started_from(events: Vec<Value>) -> Result<Started, String> {
    let start = events
        .iter()
        .find(|e| e["event"] == "run-started")
        .ok_or("the journal has no run-started event")?;
    let mode: Mode = serde_json::from_value(start["mode"].clone()).map_err(|e| e.to_string())?;
    let params = super::journal_read::start_params(start);
    Ok(Started {
        events,
        mode,
        params,
    })
}

/// What [`started_from`] reads.
pub(crate) struct Started {
    pub events: Vec<Value>,
    pub mode: Mode,
    pub params: Vec<(String, String)>,
}

/// Reads a run's journal; refuses a run that ended (its verdict stands) or
/// is still going: only an interrupted run is continued.
pub fn load(dir: &Path) -> Result<Resume, String> {
    let record = super::history::read(dir)
        .ok_or_else(|| format!("`{}` holds no readable journal", dir.display()))?;
    let events = super::history::events(dir).map_err(|e| e.to_string())?;
    load_from(record, events, dir)
}

/// [`load`] from the project's state backend.
pub fn load_in(
    store: &dyn super::state::StateStore,
    run: &super::state::RunRef,
) -> Result<Resume, String> {
    let (record, events) = store.recorded(run)?;
    load_from(record, events, &run.dir)
}

fn load_from(
    record: super::history::RunRecord,
    events: Vec<Value>,
    dir: &Path,
) -> Result<Resume, String> {
    super::retry::only_interrupted(&record)?;
    let Started {
        events,
        mode,
        params,
    } = started_from(events)?;
    if mode == Mode::DryRun {
        return Err(format!(
            "run `{}` was a dry-run; start a new one instead",
            record.id
        ));
    }
    let mut done = HashMap::new();
    let rollback = super::journal_read::rollback(&events)
        .map(|(message, refused)| super::Failure { message, refused });
    for end in super::journal_read::step_ends(&events) {
        let Ok(status) = serde_json::from_value::<StepStatus>(end.status.clone()) else {
            continue;
        };
        if end.main && status == StepStatus::Failed {
            done.remove(end.step);
            continue;
        }
        done.insert(
            end.step.to_string(),
            StepDone {
                status,
                outputs: end.outputs.clone(),
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
        rollback,
        kill_leftovers: false,
        ended_elsewhere: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resume(params: &[(&str, &str)]) -> Resume {
        Resume {
            run_id: "r1".into(),
            dir: PathBuf::new(),
            runbook: "backup".into(),
            sha256: String::new(),
            mode: Mode::Apply,
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            done: HashMap::new(),
            rollback: None,
            kill_leftovers: false,
            ended_elsewhere: false,
        }
    }

    #[test]
    fn a_masked_param_must_be_given_again() {
        let r = resume(&[("url", "postgres://u:********@h/db"), ("name", "site")]);
        let err = r.params_with(&[]).unwrap_err();
        assert!(err.contains("param `url` masked"), "{err}");
        let given = [("url".to_string(), "postgres://u:pw@h/db".to_string())];
        assert_eq!(
            r.params_with(&given).unwrap(),
            [
                ("url".to_string(), "postgres://u:pw@h/db".to_string()),
                ("name".to_string(), "site".to_string())
            ]
        );
        let unknown = [("other".to_string(), "x".to_string())];
        assert!(
            r.params_with(&unknown)
                .unwrap_err()
                .contains("no param `other`")
        );
    }
}
