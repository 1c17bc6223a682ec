//! Reading runs back from the `postgres` backend: every operator's runs of
//! the project, each told by the same journal reader as the file journal.
//! A run without an end is `running` while the session holding the
//! project lock names it (from any machine), else `interrupted`.

use serde_json::Value;

use super::postgres::{Pg, sql};
use super::{HostEvent, RunRef};
use crate::engine::history::RunRecord;
use crate::engine::journal_read;
use crate::error::{Error, Result};

fn db(e: postgres::Error) -> Error {
    Error::Other(anyhow::anyhow!("state database: {}", sql(e)))
}

/// The project's runs (or the one named), oldest first.
pub(super) fn list(pg: &Pg, only: Option<&str>) -> Result<Vec<RunRecord>> {
    let (project, only) = (pg.project.clone(), only.map(str::to_string));
    let rows = pg
        .conn
        .call(move |c| {
            c.query(
                "SELECT r.run_id, r.\"user\", r.host, j.record::text
                   FROM cairn_runs r
                   JOIN cairn_journal j ON j.run_id = r.run_id
                    AND j.record->>'event' IN ('run-started', 'run-resumed', 'run-finished')
                  WHERE r.project = $1 AND ($2::text IS NULL OR r.run_id = $2)
                  ORDER BY r.run_id, j.seq",
                &[&project, &only],
            )
        })?
        .map_err(db)?;
    let holder = pg.holder()?.map(|h| h.run_id);
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let id: String = rows[i].get(0);
        let (user, host): (String, String) = (rows[i].get(1), rows[i].get(2));
        let mut events: Vec<Value> = Vec::new();
        while i < rows.len() && rows[i].get::<_, String>(0) == id {
            events.extend(journal_read::events(rows[i].get::<_, &str>(3)));
            i += 1;
        }
        let alive = |_, _| holder.as_deref() == Some(id.as_str());
        if let Some(mut r) = journal_read::record(&events, &pg.runs_dir.join(&id), alive) {
            r.user = Some(user);
            r.host = Some(host);
            out.push(r);
        }
    }
    Ok(out)
}

/// A run by id, or by a unique prefix of it.
pub(super) fn find(pg: &Pg, id: &str) -> Result<RunRef> {
    let (project, prefix) = (pg.project.clone(), id.to_string());
    let ids: Vec<String> = pg
        .conn
        .call(move |c| {
            c.query(
                "SELECT run_id FROM cairn_runs WHERE project = $1 AND (run_id = $2 OR starts_with(run_id, $2))
                 ORDER BY run_id = $2 DESC, run_id LIMIT 3",
                &[&project, &prefix],
            )
        })?
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let found = match ids.as_slice() {
        [one] => one.clone(),
        [first, ..] if first == id => first.clone(),
        [] => return Err(Error::Usage(format!("no run `{id}` (see `cairn history`)"))),
        more => {
            return Err(Error::Usage(format!(
                "`{id}` matches {}{} runs; give more of the id",
                more.len(),
                if more.len() >= 3 { " or more" } else { "" }
            )));
        }
    };
    Ok(RunRef {
        dir: pg.runs_dir.join(&found),
        id: found,
    })
}

/// A run's records in order, each with the machine that wrote it (`None`
/// for this one).
pub(super) fn events(pg: &Pg, run_id: &str) -> Result<Vec<HostEvent>> {
    let id = run_id.to_string();
    let rows = pg
        .conn
        .call(move |c| {
            c.query(
                "SELECT record::text, host FROM cairn_journal WHERE run_id = $1 ORDER BY seq",
                &[&id],
            )
        })?
        .map_err(db)?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let event: Value = serde_json::from_str(r.get::<_, &str>(0)).ok()?;
            let host: String = r.get(1);
            Some(HostEvent {
                host: (host != pg.host).then_some(host),
                event,
            })
        })
        .collect())
}
