use super::*;
use cairn_sdk::MaybeSecret;
use cairn_sdk::mock::MockHost;
use std::time::Duration as StdDuration;

fn done(sha: &str) -> Transferred {
    Transferred {
        bytes_in: 1000,
        bytes_out: 300,
        sha256: Some(sha.into()),
        duration: StdDuration::from_millis(5),
        planned: false,
    }
}

#[test]
fn describe_names_the_plugin_and_its_actions() {
    let d = Backup::describe();
    assert_eq!(d.name, "backup");
    for a in ["postgres", "sqlite", "files", "prune", "verify"] {
        assert!(d.find_action(a).is_some(), "{a}");
    }
}

#[test]
fn postgres_streams_pg_dump_into_the_storage_and_writes_a_manifest() {
    let host = MockHost::new().transfer_returns(done("ab12")).on_exec(|_| {
        Ok(Completed::ok(
            "public.notes_note 42\npublic.django_session 7\n",
        ))
    });
    let ctx = Context::for_test().with_target("db");
    let out = host
        .invoke::<Backup>(
            &ctx,
            "postgres",
            json!({ "url": "postgresql://cairn:s3cret@127.0.0.1:55432/site", "storage": "offsite" }),
        )
        .unwrap();
    let t = &host.transfers()[0];
    let Source::Command(cmd) = &t.source else {
        panic!("{t:?}")
    };
    // pg_dump runs in a script that counts the rows in the dump's snapshot.
    assert_eq!(cmd.program, "sh");
    assert!(cmd.args[1].contains("pg_export_snapshot()") && cmd.args[1].contains("--snapshot="));
    assert!(
        cmd.args
            .contains(&"postgresql://cairn@127.0.0.1:55432/site".to_string())
    );
    assert!(cmd.args.contains(&"--format=custom".to_string()));
    assert!(
        !format!("{:?}", cmd.args).contains("s3cret"),
        "no password in argv"
    );
    assert_eq!(
        cmd.env,
        [("PGPASSWORD".to_string(), MaybeSecret::from("s3cret"))]
    );
    assert_eq!(cmd.target.as_deref(), Some("db"));
    assert_eq!(t.transforms, [Transform::Zstd(3), Transform::Sha256]);
    let key = out["key"].as_str().unwrap();
    assert!(
        key.starts_with("backups/postgres/site-") && key.ends_with("Z.dump.zst"),
        "{key}"
    );
    assert_eq!(t.sink, Sink::object("offsite", key));
    let m: Manifest = serde_json::from_slice(
        &host
            .object("offsite", &format!("{key}.manifest.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (m.kind.as_str(), m.sha256.as_str(), m.size, m.raw_size),
        ("postgres", "ab12", 300, 1000)
    );
    assert_eq!(m.source, "postgresql://cairn@127.0.0.1:55432/site");
    let counts = m.row_counts.expect("row counts in the manifest");
    assert_eq!(counts["public.notes_note"], 42);
    assert_eq!(counts["public.django_session"], 7);
    // The counts were read back from the file the script wrote, on the
    // step's target, and that file removed.
    let read = &host.commands()[0];
    assert_eq!(read.target.as_deref(), Some("db"));
    assert!(read.args.iter().any(|a| a.ends_with(".counts")), "{read:?}");
    assert_eq!(out["tables-counted"], 2);
    assert_eq!(out["backup-created"], out["created"]);
    assert_eq!(out["sha256"], "ab12");
}

#[test]
fn unknown_arguments_are_refused() {
    let host = MockHost::new();
    let e = host
        .invoke::<Backup>(
            &Context::for_test(),
            "files",
            json!({ "dir": "/x", "storage": "s", "dirr": 1 }),
        )
        .unwrap_err();
    assert!(e.message.contains("unknown argument"), "{e:?}");
}

#[test]
fn files_and_sqlite_stream_a_command() {
    let host = MockHost::new().on_transfer(|_| Ok(done("cd34")));
    let out = host
        .invoke::<Backup>(
            &Context::for_test(),
            "files",
            json!({ "dir": "/srv/site/media/", "storage": "local", "prefix": "" }),
        )
        .unwrap();
    assert!(out["key"].as_str().unwrap().starts_with("files/media-"));
    let out = host
        .invoke::<Backup>(
            &Context::for_test(),
            "sqlite",
            json!({ "path": "data/site.sqlite3", "storage": "local" }),
        )
        .unwrap();
    assert!(
        out["key"]
            .as_str()
            .unwrap()
            .starts_with("backups/sqlite/site-")
    );
    let t = &host.transfers()[1];
    let Source::Command(cmd) = &t.source else {
        panic!()
    };
    assert_eq!((cmd.program.as_str(), cmd.effect), ("sh", Effect::Read));
    assert_eq!(cmd.args.last().unwrap(), "data/site.sqlite3");
}

#[test]
fn a_dry_run_plans_the_archive_and_its_manifest() {
    let host = MockHost::new().dry_run();
    let out = host
        .invoke::<Backup>(
            &Context::for_test(),
            "files",
            json!({ "dir": "/m", "storage": "local" }),
        )
        .unwrap();
    assert_eq!(out["planned"], true);
    assert!(host.keys("local").is_empty());
}

fn seeded(n: usize) -> MockHost {
    let mut host = MockHost::new();
    for i in 0..n {
        let key = format!("backups/postgres/site-2026110{i}T000000Z.dump.zst");
        host =
            host.with_object("s", &key, "x")
                .with_object("s", format!("{key}.manifest.json"), "{}");
    }
    host.with_object("s", "backups/postgres/site-other.txt", "")
}

#[test]
fn prune_keeps_the_newest() {
    let host = seeded(5);
    let out = host
        .invoke::<Backup>(
            &Context::for_test(),
            "prune",
            json!({ "storage": "s", "kind": "postgres", "name": "site", "keep": 2 }),
        )
        .unwrap();
    assert_eq!(out["deleted-count"], 3);
    let keys = host.keys("s");
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(keys.contains(&"backups/postgres/site-20261104T000000Z.dump.zst".to_string()));
    assert!(
        !keys
            .contains(&"backups/postgres/site-20261100T000000Z.dump.zst.manifest.json".to_string())
    );

    let e = seeded(1)
        .invoke::<Backup>(
            &Context::for_test(),
            "prune",
            json!({ "storage": "s", "kind": "postgres", "name": "site", "keep": 0 }),
        )
        .unwrap_err();
    assert!(e.message.contains("only copy"));
    let one = seeded(1);
    let out = one
        .invoke::<Backup>(
            &Context::for_test(),
            "prune",
            json!({ "storage": "s", "kind": "postgres", "name": "site", "keep": 1 }),
        )
        .unwrap();
    assert_eq!(out["deleted-count"], 0);
}

#[test]
fn backups_within_one_second_do_not_replace_each_other() {
    let host = MockHost::new().on_transfer(|_| Ok(done("ab")));
    let mut keys = Vec::new();
    for _ in 0..3 {
        let out = host
            .invoke::<Backup>(
                &Context::for_test(),
                "files",
                json!({ "dir": "/m", "storage": "s" }),
            )
            .unwrap();
        let key = out["key"].as_str().unwrap().to_string();
        host.storage_put("s", &key, b"x").unwrap();
        keys.push(key);
    }
    keys.dedup();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let listed: Vec<String> = archives(&host, "s", "backups/", "files", "m")
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(listed, keys, "oldest first");
}

#[test]
fn prune_in_a_dry_run_deletes_nothing() {
    let host = seeded(3).dry_run();
    let out = host
        .invoke::<Backup>(
            &Context::for_test(),
            "prune",
            json!({ "storage": "s", "kind": "postgres", "name": "site", "keep": 1 }),
        )
        .unwrap();
    assert_eq!(
        (out["deleted-count"].as_u64(), out["planned"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(host.keys("s").len(), 7);
}

fn manifest_for(key: &str, sha: &str, size: u64) -> String {
    serde_json::to_string(&Manifest {
        format: 1,
        kind: "postgres".into(),
        name: "site".into(),
        key: key.into(),
        source: "site".into(),
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

#[test]
fn verify_checks_the_checksum_first() {
    let key = "backups/postgres/site-20261120T030000Z.dump.zst";
    let host = MockHost::new()
        .with_object("s", key, "xxx")
        .with_object(
            "s",
            format!("{key}.manifest.json"),
            manifest_for(key, "good", 3),
        )
        .transfer_returns(done("bad"));
    let e = host
        .invoke::<Backup>(
            &Context::for_test(),
            "verify",
            json!({ "storage": "s", "kind": "postgres", "name": "site" }),
        )
        .unwrap_err();
    assert!(e.message.contains("its sha256 is bad"), "{e:?}");
    assert_eq!(host.transfers().len(), 1, "nothing after a failed check");

    let host = MockHost::new()
        .with_object("s", key, "xxx")
        .with_object(
            "s",
            format!("{key}.manifest.json"),
            manifest_for(key, "good", 3),
        )
        .on_transfer(|_| Ok(done("good")));
    let out = host
        .invoke::<Backup>(
            &Context::for_test(),
            "verify",
            json!({ "storage": "s", "kind": "postgres", "name": "site" }),
        )
        .unwrap();
    assert_eq!(out["backup-created"], "2026-11-20T03:00:00Z");
    let t = &host.transfers()[1];
    assert!(matches!(&t.sink, Sink::Command(c) if c.program == "pg_restore"));
}

#[test]
fn prune_counts_only_archives_with_a_manifest() {
    // Three finished backups, then a newer archive whose run died before
    // its manifest.
    let half = "backups/postgres/site-20261109T000000Z.dump.zst";
    let host = seeded(3).with_object("s", half, "half");
    let out = host
        .invoke::<Backup>(
            &Context::for_test(),
            "prune",
            json!({ "storage": "s", "kind": "postgres", "name": "site", "keep": 2 }),
        )
        .unwrap();
    assert_eq!(out["deleted-count"], 1);
    assert_eq!(
        out["kept"],
        json!([
            "backups/postgres/site-20261101T000000Z.dump.zst",
            "backups/postgres/site-20261102T000000Z.dump.zst"
        ])
    );
    assert_eq!(out["without-manifest"], json!([half]));
    assert!(host.keys("s").contains(&half.to_string()));
}

#[test]
fn latest_is_the_newest_archive_with_a_valid_manifest() {
    let good = "backups/postgres/site-20261101T000000Z.dump.zst";
    let half = "backups/postgres/site-20261102T000000Z.dump.zst";
    let broken = "backups/postgres/site-20261103T000000Z.dump.zst";
    let host = MockHost::new()
        .with_object("s", good, "x")
        .with_object(
            "s",
            format!("{good}.manifest.json"),
            manifest_for(good, "ab", 1),
        )
        .with_object("s", half, "x")
        .with_object("s", broken, "x")
        .with_object("s", format!("{broken}.manifest.json"), "{ not json");
    let (key, m) = pick(&host, "s", "backups/", "postgres", Some("site"), None).unwrap();
    assert_eq!((key.as_str(), m.key.as_str()), (good, good));
    let empty = MockHost::new().with_object("s", half, "x");
    let e = pick(&empty, "s", "backups/", "postgres", Some("site"), None).unwrap_err();
    assert!(e.message.contains("with a valid manifest"), "{e}");
    assert!(e.message.contains(half), "{e}");
}
