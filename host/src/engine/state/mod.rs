//! Where a project's runs, journals and lock live (`state` in `cairn.kdl`):
//! `.cairn/` on this machine ([`local`], the default), or a PostgreSQL
//! database shared by every operator ([`postgres`]). The engine and the
//! CLI see one interface, [`StateStore`].

pub mod elsewhere;
pub mod local;
mod pg_journal;
mod pg_read;
pub mod postgres;
mod schema;

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use super::history::RunRecord;
use super::lock::Holder;
use crate::error::{Error, Result};
use crate::events::EventSink;
use crate::project::Workspace;
use crate::redact::Redactor;

/// A run found by id: its id, and the directory of its local files (the
/// journal itself with the `local` backend; a rehearsal's report with any).
#[derive(Debug, Clone)]
pub struct RunRef {
    pub id: String,
    pub dir: PathBuf,
}

/// A journal record and the machine that wrote it (`None`: this one).
pub struct HostEvent {
    pub host: Option<String>,
    pub event: Value,
}

/// The project lock while a run holds it; released on drop.
pub trait HeldLock: Send {}

pub trait StateStore: Send + Sync {
    /// Takes the project lock for the run `me`, or refuses naming its
    /// holder. `warn` is told what the caller should know (a stale lock).
    fn lock(&self, me: &Holder, warn: &dyn Fn(String)) -> Result<Box<dyn HeldLock>>;

    /// Opens the journal of a run, with the lock held: a new run (`new`
    /// true) is recorded first; its id is `proposed` unless another run
    /// took it, then a new one. Returns the id and the journal.
    fn journal(
        &self,
        proposed: &str,
        new: Option<&NewRun>,
        redactor: Arc<Redactor>,
    ) -> Result<(String, Arc<dyn EventSink>)>;

    /// Every run of the project, oldest first.
    fn list(&self) -> Result<Vec<RunRecord>>;

    /// A run by id or by a unique prefix of it (`Error::Usage` otherwise).
    fn find(&self, id: &str) -> Result<RunRef>;

    /// The journal records of a run, in the order they were written, each
    /// with the machine that wrote it.
    fn events_by_host(&self, run: &RunRef) -> Result<Vec<HostEvent>>;

    /// The run a journal tells of (see `journal_read::record`).
    fn read(&self, run: &RunRef) -> Option<RunRecord>;

    /// The records of a run.
    fn events(&self, run: &RunRef) -> Result<Vec<Value>> {
        Ok(self
            .events_by_host(run)?
            .into_iter()
            .map(|e| e.event)
            .collect())
    }

    /// The run and its records, as `cairn resume` and `cairn retry` read
    /// them; why not, in words for the operator.
    fn recorded(&self, run: &RunRef) -> std::result::Result<(RunRecord, Vec<Value>), String> {
        let record = self
            .read(run)
            .ok_or_else(|| format!("run `{}` has no readable journal", run.id))?;
        let events = self.events(run).map_err(|e| e.to_string())?;
        Ok((record, events))
    }
}

/// What the record of a new run holds besides its journal.
pub struct NewRun {
    pub runbook: String,
    pub version: u64,
    pub mode: String,
    pub started: String,
}

/// Opens the project's state backend (connects, creates or migrates the
/// schema for `postgres`).
/// The project's state backend (`state` in `cairn.kdl`), opened (and, for
/// a database, connected and migrated) the first time a command asks for
/// it, then kept in the workspace.
pub fn of(ws: &Workspace) -> Result<&dyn StateStore> {
    struct Kept(Box<dyn StateStore>);
    let kept = match ws.state.get() {
        Some(k) => k,
        None => {
            let opened = open(ws)?;
            ws.state.get_or_init(|| Box::new(Kept(opened)))
        }
    };
    Ok(kept
        .downcast_ref::<Kept>()
        .expect("the workspace keeps only the state backend")
        .0
        .as_ref())
}

fn open(ws: &Workspace) -> Result<Box<dyn StateStore>> {
    match &ws.project.state {
        cairn_lang::StateBackend::Local => Ok(Box::new(local::Local::new(ws))),
        cairn_lang::StateBackend::Postgres {
            url,
            password_secret,
            ..
        } => {
            let password = match password_secret {
                None => None,
                Some(name) => match ws.secrets.get(name) {
                    Ok(Some(v)) => Some(v),
                    Ok(None) => {
                        return Err(Error::Usage(format!(
                            "cairn.kdl: `state {{ postgres password-secret={name} }}` names secret `{name}`, which no source of the project's `secrets` holds"
                        )));
                    }
                    Err(e) => {
                        return Err(Error::Usage(format!(
                            "cairn.kdl: cannot read secret `{name}` for `state {{ postgres }}`: {e}"
                        )));
                    }
                },
            };
            Ok(Box::new(postgres::Pg::connect(ws, url, password)?))
        }
    }
}

/// This machine's name, as runs record it.
pub fn this_host() -> String {
    crate::sys::hostname().unwrap_or_else(|| "unknown".into())
}

/// The operator, as runs record it: the login name, else the uid.
pub fn this_user() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| format!("uid {}", crate::sys::uid()))
}
