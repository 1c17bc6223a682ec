//! The tables of the `postgres` backend, created and migrated by cairn.
//!
//! `cairn_schema` holds one row: the version of the schema. Migrations run
//! in order, all in one transaction, under a transaction-level advisory
//! lock: of two first runs at once, one creates the tables and the other
//! waits, then finds the version current and does nothing.

use postgres::Client;

/// Advisory-lock keys (the two-`int4` form): the first names cairn, the
/// second the purpose.
pub const LOCK_CLASS: i32 = 0x6361_6972; // "cair"
/// The key of schema migrations.
const MIGRATE_KEY: i32 = 0;

/// Each migration, in order: version `i + 1` is `MIGRATIONS[i]`.
const MIGRATIONS: &[&str] = &[
    // 1: runs, their journal records, and the details of the lock holder.
    "CREATE TABLE cairn_runs (
        run_id text PRIMARY KEY,
        project text NOT NULL,
        runbook text NOT NULL,
        version bigint NOT NULL,
        mode text NOT NULL,
        \"user\" text NOT NULL,
        host text NOT NULL,
        pid integer NOT NULL,
        started text NOT NULL,
        result text,
        verdict text,
        finished timestamptz
    );
    CREATE INDEX cairn_runs_project ON cairn_runs (project, run_id);
    CREATE TABLE cairn_journal (
        run_id text NOT NULL REFERENCES cairn_runs (run_id),
        seq bigint NOT NULL,
        record jsonb NOT NULL,
        written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        -- committed waiting for the server's disk (a sync point)
        synced boolean NOT NULL,
        \"user\" text NOT NULL,
        host text NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    CREATE INDEX cairn_journal_ends ON cairn_journal (run_id, seq)
        WHERE record->>'event' IN ('run-started', 'run-resumed', 'run-finished');
    CREATE TABLE cairn_lock (
        project text PRIMARY KEY,
        backend_pid integer NOT NULL,
        run_id text NOT NULL,
        runbook text NOT NULL,
        \"user\" text NOT NULL,
        host text NOT NULL,
        pid integer NOT NULL,
        started text NOT NULL
    );",
];

/// The version this cairn writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the schema to [`VERSION`]; refuses a database a newer cairn
/// migrated further. Returns the migrations applied (none when current).
pub fn migrate(client: &mut Client) -> Result<Vec<i64>, String> {
    let mut tx = client.transaction().map_err(|e| e.to_string())?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&LOCK_CLASS, &MIGRATE_KEY],
    )
    .map_err(|e| format!("cannot take the schema lock: {e}"))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS cairn_schema (version bigint NOT NULL)")
        .map_err(|e| format!("cannot create cairn_schema: {e}"))?;
    let row = tx
        .query_opt("SELECT version FROM cairn_schema", &[])
        .map_err(|e| e.to_string())?;
    let current: i64 = row.map_or(0, |r| r.get(0));
    if current > VERSION {
        return Err(format!(
            "the database holds cairn's schema version {current}; this cairn knows up to {VERSION}: upgrade cairn"
        ));
    }
    let mut applied = Vec::new();
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        tx.batch_execute(sql)
            .map_err(|e| format!("migration to schema version {version} failed: {e}"))?;
        applied.push(version);
    }
    if !applied.is_empty() {
        if current == 0 {
            tx.execute(
                "INSERT INTO cairn_schema (version) VALUES ($1)",
                &[&VERSION],
            )
        } else {
            tx.execute("UPDATE cairn_schema SET version = $1", &[&VERSION])
        }
        .map_err(|e| e.to_string())?;
    }
    tx.commit().map_err(|e| e.to_string())?;
    Ok(applied)
}
