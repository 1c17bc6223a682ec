//! Labels, scratch guards and the comparison, against the mock host.

use super::*;
use cairn_sdk::mock::MockHost;
use serde_json::json;
use std::time::Duration as StdDuration;

const KEY: &str = "backups/postgres/site-20261120T030000Z.dump.zst";
const URL: &str = "postgresql://postgres:pw@127.0.0.1:55433/site_scratch";
const ADMIN: &str = "postgresql://postgres@127.0.0.1:55433/postgres";

fn manifest(counts: Option<&[(&str, u64)]>) -> String {
    serde_json::to_string(&Manifest {
        format: 1,
        kind: "postgres".into(),
        name: "site".into(),
        key: KEY.into(),
        source: "postgresql://cairn@127.0.0.1:55432/site".into(),
        size: 3,
        raw_size: 10,
        sha256: "good".into(),
        compression: "zstd".into(),
        created: "2026-11-20T03:00:00Z".into(),
        plugin: "backup".into(),
        plugin_version: "0.1.0".into(),
        runbook: "backup".into(),
        run_id: "r".into(),
        step: "db".into(),
        row_counts: counts.map(|c| c.iter().map(|(t, n)| (t.to_string(), *n)).collect()),
    })
    .unwrap()
}

fn stored(counts: Option<&[(&str, u64)]>) -> MockHost {
    MockHost::new()
        .with_object("s", KEY, "abc")
        .with_object("s", format!("{KEY}.manifest.json"), manifest(counts))
        .on_transfer(|_| {
            Ok(Transferred {
                bytes_in: 3,
                bytes_out: 10,
                sha256: Some("good".into()),
                duration: StdDuration::from_millis(1),
                planned: false,
            })
        })
}

fn sql_of(c: &Command) -> String {
    c.args.last().cloned().unwrap_or_default()
}

#[test]
fn a_rehearsal_labels_its_new_database_with_its_run_and_oid() {
    let host = stored(None).on_exec(|c| {
        Ok(Completed::ok(if sql_of(c).starts_with("select oid") {
            "16999\n"
        } else {
            ""
        }))
    });
    let ctx = Context::for_test().with_mode(Mode::Rehearsal);
    let out = host
        .invoke::<Restore>(
            &ctx,
            "postgres",
            json!({ "storage": "s", "name": "site", "url": URL }),
        )
        .unwrap();
    assert_eq!(out["oid"], "16999");
    assert_eq!(out["run-id"], "test-run");
    assert_eq!(out["scratch"], true);
    let label = format!("cairn rehearsal scratch run=test-run oid=16999 of {KEY}");
    assert_eq!(out["label"], label.as_str());
    assert!(
        host.commands()
            .iter()
            .any(|c| sql_of(c) == format!("comment on database \"site_scratch\" is '{label}'")),
        "{:?}",
        host.commands()
    );
    // A real restore is labelled as one.
    let host = stored(None).on_exec(|c| {
        Ok(Completed::ok(if sql_of(c).starts_with("select oid") {
            "5\n"
        } else {
            ""
        }))
    });
    let out = host
        .invoke::<Restore>(
            &Context::for_test(),
            "postgres",
            json!({ "storage": "s", "name": "site", "url": URL }),
        )
        .unwrap();
    assert_eq!(
        out["label"],
        format!("cairn restore run=test-run oid=5 of {KEY}").as_str()
    );
}

#[test]
fn a_scratch_is_never_restored_into_an_existing_database() {
    let host = stored(None).on_exec(|c| {
        Ok(Completed::ok(
            if sql_of(c).starts_with("select 1 from pg_database") {
                "1\n"
            } else {
                "0\n"
            },
        ))
    });
    let e = host
        .invoke::<Restore>(
            &Context::for_test(),
            "postgres",
            json!({ "storage": "s", "name": "site", "url": URL, "scratch": true }),
        )
        .unwrap_err();
    assert!(e.message.contains("already exists"), "{e:?}");
    assert!(host.commands().iter().all(|c| c.effect == Effect::Read));
}

/// The answer of `drop-scratch`'s look at the database: OID, cluster,
/// clients, who, comment.
fn looked(row: &'static str) -> MockHost {
    MockHost::new().on_exec(move |c| {
        Ok(Completed::ok(if sql_of(c).starts_with("select d.oid") {
            row
        } else {
            ""
        }))
    })
}

fn drop_it(host: &MockHost) -> Result<Outputs, PluginError> {
    host.invoke::<Restore>(
        &Context::for_test(),
        "drop-scratch",
        json!({ "url": ADMIN, "database": "site_scratch" }),
    )
}

#[test]
fn drop_scratch_drops_only_this_runs_scratch_with_its_oid_and_no_clients() {
    let ok = looked("16999|77|0||cairn rehearsal scratch run=test-run oid=16999 of k\n");
    let out = drop_it(&ok).unwrap();
    assert_eq!(out["dropped"], "site_scratch");
    assert!(
        ok.commands()
            .iter()
            .any(|c| sql_of(c) == "drop database \"site_scratch\"")
    );
    assert!(
        !ok.commands()
            .iter()
            .any(|c| sql_of(c).contains("pg_terminate_backend")),
        "nobody is disconnected"
    );
    for (row, why) in [
        (
            "16999|77|0||cairn restore run=test-run oid=16999 of k\n",
            "labelled `cairn restore",
        ),
        (
            "16999|77|0||cairn rehearsal scratch run=other-run oid=16999 of k\n",
            "was restored by another run (other-run)",
        ),
        (
            "17000|77|0||cairn rehearsal scratch run=test-run oid=16999 of k\n",
            "has OID 17000, not the OID 16999",
        ),
        (
            "16999|77|2|site pid 1, site pid 2|cairn rehearsal scratch run=test-run oid=16999 of k\n",
            "2 other client(s) connected (site pid 1, site pid 2)",
        ),
    ] {
        let host = looked(row);
        let e = drop_it(&host).unwrap_err();
        assert!(
            e.message
                .starts_with("drop-scratch refused: database `site_scratch`")
                && e.message.contains(why)
                && e.message.ends_with("nothing was dropped"),
            "{e:?}"
        );
        assert!(host.commands().iter().all(|c| c.effect == Effect::Read));
    }
}

#[test]
fn drop_scratch_refuses_the_source_by_cluster_and_oid() {
    let host = MockHost::new().on_exec(|c| {
        let sql = sql_of(c);
        Ok(Completed::ok(if sql.starts_with("select d.oid") {
            "16999|77|0||cairn rehearsal scratch run=test-run oid=16999 of k\n"
        } else if sql.contains("current_database()") {
            "77|16999\n"
        } else {
            ""
        }))
    });
    let e = host
        .invoke::<Restore>(
            &Context::for_test(),
            "drop-scratch",
            json!({
                "url": ADMIN,
                "database": "site_scratch",
                "source-url": "postgresql://site@db.internal:5432/site",
            }),
        )
        .unwrap_err();
    assert!(
        e.message.contains("`site_scratch`")
            && e.message.contains("is the source database of this run (`postgresql://site@db.internal:5432/site`: the same cluster 77 and OID 16999)"),
        "{e:?}"
    );
}

#[test]
fn an_archive_without_counts_is_compared_with_the_live_database_exactly() {
    let host = stored(None).on_exec(|c| {
        Ok(Completed::ok(
            if c.args.iter().any(|a| a.contains("site_scratch")) {
                "public.a 10\npublic.django_session 3\n"
            } else {
                "public.a 10\npublic.django_session 4\n"
            },
        ))
    });
    let args = |ignore: &str| {
        json!({
            "url": URL, "storage": "s", "key": KEY,
            "source-url": "postgresql://cairn@127.0.0.1:55432/site",
            "tolerance": "50%", "ignore-tables": ignore,
        })
    };
    let e = host
        .invoke::<Restore>(&Context::for_test(), "compare", args(""))
        .unwrap_err();
    assert!(
        e.message
            .contains("public.django_session: 4 live, 3 restored"),
        "{e:?}"
    );
    let out = host
        .invoke::<Restore>(&Context::for_test(), "compare", args("django_session"))
        .unwrap();
    assert_eq!(out["against"], "live");
    assert!(
        out["summary"]
            .as_str()
            .unwrap()
            .contains("the backup's manifest has no row counts"),
        "{out:?}"
    );
}

#[test]
fn with_counts_the_manifest_is_exact_and_the_live_database_within_the_tolerance() {
    let host = stored(Some(&[("public.a", 10), ("public.django_session", 3)])).on_exec(|c| {
        Ok(Completed::ok(
            if c.args.iter().any(|a| a.contains("site_scratch")) {
                "public.a 10\npublic.django_session 3\n"
            } else {
                "public.a 11\npublic.django_session 900\n"
            },
        ))
    });
    let out = host
        .invoke::<Restore>(
            &Context::for_test(),
            "compare",
            json!({
                "url": URL, "storage": "s", "key": KEY,
                "source-url": "postgresql://cairn@127.0.0.1:55432/site",
                "tolerance": "10%", "ignore-tables": "django_session",
            }),
        )
        .unwrap();
    assert_eq!(out["against"], "manifest");
    assert_eq!(out["live-drift"]["public.a"]["live"], 11);
}
