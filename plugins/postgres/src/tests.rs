//! The plugin against the mock host: psql answers scripted by the SQL they
//! are given.

use std::cell::RefCell;
use std::rc::Rc;

use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::{Value, json};

use crate::Postgres;

const URL: &str = "postgresql://cairn:pw@127.0.0.1:5432/site";

fn sql_of(cmd: &Command) -> String {
    match cmd.stdin.as_ref() {
        Some(s) => String::from_utf8_lossy(s).into_owned(),
        // The statement psql is given with `-c`.
        None => cmd
            .args
            .iter()
            .position(|a| a == "-c")
            .and_then(|i| cmd.args.get(i + 1))
            .or(cmd.args.last())
            .cloned()
            .unwrap_or_default(),
    }
}

fn run(host: &MockHost, action: &str, args: Value) -> Result<Outputs, PluginError> {
    run_in(host, Mode::Apply, action, args)
}

fn run_in(host: &MockHost, mode: Mode, action: &str, args: Value) -> Result<Outputs, PluginError> {
    Postgres::run(
        host,
        &Context::for_test().with_mode(mode),
        action,
        Args::from_value(args).unwrap(),
    )
}

/// A database that becomes read-only for new sessions once altered.
fn server(probe_writes: bool) -> (MockHost, Rc<RefCell<Vec<String>>>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let host = MockHost::new().on_exec(move |cmd| {
        let sql = sql_of(cmd);
        l.borrow_mut().push(sql.clone());
        assert!(
            !cmd.args.iter().any(|a| a.contains(":pw@")),
            "password on a command line: {:?}",
            cmd.args
        );
        Ok(if sql.contains("pg_db_role_setting") {
            Completed::ok("off\n")
        } else if sql == "select now()" {
            panic!("the time of the change is read by the change's own session")
        } else if sql.starts_with("alter database") && sql.ends_with("; select now()") {
            Completed::ok("2026-12-03 10:00:00+00\n")
        } else if sql.starts_with("select count(*) from pg_stat_activity") {
            Completed::ok("0\n")
        } else if sql.starts_with("create table \"cairn_ro_probe_") {
            if probe_writes {
                Completed::ok("")
            } else {
                Completed::new(
                    1,
                    "",
                    "ERROR:  cannot execute CREATE TABLE in a read-only transaction\n",
                )
            }
        } else {
            Completed::ok("")
        })
    });
    (host, log)
}

#[test]
fn read_only_on_sets_the_database_and_proves_it_with_a_failing_write() {
    let (host, log) = server(false);
    let out = run(&host, "read-only", json!({ "url": URL, "mode": "on" })).unwrap();
    assert_eq!(out.get("previous").unwrap(), "off");
    assert_eq!(out.get("verified").unwrap(), true);
    let log = log.borrow();
    assert!(
        log.iter()
            .any(|s| s
                == "alter database \"site\" set default_transaction_read_only = on; select now()"),
        "{log:?}"
    );
    // The ALTER's own session is forced writable (the database may be
    // read-only already); the probe's is not.
    let execs = host.commands();
    let alter = execs
        .iter()
        .find(|c| sql_of(c).starts_with("alter database"))
        .unwrap();
    assert!(alter.env.iter().any(|(n, _)| n == "PGOPTIONS"));
    // Quiet: its output is the time alone, no `ALTER DATABASE` tag.
    assert!(
        alter.args.iter().any(|a| a == "--quiet"),
        "{:?}",
        alter.args
    );
    let probe = execs
        .iter()
        .find(|c| sql_of(c).starts_with("create table"))
        .unwrap();
    assert!(!probe.env.iter().any(|(n, _)| n == "PGOPTIONS"));
    assert!(probe.env.iter().any(|(n, _)| n == "PGPASSWORD"));
}

#[test]
fn a_database_that_still_takes_writes_fails_the_step_and_the_probe_is_removed() {
    let (host, log) = server(true);
    let err = run(&host, "read-only", json!({ "url": URL, "mode": "on" })).unwrap_err();
    assert!(err.message.contains("could still write"), "{}", err.message);
    assert!(
        log.borrow()
            .iter()
            .any(|s| s.starts_with("drop table \"cairn_ro_probe_test_run\"")),
        "{:?}",
        log.borrow()
    );
}

#[test]
fn read_only_in_a_dry_run_changes_nothing_and_counts_open_sessions() {
    let (host, log) = server(false);
    let host = host.dry_run();
    let out = run_in(
        &host,
        Mode::DryRun,
        "read-only",
        json!({ "url": URL, "mode": "on" }),
    )
    .unwrap();
    assert_eq!(out.get("planned").unwrap(), true);
    assert!(out.get("sessions-open").is_some());
    assert!(
        !log.borrow()
            .iter()
            .any(|s| s.starts_with("alter") || s.starts_with("create")),
        "{:?}",
        log.borrow()
    );
}

#[test]
fn copy_refuses_a_target_database_that_exists() {
    // A dry-run asks before planning the create.
    let host = MockHost::new().dry_run().on_exec(|cmd| {
        Ok(if sql_of(cmd).contains("from pg_database where datname") {
            Completed::ok("1\n")
        } else {
            Completed::ok("")
        })
    });
    let err = run_in(
        &host,
        Mode::DryRun,
        "copy",
        json!({ "url": URL, "target-url": "postgresql://postgres@127.0.0.1:5433/site" }),
    )
    .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("target-url"));
    assert!(err.message.contains("never overwrites"), "{}", err.message);
    assert!(
        !host
            .commands()
            .iter()
            .any(|c| sql_of(c).starts_with("create database"))
    );

    // A run lets PostgreSQL refuse the create, and says the same.
    let host = MockHost::new().on_exec(|cmd| {
        Ok(if sql_of(cmd).starts_with("create database") {
            // psql -v VERBOSITY=verbose, on a server speaking French.
            Completed::new(
                1,
                "",
                "ERROR:  42P04: la base de données « site » existe déjà\nLOCATION:  createdb, dbcommands.c:1242\n",
            )
        } else {
            Completed::ok("")
        })
    });
    let err = run(
        &host,
        "copy",
        json!({ "url": URL, "target-url": "postgresql://postgres@127.0.0.1:5433/site" }),
    )
    .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("target-url"));
    assert!(err.message.contains("never overwrites"), "{}", err.message);
    let sqls: Vec<String> = host.commands().iter().map(sql_of).collect();
    assert_eq!(
        sqls,
        ["create database \"site\""],
        "nothing else ran: {sqls:?}"
    );
    assert!(host.transfers().is_empty(), "nothing was copied");
}

#[test]
fn copy_labels_the_new_database_and_reads_its_oid_in_one_session() {
    let done = Transferred {
        bytes_in: 10,
        bytes_out: 10,
        ..Transferred::default()
    };
    let host = MockHost::new().transfer_returns(done).on_exec(|cmd| {
        Ok(if sql_of(cmd).starts_with("comment on database") {
            Completed::ok("16384\n")
        } else {
            Completed::ok("")
        })
    });
    let out = run(
        &host,
        "copy",
        json!({ "url": URL, "target-url": "postgresql://postgres@127.0.0.1:5433/site" }),
    )
    .unwrap();
    assert_eq!(out.get("oid").unwrap(), "16384");
    let sqls: Vec<String> = host.commands().iter().map(sql_of).collect();
    assert_eq!(sqls.len(), 2, "create, then label and OID: {sqls:?}");
}

#[test]
fn compare_names_each_difference_of_rows_and_sequences() {
    let host = MockHost::new().on_exec(|cmd| {
        let target = cmd.args.iter().any(|a| a.contains(":5433"));
        Ok(Completed::ok(if target {
            "public.notes_note 4\nseq public.notes_note_id_seq 4\n"
        } else {
            "public.notes_note 5\npublic.django_session 3\nseq public.notes_note_id_seq 5\n"
        }))
    });
    let args = json!({ "url": URL, "target-url": "postgresql://cairn@127.0.0.1:5433/site", "ignore-tables": "django_session" });
    let err = run(&host, "compare", args).unwrap_err();
    assert!(
        err.message
            .contains("table public.notes_note: 5 rows on the source, 4 on the target"),
        "{}",
        err.message
    );
    assert!(
        err.message
            .contains("sequence public.notes_note_id_seq: 5 on the source, 4"),
        "{}",
        err.message
    );
    assert!(
        !err.message.contains("django_session"),
        "ignored: {}",
        err.message
    );
    // Each side is read in one read-only repeatable-read snapshot.
    let first = &host.commands()[0];
    assert!(sql_of(first).starts_with("begin isolation level repeatable read read only;"));
}

#[test]
fn sequences_are_set_to_at_least_the_source() {
    let host = MockHost::new().on_exec(|cmd| {
        Ok(Completed::ok(if sql_of(cmd).starts_with("begin") {
            "public.t 9\nseq public.t_id_seq 42\n"
        } else {
            ""
        }))
    });
    let out = run(
        &host,
        "sequences",
        json!({ "url": URL, "target-url": "postgresql://cairn@127.0.0.1:5433/site" }),
    )
    .unwrap();
    assert_eq!(out.get("set").unwrap(), 1);
    let set = sql_of(&host.commands()[1]);
    assert_eq!(
        set,
        "select setval('public.t_id_seq', greatest(42, (select last_value from \"public\".\"t_id_seq\")), true)"
    );
}
