//! Tests of restoring archives made before cairn (`.sql`, `.sql.gz`,
//! `.tar.lrz`): no manifest, checked as far as their format allows, loaded
//! with `psql`.

use super::*;
use crate::tests::*;
use cairn_sdk::mock::{Call, MockHost};
use cairn_sdk::store::Transform;
use serde_json::json;

const LEGACY_URL: &str = "postgresql://postgres:pw@127.0.0.1:55433/legacy";

/// The program and script of a transfer's command end, for assertions.
fn command_of(end: &Sink) -> Option<&Command> {
    match end {
        Sink::Command(c) => Some(c),
        _ => None,
    }
}

/// A load: the dump through the guard into psql.
fn psql_loads(t: &Transfer) -> bool {
    command_of(&t.sink)
        .is_some_and(|c| c.program == "sh" && c.args.get(4).is_some_and(|p| p == "psql"))
}

#[test]
fn a_legacy_sql_gz_is_checked_then_loaded_with_psql_in_one_transaction() {
    let key = "backups/hello/2024-01-01.sql.gz";
    let host = MockHost::new()
        .with_object("s", key, "gz")
        .on_transfer(|_| Ok(hashed("digest")))
        .on_exec(|_| Ok(Completed::ok("")));
    let out = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "key": key, "url": LEGACY_URL, "owner": "cairn" }),
        )
        .unwrap();
    assert_eq!(out["format"], "sql.gz");
    assert_eq!(out["sha256"], "digest");
    assert_eq!(out["database"], "legacy");
    assert_eq!(out["created"], true);
    assert!(
        host.calls()
            .iter()
            .all(|c| !matches!(c, Call::Storage { key, .. } if key.ends_with(".manifest.json"))),
        "no manifest is looked for"
    );
    let ts = host.transfers();
    assert_eq!(ts.len(), 2, "{ts:#?}");
    // The check: the object through sha256 and gunzip into the dump check,
    // on the local target.
    assert_eq!(ts[0].transforms, [Transform::Sha256, Transform::Gunzip]);
    let check = command_of(&ts[0].sink).expect("a command sink");
    assert_eq!(check.target.as_deref(), Some("local"));
    assert!(check.args[1].contains("PostgreSQL database dump complete"));
    // The load: gunzip into psql, one transaction, stop at the first error,
    // as the owner.
    assert_eq!(ts[1].transforms, [Transform::Gunzip]);
    assert!(psql_loads(&ts[1]));
    let psql = command_of(&ts[1].sink).unwrap();
    for a in [
        "--single-transaction",
        "--set=ON_ERROR_STOP=1",
        "set role \"cairn\"",
        "-",
    ] {
        assert!(psql.args[5..].iter().any(|x| x == a), "{a}: {psql:?}");
    }
    assert!(psql.env.iter().any(|(k, _)| k == "PGPASSWORD"));
    assert!(psql.args.iter().all(|a| !a.contains(":pw@")));
    // The database was created only after the check.
    let calls = host.calls();
    let first_write = calls
        .iter()
        .position(|c| matches!(c, Call::Exec(c) if c.effect == Effect::Write))
        .unwrap();
    let check_at = calls
        .iter()
        .position(|c| matches!(c, Call::Transfer(_)))
        .unwrap();
    assert!(check_at < first_write);
}

#[test]
fn a_corrupt_legacy_dump_is_refused_before_the_database_is_touched() {
    let key = "backups/hello/2024-01-01.sql.gz";
    let invoke = |host: &MockHost| {
        host.invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "key": key, "url": LEGACY_URL }),
        )
        .unwrap_err()
    };
    // The check fails; gunzip alone fails too: the gzip stream is damaged.
    let host = MockHost::new()
        .with_object("s", key, "gz")
        .transfer_fails("transfer: `sh -c 'awk ...' (on `local`)` exited with status 1: it does not end with the line ...")
        .transfer_fails("transfer: gzip data ends early or is corrupt: corrupt deflate stream");
    let e = invoke(&host);
    assert!(
        e.message.contains("is refused: its gzip stream is damaged")
            && e.message.contains("corrupt deflate stream")
            && e.message.contains("nothing was restored"),
        "{e:?}"
    );
    assert!(host.commands().is_empty(), "no psql ran");
    let ts = host.transfers();
    assert_eq!(ts.len(), 2);
    assert_eq!(
        (ts[1].sink.clone(), ts[1].effect()),
        (Sink::Discard, Effect::Read)
    );

    // The gzip stream is whole: the dump in it is what is wrong, and the
    // message is the check's, without its script.
    let host = MockHost::new()
        .with_object("s", key, "gz")
        .transfer_fails("transfer: `sh -c 'awk ...' (on `local`)` exited with status 1: it does not end with the line `-- PostgreSQL database dump complete`")
        .transfer_returns(hashed("x"));
    let e = invoke(&host);
    assert_eq!(
        e.message,
        "backup `backups/hello/2024-01-01.sql.gz` is refused: it does not end with the line `-- PostgreSQL database dump complete`; nothing was restored"
    );
    assert!(host.commands().is_empty(), "no psql ran");
}

#[test]
fn a_legacy_dump_in_a_dry_run_is_read_and_gunzipped_for_real() {
    let key = "backups/hello/2024-01-01.sql.gz";
    let host = MockHost::new()
        .dry_run()
        .with_object("s", key, "gz")
        .on_transfer(|_| Ok(hashed("digest")))
        .on_exec(|_| Ok(Completed::ok("")));
    let out = host
        .invoke::<Restore>(
            &ctx().with_mode(cairn_sdk::Mode::DryRun),
            "postgres",
            json!({ "storage": "s", "key": key, "url": LEGACY_URL }),
        )
        .unwrap();
    assert_eq!(out["planned"], true);
    let ts = host.transfers();
    assert_eq!(ts[0].sink, Sink::Discard, "a read, performed");
    assert_eq!(ts[0].effect(), Effect::Read);
    assert!(psql_loads(&ts[1]));
}

/// A target where lrzip is installed and the archive `tar -t` lists as
/// `listing`; `lrzip_status` is what lrzip -d exits with.
fn lrz_host(listing: &'static str, lrzip_status: i32) -> MockHost {
    MockHost::new()
        .with_object("s", "backups/hello/2024-01-01.tar.lrz", "lrz")
        .on_transfer(|_| Ok(hashed("digest")))
        .on_exec(move |c| {
            Ok(match c.program.as_str() {
                "lrzip" => Completed::new(lrzip_status, "", "Fatal error - exiting"),
                "tar" => Completed::ok(listing),
                _ => Completed::ok(if c.args.get(1).is_some_and(|a| a == "command -v lrzip") {
                    "/usr/bin/lrzip\n"
                } else {
                    ""
                }),
            })
        })
}

const LRZ: &str = "backups/hello/2024-01-01.tar.lrz";

#[test]
fn a_legacy_tar_lrz_is_decompressed_in_scratch_checked_loaded_and_removed() {
    let host = lrz_host("site.sql\nmedia/\nmedia/a.png\nmedia/b.png\n", 0);
    let out = host
        .invoke::<Restore>(
            &ctx().with_target("db"),
            "postgres",
            json!({ "storage": "s", "key": LRZ, "url": LEGACY_URL, "tmp-dir": "/var/tmp/" }),
        )
        .unwrap();
    assert_eq!(out["format"], "tar.lrz");
    assert_eq!(out["member"], "site.sql");
    assert_eq!(out["other-members"], 2);
    let scratch = "/var/tmp/cairn-restore-test-run-test-step";
    let cmds = host.commands();
    assert!(cmds.iter().all(|c| c.target.as_deref() == Some("db")));
    let lrzip = cmds.iter().find(|c| c.program == "lrzip").unwrap();
    assert_eq!(
        lrzip.args,
        [
            "-d",
            "-Q",
            "-f",
            "-D",
            "-o",
            &format!("{scratch}/archive.tar"),
            &format!("{scratch}/archive.tar.lrz")
        ]
    );
    // Fetched into the scratch file, the dump checked, then loaded from tar.
    let ts = host.transfers();
    assert_eq!(ts.len(), 3, "{ts:#?}");
    assert_eq!(
        command_of(&ts[0].sink).unwrap().args[3],
        format!("{scratch}/archive.tar.lrz")
    );
    let Source::Command(extract) = &ts[2].source else {
        panic!("{:?}", ts[2].source)
    };
    assert_eq!(
        extract.args,
        ["-xOf", &format!("{scratch}/archive.tar"), "site.sql"]
    );
    assert!(psql_loads(&ts[2]));
    // The scratch directory is removed last.
    let last = cmds.last().unwrap();
    assert_eq!(last.args[1], r#"rm -rf "$1""#);
    assert_eq!(last.args[3], scratch);
}

#[test]
fn a_truncated_tar_lrz_is_refused_and_its_scratch_removed() {
    let host = lrz_host("", 1);
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "key": LRZ, "url": LEGACY_URL }),
        )
        .unwrap_err();
    assert!(
        e.message.contains("lrzip cannot decompress it")
            && e.message.contains("nothing was restored"),
        "{e:?}"
    );
    let cmds = host.commands();
    assert!(
        cmds.iter()
            .all(|c| c.program != "psql" && !c.args.iter().any(|a| a == "--single-transaction")),
        "{cmds:#?}"
    );
    assert_eq!(cmds.last().unwrap().args[1], r#"rm -rf "$1""#);
}

#[test]
fn without_lrzip_a_tar_lrz_is_refused_saying_so() {
    let host = MockHost::new()
        .with_object("s", LRZ, "lrz")
        .exec_returns(Completed::new(127, "", ""));
    let e = host
        .invoke::<Restore>(
            &ctx().with_target("db"),
            "postgres",
            json!({ "storage": "s", "key": LRZ, "url": LEGACY_URL }),
        )
        .unwrap_err();
    assert!(
        e.message
            .contains("`lrzip` is not installed on target `db`")
            && e.message.contains("apt-get install lrzip"),
        "{e:?}"
    );
    assert_eq!(host.commands().len(), 1, "only the probe");
    assert!(host.transfers().is_empty(), "nothing fetched");
}

#[test]
fn a_tar_lrz_with_several_dumps_needs_a_member() {
    let host = lrz_host("site.sql\nold/site.sql\n", 0);
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "key": LRZ, "url": LEGACY_URL }),
        )
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("member"), "{e:?}");
    assert!(e.message.contains("several dumps"));
    let host = lrz_host("site.sql\nold/site.sql\n", 0);
    let out = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "key": LRZ, "url": LEGACY_URL, "member": "old/site.sql" }),
        )
        .unwrap();
    assert_eq!(out["member"], "old/site.sql");
}

#[test]
fn a_non_empty_database_refuses_a_legacy_dump_too() {
    let host = lrz_host("site.sql\n", 0).on_exec(|c| {
        let sql = c.args.last().cloned().unwrap_or_default();
        Ok(Completed::ok(match c.program.as_str() {
            "tar" => "site.sql\n".to_string(),
            _ if sql.starts_with("select 1 from pg_database") => "1\n".to_string(),
            _ if sql.starts_with("select count(*)") => "7\n".to_string(),
            _ if c.args.get(1).is_some_and(|a| a == "command -v lrzip") => "lrzip\n".into(),
            _ => String::new(),
        }))
    });
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "key": LRZ, "url": LEGACY_URL }),
        )
        .unwrap_err();
    assert!(e.message.contains("not empty"), "{e:?}");
    assert!(!host.transfers().iter().any(psql_loads));
    assert_eq!(
        host.commands().last().unwrap().args[1],
        r#"rm -rf "$1""#,
        "scratch removed"
    );
}

#[test]
fn legacy_dumps_take_no_pg_restore_options() {
    let host = MockHost::new();
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "key": "x/dump.sql", "url": LEGACY_URL, "jobs": 4 }),
        )
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("jobs"));
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "files",
            json!({ "storage": "s", "key": "x/dump.sql.gz", "dir": "/srv/media" }),
        )
        .unwrap_err();
    assert!(
        e.message.contains("restore it with action postgres"),
        "{e:?}"
    );
}

/// Runs a command of the plugin with the local sh: (status, stdout, stderr).
fn run_locally(cmd: &Command, input: &str) -> (Option<i32>, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(&cmd.program)
        .args(&cmd.args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const WHOLE_DUMP: &str = "--\n-- PostgreSQL database dump\n--\n\\restrict abc\nCOPY public.t (x) FROM stdin;\n\\\\connect\n\\.\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n\n";

#[test]
fn the_guard_makes_psql_fail_on_a_dump_that_ends_early() {
    // `cat` stands in for psql: what psql would read.
    let guarded = legacy::guarded(Command::new("cat"));
    let (code, out, _) = run_locally(&guarded, WHOLE_DUMP);
    assert_eq!(code, Some(0));
    assert_eq!(out, WHOLE_DUMP, "a whole dump passes as it is");
    let cut = &WHOLE_DUMP[..WHOLE_DUMP.find("\\.").unwrap()];
    let (_, out, _) = run_locally(&guarded, cut);
    assert!(out.starts_with(cut));
    // Cut inside a COPY: its rows are ended first, or the statement would
    // be read as one more row.
    assert!(out[cut.len()..].starts_with("\\.\nDO $c$"), "{out}");
    assert!(out.ends_with("nothing of it is kept'; END $c$;\n"), "{out}");
}

#[test]
fn the_dump_check_knows_a_whole_dump_from_a_cut_one() {
    // The awk script itself, run here with the local sh.
    let check = legacy::dump_check(None);
    let run = |input: &str| {
        let (code, _, err) = run_locally(&check, input);
        (code, err)
    };
    let whole = WHOLE_DUMP;
    assert_eq!(run(whole).0, Some(0), "{:?}", run(whole));
    let cut = &whole[..whole.find("\\.").unwrap()];
    let (code, err) = run(cut);
    assert_eq!(code, Some(1));
    assert!(err.contains("cut short"), "{err}");
    let create = whole.replace(
        "\\restrict abc\n",
        "CREATE DATABASE site;\n\\connect site\n",
    );
    let (code, err) = run(&create);
    assert_eq!(code, Some(2));
    assert!(err.contains("connects to another database"), "{err}");
}
