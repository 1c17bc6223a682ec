use super::*;
use cairn_sdk::mock::{Call, MockHost};
use cairn_sdk::store::Transform;
use serde_json::json;
use std::time::Duration as StdDuration;

pub(crate) const KEY: &str = "backups/postgres/site-20261120T030000Z.dump.zst";
pub(crate) const URL: &str = "postgresql://postgres:pw@127.0.0.1:55433/site_scratch";

pub(crate) fn manifest(sha: &str, size: u64) -> String {
    serde_json::to_string(&Manifest {
        format: 1,
        kind: "postgres".into(),
        name: "site".into(),
        key: KEY.into(),
        source: "postgresql://cairn@127.0.0.1:55432/site".into(),
        size,
        raw_size: 10,
        sha256: sha.into(),
        compression: "zstd".into(),
        created: "2026-11-20T03:00:00Z".into(),
        plugin: "backup".into(),
        plugin_version: "0.1.0".into(),
        runbook: "backup".into(),
        run_id: "r".into(),
        step: "db".into(),
        row_counts: None,
    })
    .unwrap()
}

pub(crate) fn stored(sha_in_manifest: &str) -> MockHost {
    MockHost::new()
        .with_object(
            "s",
            "backups/postgres/site-20261119T030000Z.dump.zst",
            "old",
        )
        .with_object("s", KEY, "abc")
        .with_object(
            "s",
            format!("{KEY}.manifest.json"),
            manifest(sha_in_manifest, 3),
        )
}

pub(crate) fn hashed(sha: &str) -> Transferred {
    Transferred {
        bytes_in: 3,
        bytes_out: 10,
        sha256: Some(sha.into()),
        duration: StdDuration::from_millis(1),
        planned: false,
    }
}

pub(crate) fn ctx() -> Context {
    Context::for_test()
}

#[test]
fn describe_names_the_plugin() {
    let d = Restore::describe();
    assert_eq!(d.name, "restore");
    assert!(d.find_action("drop-kept").is_some());
}

#[test]
fn a_corrupt_backup_is_refused_before_anything_is_touched() {
    let host = stored("good").transfer_returns(hashed("bad"));
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "name": "site", "url": URL }),
        )
        .unwrap_err();
    assert!(
        e.message.contains("its sha256 is bad") && e.message.contains("nothing was restored"),
        "{e:?}"
    );
    assert!(host.commands().is_empty(), "no command ran");
    assert_eq!(host.transfers().len(), 1);
}

#[test]
fn a_truncated_backup_is_refused_by_its_size() {
    let host = stored("good");
    let host = host.with_object("s", format!("{KEY}.manifest.json"), manifest("good", 99));
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "name": "site", "url": URL }),
        )
        .unwrap_err();
    assert!(e.message.contains("truncated"), "{e:?}");
    assert!(host.transfers().is_empty() && host.commands().is_empty());
}

#[test]
fn a_manifest_missing_a_field_or_not_json_is_refused_naming_it() {
    let mut m: serde_json::Value = serde_json::from_str(&manifest("good", 3)).unwrap();
    m.as_object_mut().unwrap().remove("size");
    for (text, says) in [
        (m.to_string(), "missing field `size`"),
        ("{\"format\": 1, \"size\": -3".to_string(), "is not valid"),
        ("\u{0}\u{1}".to_string(), "is not valid"),
    ] {
        let host = stored("good").with_object("s", format!("{KEY}.manifest.json"), text);
        let e = host
            .invoke::<Restore>(
                &ctx(),
                "postgres",
                json!({ "storage": "s", "key": KEY, "url": URL }),
            )
            .unwrap_err();
        assert!(e.message.contains(says), "{e:?}");
        assert!(host.transfers().is_empty() && host.commands().is_empty());
    }
}

#[test]
fn the_latest_backup_is_restored_into_a_new_database() {
    let host = stored("good")
        .on_transfer(|_| Ok(hashed("good")))
        .on_exec(|c| {
            let sql = c.args.last().cloned().unwrap_or_default();
            let _ = sql;
            Ok(Completed::ok(""))
        });
    let out = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "name": "site", "url": URL, "owner": "cairn" }),
        )
        .unwrap();
    assert_eq!(out["key"], KEY);
    assert_eq!(out["database"], "site_scratch");
    assert_eq!(out["created"], true);
    assert_eq!(out["backup-created"], "2026-11-20T03:00:00Z");
    let sqls: Vec<String> = host
        .commands()
        .iter()
        .map(|c| c.args.last().unwrap().clone())
        .collect();
    assert!(
        sqls.iter()
            .any(|s| s == "create database \"site_scratch\" owner \"cairn\""),
        "{sqls:?}"
    );
    for c in host.commands() {
        assert!(
            c.args.iter().all(|a| !a.contains(":pw@")),
            "no password in argv: {c:?}"
        );
        assert!(
            c.args
                .contains(&"--dbname=postgresql://postgres@127.0.0.1:55433/postgres".to_string())
        );
    }
    let t = &host.transfers()[1];
    let Sink::Command(c) = &t.sink else { panic!() };
    assert_eq!(c.program, "pg_restore");
    assert!(
        c.args
            .contains(&"--dbname=postgresql://postgres@127.0.0.1:55433/site_scratch".to_string())
    );
}

pub(crate) fn existing_with_tables(n: u32) -> MockHost {
    stored("good")
        .on_transfer(|_| Ok(hashed("good")))
        .on_exec(move |c| {
            let sql = c.args.last().cloned().unwrap_or_default();
            Ok(Completed::ok(
                if sql.starts_with("select 1 from pg_database") {
                    "1\n".to_string()
                } else if sql.starts_with("select count(*)") {
                    format!("{n}\n")
                } else {
                    String::new()
                },
            ))
        })
}

#[test]
fn a_non_empty_database_is_refused_without_replace() {
    let host = existing_with_tables(12);
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "name": "site", "url": URL }),
        )
        .unwrap_err();
    assert!(
        e.message.contains("not empty") && e.message.contains("replace"),
        "{e:?}"
    );
    assert!(host.commands().iter().all(|c| c.effect == Effect::Read));
    assert_eq!(host.transfers().len(), 1, "only the checksum check");
}

#[test]
fn replace_keeps_the_old_database() {
    let host = existing_with_tables(12);
    let out = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "name": "site", "url": URL, "replace": true }),
        )
        .unwrap();
    assert_eq!(out["kept"], "site_scratch_before_test_run");
    let sqls: Vec<String> = host
        .commands()
        .iter()
        .map(|c| c.args.last().unwrap().clone())
        .collect();
    assert!(sqls.contains(
        &"alter database \"site_scratch\" rename to \"site_scratch_before_test_run\"".to_string()
    ));
}

#[test]
fn an_empty_existing_database_is_used_as_it_is() {
    let host = existing_with_tables(0);
    let out = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "name": "site", "url": URL }),
        )
        .unwrap();
    assert_eq!(out["created"], false);
    assert!(host.commands().iter().all(|c| c.effect == Effect::Read));
}

#[test]
fn a_dry_run_checks_for_real_and_plans_the_rest() {
    let host = stored("good")
        .dry_run()
        .on_transfer(|_| Ok(hashed("good")))
        .on_exec(|_| Ok(Completed::ok("")));
    let out = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "name": "site", "url": URL }),
        )
        .unwrap();
    assert_eq!(out["planned"], true);
    let writes: Vec<_> = host
        .commands()
        .into_iter()
        .filter(|c| c.effect == Effect::Write)
        .collect();
    assert_eq!(writes.len(), 2, "create database + comment, planned");
}

#[test]
fn a_parallel_restore_reads_the_archive_once_and_checks_it_on_the_way() {
    let host = stored("good")
        .on_transfer(|_| Ok(hashed("good")))
        .on_exec(|_| Ok(Completed::ok("")));
    host.invoke::<Restore>(
        &ctx(),
        "postgres",
        json!({ "storage": "s", "key": KEY, "url": URL, "jobs": 2 }),
    )
    .unwrap();
    let transfers = host.transfers();
    assert_eq!(transfers.len(), 1, "one read of the archive: {transfers:?}");
    let t = &transfers[0];
    assert!(matches!(
        t.transforms[..],
        [Transform::Sha256, Transform::Unzstd]
    ));
    let Sink::Command(save) = &t.sink else {
        panic!("the archive goes to a file on the target: {:?}", t.sink)
    };
    let file = save.args.last().unwrap();
    let cmds = host.commands();
    let restore = cmds.iter().position(|c| c.program == "pg_restore").unwrap();
    assert_eq!(cmds[restore].args.last(), Some(file));
    assert!(cmds[restore].args.contains(&"--jobs=2".to_string()));
    let create = cmds
        .iter()
        .position(|c| c.args.iter().any(|a| a.starts_with("create database")))
        .unwrap();
    assert!(create < restore);
    assert_eq!(
        cmds.last().unwrap().args.last(),
        Some(file),
        "removed at the end"
    );
}

#[test]
fn a_parallel_restore_of_a_corrupt_archive_touches_nothing_and_removes_its_file() {
    let host = stored("good")
        .on_transfer(|_| Ok(hashed("bad")))
        .on_exec(|_| Ok(Completed::ok("")));
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "key": KEY, "url": URL, "jobs": 2 }),
        )
        .unwrap_err();
    assert!(
        e.message.contains("its sha256 is bad") && e.message.contains("nothing was restored"),
        "{e:?}"
    );
    let cmds = host.commands();
    assert_eq!(cmds.len(), 1, "only the file's removal ran: {cmds:?}");
    assert!(cmds[0].args[1].starts_with("rm -f"));
}

#[test]
fn a_parallel_dry_run_still_reads_and_checks_the_archive() {
    let host = stored("good")
        .dry_run()
        .on_transfer(|_| Ok(hashed("bad")))
        .on_exec(|_| Ok(Completed::ok("")));
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "postgres",
            json!({ "storage": "s", "key": KEY, "url": URL, "jobs": 2 }),
        )
        .unwrap_err();
    assert!(e.message.contains("its sha256 is bad"), "{e:?}");
    let transfers = host.transfers();
    assert_eq!(transfers.len(), 2, "the copy planned, the check performed");
    assert!(matches!(transfers[1].sink, Sink::Discard));
}

#[test]
fn files_refuse_a_non_empty_directory() {
    let key = "backups/files/media-20261120T030000Z.tar.zst";
    let mut m: Manifest = serde_json::from_str(&manifest("good", 3)).unwrap();
    m.kind = "files".into();
    m.key = key.into();
    let host = MockHost::new()
        .with_object("s", key, "abc")
        .with_object(
            "s",
            format!("{key}.manifest.json"),
            serde_json::to_string(&m).unwrap(),
        )
        .on_transfer(|_| Ok(hashed("good")))
        .exec_returns(Completed::ok(""));
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "files",
            json!({ "storage": "s", "name": "media", "dir": "/srv/media" }),
        )
        .unwrap_err();
    assert!(e.message.contains("not empty"), "{e:?}");
    assert!(
        !host
            .calls()
            .iter()
            .any(|c| matches!(c, Call::Transfer(t) if matches!(t.sink, Sink::Command(_))))
    );
}

#[test]
fn drop_kept_only_drops_kept_databases() {
    let host = MockHost::new();
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "drop-kept",
            json!({ "url": "postgresql://h/postgres", "database": "site" }),
        )
        .unwrap_err();
    assert!(e.message.contains("not a database kept"));
    let host = MockHost::new().exec_returns(Completed::ok("16384|77|0||something else\n"));
    let e = host
        .invoke::<Restore>(
            &ctx(),
            "drop-scratch",
            json!({ "url": "postgresql://h/postgres", "database": "site" }),
        )
        .unwrap_err();
    assert!(e.message.contains("is not a rehearsal scratch"), "{e:?}");
}

#[test]
fn kept_names_fit_postgres() {
    assert_eq!(
        kept_name("site", "20261122-030000-12345"),
        "site_before_20261122_030000_12345"
    );
    assert!(kept_name(&"x".repeat(80), "20261122-030000-12345").len() <= 63);
}
