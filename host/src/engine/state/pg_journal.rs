//! A run's journal as rows of `cairn_journal`: the same records as the file
//! journal (`journal::line`, redacted), in the same order, with the same
//! sync points (`journal::sync_point`). Each record is committed before
//! the run goes on, so a cairn killed at any point loses none it wrote;
//! the session commits without waiting for the disk (`synchronous_commit`
//! off), except for the records a resume trusts, which wait for it where the
//! file journal calls `fdatasync`. A synced commit also makes every earlier
//! one durable: the server writes its log in order.
//!
//! A record that cannot be written means the connection, and with it the
//! project lock, may be lost: the run is asked to stop after its current
//! step, as on SIGTERM, and can be resumed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::NewRun;
use super::postgres::{Conn, Pg, sql};
use crate::engine::journal::{Writes, line, sync_point};
use crate::error::{Error, Result};
use crate::events::{Event, EventSink};
use crate::redact::Redactor;

pub(super) struct PgJournal {
    conn: Conn,
    run_id: String,
    user: String,
    host: String,
    redactor: Arc<Redactor>,
    wrote: Writes,
    /// The next record's `seq`, held while it is written: records are
    /// committed in the order of their `seq`, as lines are appended.
    next_seq: Mutex<i64>,
    /// A write failed: said once.
    failed: AtomicBool,
}

/// Records a new run (its id unique among every machine's runs: one taken
/// by another run is replaced by a new one) and opens its journal after
/// the records it has.
pub(super) fn open(
    pg: &Pg,
    proposed: &str,
    new: Option<&NewRun>,
    redactor: Arc<Redactor>,
) -> Result<(String, Arc<dyn EventSink>)> {
    let mut run_id = proposed.to_string();
    if let Some(n) = new {
        let mut tries = 0;
        loop {
            let (id, project, user, host) = (
                run_id.clone(),
                pg.project.clone(),
                pg.user.clone(),
                pg.host.clone(),
            );
            let (runbook, version, mode, started) = (
                n.runbook.clone(),
                n.version as i64,
                n.mode.clone(),
                n.started.clone(),
            );
            let inserted = pg
                .conn
                .call(move |c| {
                    c.execute(
                        "INSERT INTO cairn_runs (run_id, project, runbook, version, mode, \"user\", host, pid, started)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (run_id) DO NOTHING",
                        &[&id, &project, &runbook, &version, &mode, &user, &host, &(std::process::id() as i32), &started],
                    )
                })?
                .map_err(|e| Error::Other(anyhow::anyhow!("state database: cannot record the run: {}", sql(e))))?;
            if inserted == 1 {
                break;
            }
            tries += 1;
            if tries >= 20 {
                return Err(Error::Other(anyhow::anyhow!(
                    "state database: no free run id after {tries} tries"
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
            run_id = crate::engine::new_run_id();
        }
        // The lock row names the run by its final id.
        let (id, project) = (run_id.clone(), pg.project.clone());
        pg.conn
            .call(move |c| {
                c.execute(
                    "UPDATE cairn_lock SET run_id = $1 WHERE project = $2 AND backend_pid = pg_backend_pid()",
                    &[&id, &project],
                )
            })?
            .map_err(|e| Error::Other(anyhow::anyhow!("state database: {}", sql(e))))?;
    }
    let id = run_id.clone();
    let last: i64 = pg
        .conn
        .call(move |c| {
            c.query_one(
                "SELECT coalesce(max(seq), 0) FROM cairn_journal WHERE run_id = $1",
                &[&id],
            )
            .map(|r| r.get(0))
        })?
        .map_err(|e| Error::Other(anyhow::anyhow!("state database: {}", sql(e))))?;
    let journal = PgJournal {
        conn: pg.conn.clone(),
        run_id: run_id.clone(),
        user: pg.user.clone(),
        host: pg.host.clone(),
        redactor,
        wrote: Writes::default(),
        next_seq: Mutex::new(last + 1),
        failed: AtomicBool::new(false),
    };
    Ok((run_id, Arc::new(journal)))
}

impl EventSink for PgJournal {
    fn emit(&self, event: &Event) {
        let Some(sync) = sync_point(event, &self.wrote) else {
            return;
        };
        let text = line(event, &self.redactor);
        let end = matches!(event, Event::RunFinished { .. }).then(|| {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            (
                v["result"].as_str().unwrap_or_default().to_string(),
                v["verdict"].as_str().unwrap_or_default().to_string(),
            )
        });
        let mut next = self.next_seq.lock().unwrap_or_else(|e| e.into_inner());
        let seq = *next;
        *next += 1;
        let (run_id, user, host) = (self.run_id.clone(), self.user.clone(), self.host.clone());
        let done = self.conn.call(move |c| -> std::result::Result<(), postgres::Error> {
            let mut tx = c.transaction()?;
            if sync {
                tx.batch_execute("SET LOCAL synchronous_commit TO on")?;
            }
            tx.execute(
                "INSERT INTO cairn_journal (run_id, seq, record, synced, \"user\", host) VALUES ($1, $2, $3::text::jsonb, $4, $5, $6)",
                &[&run_id, &seq, &text.trim_end(), &sync, &user, &host],
            )?;
            if let Some((result, verdict)) = end {
                tx.execute(
                    "UPDATE cairn_runs SET result = $2, verdict = $3, finished = clock_timestamp() WHERE run_id = $1",
                    &[&run_id, &result, &verdict],
                )?;
            }
            tx.commit()
        });
        drop(next);
        let error = match done {
            Ok(Ok(())) => return,
            Ok(Err(e)) => sql(e),
            Err(e) => e.to_string(),
        };
        if !self.failed.swap(true, Ordering::SeqCst) {
            tracing::error!(
                "cannot write the journal of run `{}` to the state database: {error}; the run stops after its current step (resume it with `cairn resume {}`)",
                self.run_id,
                self.run_id
            );
            crate::sys::request_stop();
        }
    }
}
