//! The `local` backend: `.cairn/` on this machine. The lock is an `flock`
//! on `.cairn/lock` ([`super::super::lock`]), each run a directory
//! `.cairn/runs/RUN-ID/` with its `journal.jsonl` ([`super::super::journal`]).

use std::path::PathBuf;
use std::sync::Arc;

use super::{HeldLock, HostEvent, NewRun, RunRef, StateStore};
use crate::engine::history::{self, RunRecord};
use crate::engine::journal::Journal;
use crate::engine::lock::{self, Holder, LockError, RunLock};
use crate::error::{Error, Result};
use crate::events::EventSink;
use crate::project::Workspace;
use crate::redact::Redactor;

pub struct Local {
    state_dir: PathBuf,
    runs_dir: PathBuf,
}

impl Local {
    pub fn new(ws: &Workspace) -> Self {
        Self {
            state_dir: ws.state_dir.clone(),
            runs_dir: ws.runs_dir(),
        }
    }
}

impl HeldLock for RunLock {}

impl StateStore for Local {
    fn lock(&self, me: &Holder, warn: &dyn Fn(String)) -> Result<Box<dyn HeldLock>> {
        let stale = |h: &Holder| {
            warn(format!(
                "took over a stale lock of run `{}` (pid {} is gone)",
                h.run_id, h.pid
            ))
        };
        match lock::RunLock::acquire(&self.state_dir, me, stale) {
            Ok(l) => Ok(Box::new(l)),
            Err(LockError::Held(Some(h))) => Err(Error::Refused(format!(
                "another run holds the project lock: run `{}` of `{}` (pid {}, started {})",
                h.run_id, h.runbook, h.pid, h.started
            ))),
            Err(LockError::Held(None)) => Err(Error::Refused(
                "another run holds the project lock (it has not written its details yet)".into(),
            )),
            Err(LockError::Io(e)) => {
                // `.cairn` a file, a directory cairn may not write: say which.
                let at = self.state_dir.join("lock");
                let why = match std::fs::metadata(&self.state_dir) {
                    Ok(m) if !m.is_dir() => {
                        format!("`{}` is not a directory", self.state_dir.display())
                    }
                    _ => e.to_string(),
                };
                Err(Error::Other(anyhow::anyhow!(
                    "cannot take the project lock `{}`: {why}",
                    at.display()
                )))
            }
        }
    }

    fn journal(
        &self,
        proposed: &str,
        _new: Option<&NewRun>,
        redactor: Arc<Redactor>,
    ) -> Result<(String, Arc<dyn EventSink>)> {
        // Ids are unique on one machine: the lock is held, and the id
        // names the start time to the millisecond.
        let dir = self.runs_dir.join(proposed);
        let journal = Journal::create(&dir, redactor)
            .map_err(|e| Error::Other(anyhow::anyhow!("cannot create {}: {e}", dir.display())))?;
        Ok((proposed.to_string(), Arc::new(journal)))
    }

    fn list(&self) -> Result<Vec<RunRecord>> {
        Ok(history::list(&self.runs_dir))
    }

    fn find(&self, id: &str) -> Result<RunRef> {
        let dir = history::find(&self.runs_dir, id).map_err(Error::Usage)?;
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(RunRef { id, dir })
    }

    fn events_by_host(&self, run: &RunRef) -> Result<Vec<HostEvent>> {
        let events = history::events(&run.dir).map_err(|e| Error::Other(e.into()))?;
        Ok(events
            .into_iter()
            .map(|event| HostEvent { host: None, event })
            .collect())
    }

    fn read(&self, run: &RunRef) -> Option<RunRecord> {
        history::read(&run.dir)
    }
}
