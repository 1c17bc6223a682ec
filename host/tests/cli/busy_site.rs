//! Checks that hold on a site that keeps changing: the backup counts the
//! rows of every table in the snapshot it dumps, the restored database
//! must match those counts exactly, and the live database is compared only
//! within a tolerance, without the tables that change all the time. A
//! writer inserts into the "live" database (the test's own, on the lab's
//! new server) all along.

use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::Project;
use crate::backup::{Scratch, databases, lab, outputs, psql, unique, with_db};

/// One psql process inserting a django_session row every 50 ms, for at
/// most about three minutes; its pid is the child's.
struct Writer(Child);

impl Writer {
    fn start(url: &str, p: &Project) -> Self {
        let script = "insert into django_session values (md5(random()::text || clock_timestamp()::text), 'busy', now() + interval '1 day');\nselect pg_sleep(0.05);\n".repeat(3600);
        p.file("writer.sql", &script);
        let child = Command::new("psql")
            .args([
                "--no-psqlrc",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url,
                "-f",
            ])
            .arg(p.join("writer.sql"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("psql");
        Writer(child)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Exactly the process this test started.
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

/// The manifest of the newest postgres archive in the project's `local`
/// storage.
fn manifest(p: &Project, key: &str) -> Value {
    let mut found = Vec::new();
    let mut dirs = vec![p.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .to_str()
                .unwrap()
                .ends_with(&format!("{key}.manifest.json"))
            {
                found.push(path);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    serde_json::from_str(&std::fs::read_to_string(&found[0]).unwrap()).unwrap()
}

fn count(url: &str, table: &str) -> u64 {
    psql(url, &format!("select count(*) from {table}"))
        .parse()
        .unwrap()
}

#[test]
fn a_busy_site_is_backed_up_with_its_counts_and_rehearsed_without_false_alarms() {
    let Some(lab) = lab() else { return };
    let p = Project::new();
    let live = unique("busy_live");
    let scratch = unique("busy_scratch");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![live.clone(), scratch.clone()],
    };
    // The "live" site: the lab's database, restored as the test's own.
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={}", lab.primary),
    ])
    .success();
    p.cairn(&[
        "run",
        "restore",
        "-p",
        &format!("server-url={}", lab.new_admin),
        "-p",
        &format!("database={live}"),
        "-p",
        "owner=cairn",
    ])
    .success();
    let live_url = with_db(&lab.new_admin, &live);
    let writer = Writer::start(&live_url, &p);
    let first = count(&live_url, "django_session");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while count(&live_url, "django_session") < first + 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer does not write"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // The backup, while the writer writes: the counts are those of the dump.
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={live_url}"),
        "-p",
        "name=busy",
    ])
    .success();
    let key = outputs(&p, "database")["key"].as_str().unwrap().to_string();
    let m = manifest(&p, &key);
    let counted = &m["row-counts"];
    assert!(counted.is_object(), "row counts in the manifest: {m:#}");
    let sessions = counted["public.django_session"].as_u64().unwrap();
    assert_eq!(counted["public.notes_note"], count(&live_url, "notes_note"));

    // The rehearsal, while the writer writes.
    let run = p.cairn(&[
        "rehearse",
        "dr-rehearsal",
        "-p",
        &format!("source-url={live_url}"),
        "-p",
        &format!("server-url={}", lab.new_admin),
        "-p",
        &format!("database={scratch}"),
        "-p",
        "owner=cairn",
        "-p",
        "name=busy",
    ]);
    let still_writing = count(&live_url, "django_session");
    drop(writer);
    run.success().stdout_has("every check passed");
    let rows = outputs(&p, "rows-match");
    assert_eq!(rows["against"], "manifest", "{rows:#}");
    assert_eq!(
        rows["counts"]["public.django_session"], sessions,
        "{rows:#}"
    );
    let summary = rows["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!("exactly as counted in backup {key}"))
            && summary.contains("not comparing django_session"),
        "{summary}"
    );
    assert!(
        still_writing > sessions,
        "the live table changed during the rehearsal ({sessions} backed up, {still_writing} live)"
    );
    assert!(
        !databases(&lab.new_admin).contains(&scratch),
        "scratch dropped"
    );
}

/// A restored database that does not hold what the backup counted fails
/// the check, however the live database looks; an archive without counts
/// is compared with the live database, and the check says so.
#[test]
fn compare_holds_the_restored_database_to_the_manifest() {
    let Some(lab) = lab() else { return };
    let p = Project::new();
    let db = unique("cmp");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={}", lab.primary),
    ])
    .success();
    let key = outputs(&p, "database")["key"].as_str().unwrap().to_string();
    p.cairn(&[
        "run",
        "restore",
        "-p",
        &format!("server-url={}", lab.new_admin),
        "-p",
        &format!("database={db}"),
        "-p",
        "owner=cairn",
    ])
    .success();
    let url = with_db(&lab.new_admin, &db);
    p.runbook(
        "cmp",
        r#"
runbook cmp version=1 {
    param url required=#true
    param key default=""
    param source-url default=""
    step rows uses=restore action=compare {
        url "{{ params.url }}"
        storage local
        key "{{ params.key }}"
        source-url "{{ params.source-url }}"
        tolerance "50%"
    }
}
"#,
    );
    p.cairn(&[
        "run",
        "cmp",
        "-p",
        &format!("url={url}"),
        "-p",
        &format!("key={key}"),
    ])
    .success();
    // One row less than the backup counted: a difference, even though it
    // is well within the tolerance against the live database.
    psql(
        &url,
        "delete from notes_note where id = (select min(id) from notes_note)",
    );
    let run = p.cairn(&[
        "run",
        "cmp",
        "-p",
        &format!("url={url}"),
        "-p",
        &format!("key={key}"),
        "-p",
        &format!("source-url={}", lab.primary),
    ]);
    run.code(1);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(
        text.contains(&format!("differs from backup `{key}`"))
            && text.contains("public.notes_note"),
        "{text}"
    );
}
