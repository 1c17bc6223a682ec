//! `state { postgres ... }`: runs, journals and the project lock in the
//! lab's PostgreSQL, with two cairn processes at once, a SIGKILL, and a
//! resume by another operator.

mod scratch;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::Project;
use scratch::{Db, Started, cairn, children, this_host, wait_for};

const WRITES: &str = r#"
runbook writes version=2 {
    step first uses=exec { run sh "-c" "echo one > one"; cwd "{{ project.root }}"; }
    step second uses=exec { run echo "two"; effect read; }
}
"#;

#[test]
fn a_run_is_a_row_its_journal_rows_in_order_and_the_schema_is_made_once() {
    let Some(db) = Db::new("state_rows") else {
        return;
    };
    let p = Project::with_config(&db.config());
    p.runbook("writes", WRITES);
    let out = cairn(&p, &db, "alice")
        .args(["run", "writes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        !p.join(".cairn/runs").exists(),
        "the journal is in the database, not under .cairn/runs"
    );
    let mut c = db.client();
    let version: Vec<i64> = c
        .query("SELECT version FROM cairn_schema", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(version, [1]);
    let made: String = c
        .query_one("SELECT xmin::text FROM cairn_schema", &[])
        .unwrap()
        .get(0);
    let run = c
        .query_one(
            "SELECT run_id, project, runbook, version, \"user\", host, verdict FROM cairn_runs",
            &[],
        )
        .unwrap();
    let id: String = run.get(0);
    assert_eq!(run.get::<_, String>(1), "state-test");
    assert_eq!(run.get::<_, String>(2), "writes");
    assert_eq!(run.get::<_, i64>(3), 2);
    assert_eq!(run.get::<_, String>(4), "alice");
    assert_eq!(run.get::<_, String>(5), this_host());
    assert_eq!(
        run.get::<_, Option<String>>(6).as_deref(),
        Some("succeeded")
    );
    let rows = c
        .query(
            "SELECT seq, record->>'event', record->>'step' FROM cairn_journal WHERE run_id = $1 ORDER BY seq",
            &[&id],
        )
        .unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(seqs, (1..=rows.len() as i64).collect::<Vec<_>>());
    let kinds: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(kinds.first().map(String::as_str), Some("run-started"));
    assert_eq!(kinds.last().map(String::as_str), Some("run-finished"));
    let ends: Vec<Option<String>> = rows
        .iter()
        .filter(|r| r.get::<_, String>(1) == "step-finished")
        .map(|r| r.get(2))
        .collect();
    assert_eq!(ends, [Some("first".into()), Some("second".into())]);
    // The sync points of the file journal: the end of the step that wrote
    // (`first`; `second` only reads) and the end of the run.
    let synced: Vec<(String, Option<String>)> = c
        .query(
            "SELECT record->>'event', record->>'step' FROM cairn_journal WHERE run_id = $1 AND synced ORDER BY seq",
            &[&id],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        synced,
        [
            ("step-finished".to_string(), Some("first".to_string())),
            ("run-finished".to_string(), None)
        ]
    );

    // A second process finds the schema current and does not redo it.
    let out = cairn(&p, &db, "bob")
        .args(["run", "writes"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let again: String = c
        .query_one("SELECT xmin::text FROM cairn_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(again, made, "the schema row was not written again");

    // Every operator's runs, with who and where.
    let history = cairn(&p, &db, "carol").args(["history"]).output().unwrap();
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(text.contains("BY"), "{text}");
    assert!(text.contains(&format!("alice@{}", this_host())), "{text}");
    assert!(text.contains(&format!("bob@{}", this_host())), "{text}");
    let log = cairn(&p, &db, "carol").args(["log", &id]).output().unwrap();
    let text = String::from_utf8_lossy(&log.stdout);
    assert!(
        text.contains(&format!("by alice on {}", this_host())),
        "{text}"
    );
    assert!(text.contains("end first ok"), "{text}");
}

const LONG: &str = r#"
runbook long version=1 {
    step count uses=exec {
        run sh "-c" "echo x >> counted"
        cwd "{{ project.root }}"
    }
    step wait uses=exec {
        run sh "-c" "touch waiting; while [ ! -f go ]; do sleep 0.02; done"
        cwd "{{ project.root }}"
    }
    step last uses=exec {
        run sh "-c" "echo done > last"
        cwd "{{ project.root }}"
    }
}
"#;

#[test]
fn of_two_runs_one_holds_the_lock_a_sigkill_frees_it_and_another_operator_resumes() {
    let Some(db) = Db::new("state_lock") else {
        return;
    };
    let p = Project::with_config(&db.config());
    p.runbook("long", LONG);
    let mut started = Started::default();
    for user in ["alice", "bob"] {
        let child = cairn(&p, &db, user)
            .args(["run", "long"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        started.0.push(child);
    }
    // Exactly one runs; the other fails fast (the one running waits for
    // `go`, which does not exist yet), naming the holder.
    let mut loser = None;
    wait_for(
        "one of the two to be refused",
        Duration::from_secs(60),
        || {
            for (i, c) in started.0.iter_mut().enumerate() {
                if let Some(status) = c.try_wait().unwrap() {
                    loser = Some((i, status));
                    return true;
                }
            }
            false
        },
    );
    let (lost, status) = loser.unwrap();
    let won = 1 - lost;
    assert_eq!(status.code(), Some(3), "refused: exit code 3");
    wait_for("the holder's second step", Duration::from_secs(60), || {
        p.join("waiting").exists()
    });
    assert!(
        started.0[won].try_wait().unwrap().is_none(),
        "the holder still runs"
    );
    let mut stderr = String::new();
    use std::io::Read;
    started.0[lost]
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let mut c = db.client();
    let id: String = c
        .query_one("SELECT run_id FROM cairn_runs", &[])
        .unwrap()
        .get(0);
    let holder_user = ["alice", "bob"][won];
    assert!(stderr.contains(&format!("run `{id}`")), "{stderr}");
    assert!(
        stderr.contains(&format!("by {holder_user} on {}", this_host())),
        "{stderr}"
    );

    // SIGKILL the holder: no end in its journal. Its step's command (a
    // process group of its own) is ended too, by the pids read before.
    let holder_pid = started.0[won].id();
    let kids = children(holder_pid);
    assert!(!kids.is_empty(), "the holder runs its step's command");
    started.0[won].kill().unwrap();
    started.0[won].wait().unwrap();
    for k in kids {
        // Exactly the holder's children and the process groups they lead
        // (a step's command leads its own); `kill`: no `unsafe` here.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{k}"), &k.to_string()])
            .stderr(Stdio::null())
            .status();
    }
    // The server ends the dead cairn's session and its lock at once.
    let dbname = db.name.clone();
    wait_for(
        "the advisory lock to be released",
        Duration::from_secs(2),
        || {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                  WHERE l.locktype = 'advisory' AND d.datname = $1",
                    &[&dbname],
                )
                .unwrap()
                .get(0);
            n == 0
        },
    );
    let other = ["alice", "bob"][lost];
    let history = cairn(&p, &db, other)
        .args(["--json", "history"])
        .output()
        .unwrap();
    let runs: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 1, "{runs}");
    assert_eq!(runs[0]["verdict"], "interrupted", "{runs}");
    assert_eq!(runs[0]["user"], holder_user);

    // The other operator resumes it: the lock is free, the finished step
    // is not run again.
    std::fs::write(p.join("go"), "").unwrap();
    let out = cairn(&p, &db, other)
        .args(["resume", &id])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("took over the lock of run"), "{text}");
    assert_eq!(std::fs::read_to_string(p.join("counted")).unwrap(), "x\n");
    assert!(p.join("last").exists());
    let verdict: Option<String> = c
        .query_one("SELECT verdict FROM cairn_runs WHERE run_id = $1", &[&id])
        .unwrap()
        .get(0);
    assert_eq!(verdict.as_deref(), Some("succeeded"));
    let writers: Vec<String> = c
        .query(
            "SELECT DISTINCT \"user\" FROM cairn_journal WHERE run_id = $1 ORDER BY 1",
            &[&id],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        writers,
        ["alice", "bob"],
        "both operators wrote its journal"
    );
    let seqs: Vec<i64> = c
        .query(
            "SELECT seq FROM cairn_journal WHERE run_id = $1 ORDER BY seq",
            &[&id],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let n: i64 = c
        .query_one("SELECT count(*) FROM cairn_lock", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the lock's row goes with a clean release");
}

#[test]
fn a_state_block_with_a_password_in_its_url_or_an_unknown_backend_is_refused() {
    let p = Project::with_config(
        "project s {\n    state { postgres url=\"postgresql://cairn:hunter2@db/state\" }\n}\n",
    );
    p.runbook("writes", WRITES);
    p.cairn(&["validate"])
        .code(2)
        .stderr_has("cairn.kdl:2:")
        .stderr_has("holds a password")
        .stderr_has("password-secret=NAME");
    p.file(
        "cairn.kdl",
        "project s {\n    state { redis url=\"redis://db\" }\n}\n",
    );
    p.cairn(&["run", "writes"])
        .code(2)
        .stderr_has("unknown node `redis`")
        .stderr_has("postgres");
    p.file(
        "cairn.kdl",
        "project s {\n    state { postgres url=\"postgresql://cairn@127.0.0.1:1/state\" password-secret=nope }\n}\n",
    );
    p.cairn(&["run", "writes"])
        .code(2)
        .stderr_has("names secret `nope`");
}

#[test]
fn a_state_database_that_refuses_the_connection_says_why_and_nothing_runs() {
    let Some(db) = Db::new("state_refused") else {
        return;
    };
    let p = Project::with_config(&db.config());
    p.runbook("writes", WRITES);
    let args = ["run", "writes"];
    let wrong = p
        .cmd()
        .env("STATE_TEST_STATE_PASSWORD", "not-the-password")
        .args(args)
        .output()
        .unwrap();
    crate::Run::new(&args, wrong)
        .code(3)
        .stderr_has("cannot connect to the state database")
        .stderr_has("password authentication failed")
        .stderr_has("28P01");
    assert!(
        !p.join("one").exists(),
        "the run's step ran without its state"
    );

    // Nothing listens on port 1: the operating system's reason is given.
    p.file(
        "cairn.kdl",
        &db.config()
            .replace(&db.url, "postgresql://cairn@127.0.0.1:1/state"),
    );
    crate::Run::new(&args, cairn(&p, &db, "alice").args(args).output().unwrap())
        .code(3)
        .stderr_has("cannot connect to the state database")
        .stderr_has("Connection refused");
    assert!(
        !p.join("one").exists(),
        "the run's step ran without its state"
    );
}
