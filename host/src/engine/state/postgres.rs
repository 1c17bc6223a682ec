//! The `postgres` backend: runs, journals and the project lock in a
//! database every operator reaches.
//!
//! One connection per cairn process, owned by a thread of its own (the
//! client blocks on a runtime of its own, which must not run inside the
//! engine's): the lock is a session advisory lock on it, held until the
//! run ends or the process dies, when the server ends the session and the
//! lock with it. The journal is written on the same connection, so a record
//! that was written proves the lock was still held.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;

use postgres::{Client, Config, NoTls};

use super::schema::{self, LOCK_CLASS};
use super::{HeldLock, HostEvent, NewRun, RunRef, StateStore, this_host, this_user};
use crate::engine::history::RunRecord;
use crate::engine::lock::Holder;
use crate::error::{Error, Result};
use crate::events::EventSink;
use crate::project::Workspace;
use crate::redact::Redactor;

use super::{pg_journal, pg_read};

type Job = Box<dyn FnOnce(&mut Client) + Send>;

/// The connection, on its own thread; dropped with the last handle.
#[derive(Clone)]
pub(super) struct Conn {
    jobs: mpsc::Sender<Job>,
}

impl Conn {
    fn open(config: Config, shown: String) -> Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, connected) = mpsc::channel();
        std::thread::Builder::new()
            .name("cairn-state".into())
            .spawn(move || {
                let mut client = match config.connect(NoTls) {
                    Ok(c) => {
                        let _ = ready.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready.send(Err(sql(e)));
                        return;
                    }
                };
                for job in queue {
                    job(&mut client);
                }
            })
            .map_err(|e| Error::Other(e.into()))?;
        match connected.recv() {
            Ok(Ok(())) => Ok(Self { jobs }),
            // Nothing ran: without its state a run cannot lock or journal.
            Ok(Err(e)) => Err(Error::Refused(format!(
                "cannot connect to the state database {shown} (cairn.kdl `state {{ postgres }}`): {e}"
            ))),
            Err(_) => Err(Error::Refused(format!(
                "cannot connect to the state database {shown}"
            ))),
        }
    }

    /// Runs `f` on the connection and returns what it returns.
    pub(super) fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> R + Send + 'static,
    ) -> Result<R> {
        let (tx, rx) = mpsc::channel();
        self.jobs
            .send(Box::new(move |c| {
                let _ = tx.send(f(c));
            }))
            .map_err(|_| Error::Other(anyhow::anyhow!("the state database connection is gone")))?;
        rx.recv()
            .map_err(|_| Error::Other(anyhow::anyhow!("the state database connection is gone")))
    }
}

pub struct Pg {
    pub(super) conn: Conn,
    pub(super) project: String,
    /// The project lock's second key (the first is [`LOCK_CLASS`]).
    pub(super) key: i32,
    pub(super) runs_dir: PathBuf,
    pub(super) host: String,
    pub(super) user: String,
}

/// A SQL error with its detail, for messages.
/// What went wrong, as the server said it (`password authentication failed
/// for user "cairn" (28P01)`) or with the cause the client's own message
/// leaves out (`error connecting to server: Connection refused`).
pub(super) fn sql(e: postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

fn db_err(what: &str) -> impl Fn(postgres::Error) -> Error + '_ {
    move |e| Error::Other(anyhow::anyhow!("state database: {what}: {}", sql(e)))
}

/// The project's lock key: the first 31 bits of the sha256 of its name
/// (never 0, the key of migrations).
fn project_key(name: &str) -> i32 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(name.as_bytes());
    let k = i32::from_be_bytes([d[0], d[1], d[2], d[3]]) & 0x7fff_ffff;
    k.max(1)
}

impl Pg {
    pub fn connect(ws: &Workspace, url: &str, password: Option<String>) -> Result<Self> {
        let mut config: Config = url
            .parse()
            .map_err(|e| Error::Usage(format!("cairn.kdl: `state {{ postgres url=... }}`: {e}")))?;
        if let Some(p) = password {
            config.password(p);
        }
        config.application_name("cairn");
        config.connect_timeout(std::time::Duration::from_secs(10));
        let conn = Conn::open(config, url.to_string())?;
        conn.call(schema::migrate)?
            .map_err(|e| Error::Other(anyhow::anyhow!("state database: {e}")))?;
        // Records are committed without waiting for the disk, except those
        // a resume trusts (see `pg_journal`); a later synced commit makes
        // every earlier one durable too.
        conn.call(|c| c.batch_execute("SET synchronous_commit TO off"))?
            .map_err(db_err("cannot set up the session"))?;
        Ok(Self {
            conn,
            key: project_key(&ws.project.name),
            project: ws.project.name.clone(),
            runs_dir: ws.runs_dir(),
            host: this_host(),
            user: this_user(),
        })
    }

    /// The lock holder's details, only if its session holds the lock now
    /// (a row left by a dead session is nobody's) and it is not this one.
    pub(super) fn holder(&self) -> Result<Option<LockRow>> {
        let (project, key) = (self.project.clone(), self.key);
        self.conn
            .call(move |c| {
                c.query_opt(
                    "SELECT h.run_id, h.runbook, h.\"user\", h.host, h.pid, h.started
                       FROM cairn_lock h
                       JOIN pg_locks l ON l.pid = h.backend_pid
                        AND l.locktype = 'advisory' AND l.granted
                        AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 2
                        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                      WHERE h.project = $3 AND h.backend_pid <> pg_backend_pid()",
                    &[&i64::from(LOCK_CLASS), &i64::from(key), &project],
                )
                .map(|r| {
                    r.map(|r| LockRow {
                        run_id: r.get(0),
                        runbook: r.get(1),
                        user: r.get(2),
                        host: r.get(3),
                        pid: r.get(4),
                        started: r.get(5),
                    })
                })
            })?
            .map_err(db_err("cannot read the lock holder"))
    }
}

pub(super) struct LockRow {
    pub run_id: String,
    pub runbook: String,
    pub user: String,
    pub host: String,
    pub pid: i32,
    pub started: String,
}

/// The held project lock: the session's advisory lock and its row.
struct PgLock {
    conn: Conn,
    project: String,
    key: i32,
}

impl HeldLock for PgLock {}

impl Drop for PgLock {
    fn drop(&mut self) {
        let (project, key) = (self.project.clone(), self.key);
        let _ = self.conn.call(move |c| {
            let _ = c.execute(
                "DELETE FROM cairn_lock WHERE project = $1 AND backend_pid = pg_backend_pid()",
                &[&project],
            );
            let _ = c.execute("SELECT pg_advisory_unlock($1, $2)", &[&LOCK_CLASS, &key]);
        });
    }
}

impl StateStore for Pg {
    fn lock(&self, me: &Holder, warn: &dyn Fn(String)) -> Result<Box<dyn HeldLock>> {
        let key = self.key;
        let got = self
            .conn
            .call(move |c| {
                c.query_one("SELECT pg_try_advisory_lock($1, $2)", &[&LOCK_CLASS, &key])
                    .map(|r| r.get::<_, bool>(0))
            })?
            .map_err(db_err("cannot take the project lock"))?;
        if !got {
            // The holder may be writing its details right now.
            let mut holder = self.holder()?;
            for _ in 0..10 {
                if holder.is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
                holder = self.holder()?;
            }
            return Err(match holder {
                Some(h) => Error::Refused(format!(
                    "another run holds the project lock: run `{}` of `{}` by {} on {} (pid {}, started {})",
                    h.run_id, h.runbook, h.user, h.host, h.pid, h.started
                )),
                None => Error::Refused(
                    "another run holds the project lock (it has not written its details yet)"
                        .into(),
                ),
            });
        }
        let lock = PgLock {
            conn: self.conn.clone(),
            project: self.project.clone(),
            key,
        };
        // The row of a holder whose session ended without releasing the
        // lock (a killed cairn, a lost machine) is replaced.
        let (project, me) = (self.project.clone(), me.clone());
        let (user, host) = (self.user.clone(), self.host.clone());
        let old = self
            .conn
            .call(move |c| -> std::result::Result<Option<(String, String, i32)>, postgres::Error> {
                let old = c
                    .query_opt(
                        "SELECT run_id, host, pid FROM cairn_lock WHERE project = $1",
                        &[&project],
                    )?
                    .map(|r| (r.get(0), r.get(1), r.get(2)));
                c.execute(
                    "INSERT INTO cairn_lock (project, backend_pid, run_id, runbook, \"user\", host, pid, started)
                     VALUES ($1, pg_backend_pid(), $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (project) DO UPDATE SET backend_pid = EXCLUDED.backend_pid,
                       run_id = EXCLUDED.run_id, runbook = EXCLUDED.runbook, \"user\" = EXCLUDED.\"user\",
                       host = EXCLUDED.host, pid = EXCLUDED.pid, started = EXCLUDED.started",
                    &[&project, &me.run_id, &me.runbook, &user, &host, &(me.pid as i32), &me.started],
                )?;
                Ok(old)
            })?
            .map_err(db_err("cannot record the lock holder"))?;
        if let Some((run, host, pid)) = old {
            warn(format!(
                "took over the lock of run `{run}` (its cairn, pid {pid} on {host}, lost its database session)"
            ));
        }
        Ok(Box::new(lock))
    }

    fn journal(
        &self,
        proposed: &str,
        new: Option<&NewRun>,
        redactor: Arc<Redactor>,
    ) -> Result<(String, Arc<dyn EventSink>)> {
        pg_journal::open(self, proposed, new, redactor)
    }

    fn list(&self) -> Result<Vec<RunRecord>> {
        pg_read::list(self, None)
    }

    fn find(&self, id: &str) -> Result<RunRef> {
        pg_read::find(self, id)
    }

    fn events_by_host(&self, run: &RunRef) -> Result<Vec<HostEvent>> {
        pg_read::events(self, &run.id)
    }

    fn read(&self, run: &RunRef) -> Option<RunRecord> {
        pg_read::list(self, Some(&run.id)).ok()?.into_iter().next()
    }
}
