//! A backup killed mid-upload, through the real binary, against a `dir`
//! storage and the lab's S3 server: `latest` passes over what it left,
//! `cairn storage gc` removes exactly its debris (and, with `--dry-run`,
//! only lists it), the next backup sweeps it, and `prune` counts only
//! archives that have a manifest.
//!
//! The kill is real: the test database holds a table of ~12 MB of random
//! bytes and one large object, and a session of the test holds
//! `pg_largeobject` locked, so `pg_dump` streams the table (more than one
//! 8 MiB part of an S3 upload) and then waits; the test kills `cairn -9`
//! there. The debris a kill leaves between the archive and its manifest is
//! made by hand, as the killed run would leave it (its owner taken from
//! the killed run's own temporary name), and so is the work of a live
//! writer (this test process), which must survive every sweep.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Project;
use crate::backup::{Lab, Scratch, lab, lab_boto3, outputs, psql, unique, with_db};

/// A database of the test on the lab's primary, dropped at the end.
struct TestDb {
    admin: String,
    url: String,
    name: String,
}

impl TestDb {
    fn new() -> Option<Self> {
        let admin = std::env::var("CAIRN_LAB_PG_PRIMARY_ADMIN").ok()?;
        let name = unique("debris");
        psql(&admin, &format!("create database {name}"));
        let url = with_db(&admin, &name);
        psql(
            &url,
            "create table big(b bytea); \
             insert into big select decode(string_agg(md5(random()::text), ''), 'hex') \
             from generate_series(1, 700000); \
             select lo_from_bytea(0, 'the large object pg_dump reads last')",
        );
        Some(Self { admin, url, name })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["--no-psqlrc", "-d", &self.admin, "-c"])
            .arg(format!(
                "drop database if exists {} with (force)",
                self.name
            ))
            .output();
    }
}

/// A psql session holding `pg_largeobject` locked until dropped: a
/// `pg_dump` of the database then stops after the table data.
struct LoLock {
    child: Child,
}

impl LoLock {
    fn take(url: &str) -> Self {
        let mut child = Command::new("psql")
            .args(["--no-psqlrc", "-tA", "-d", url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("psql");
        let stdin = child.stdin.as_mut().unwrap();
        stdin
            .write_all(
                b"begin; lock table pg_largeobject in access exclusive mode; select 'locked';\n",
            )
            .unwrap();
        stdin.flush().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("locked") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "psql ended");
        }
        Self { child }
    }
}

impl Drop for LoLock {
    fn drop(&mut self) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = stdin.write_all(b"rollback;\n");
        }
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pids of a process's children.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in rd.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
            }
        }
    }
    out
}

/// Starts `cairn run backup` of `db` into `storage`, waits (at most 90 s)
/// until `debris` finds what it leaves mid-upload, kills it with SIGKILL
/// (and the `pg_dump` it started), and returns what `debris` found.
fn killed_backup(
    p: &Project,
    db: &TestDb,
    storage: &str,
    debris: impl Fn() -> Option<String>,
) -> String {
    let _lock = LoLock::take(&db.url);
    let mut cairn = p
        .cmd()
        .args(["run", "nightly", "-p"])
        .arg(format!("database-url={}", db.url))
        .args(["-p", &format!("storage={storage}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cairn");
    let started = Instant::now();
    let found = loop {
        if let Some(f) = debris() {
            break f;
        }
        if started.elapsed() > Duration::from_secs(90) || cairn.try_wait().unwrap().is_some() {
            let _ = cairn.kill();
            let _ = cairn.wait();
            panic!("the backup left no debris to see mid-upload");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // What it started, recorded before the kill (pg_dump, stuck on the lock).
    let kids = children(cairn.id());
    cairn.kill().unwrap();
    cairn.wait().unwrap();
    for k in kids {
        let cmdline = std::fs::read(format!("/proc/{k}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("pg_dump") {
            let _ = Command::new("kill").args(["-9", &k.to_string()]).status();
            let until = Instant::now() + Duration::from_secs(10);
            while Path::new(&format!("/proc/{k}")).exists() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    found
}

/// `RUN.PID.START.MACHINE` out of `.cairn-tmp-TAG-N-NAME` (a name that
/// carries none gives the tag of a writer nobody knows).
fn tag_of(name: &str) -> String {
    let rest = name
        .rsplit('/')
        .next()
        .unwrap()
        .strip_prefix(".cairn-tmp-")
        .unwrap_or_default();
    let dots: Vec<usize> = rest.match_indices('.').map(|(i, _)| i).take(3).collect();
    match dots.get(2) {
        Some(&d) if rest.len() > d + 9 => rest[..d + 9].to_string(),
        _ => "19700101-000000-00000.1.0.00000000".into(),
    }
}

/// The tag of a writer that is alive: this test process.
fn live_tag(machine_of: &str) -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let start = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_string();
    let machine = &machine_of[machine_of.len() - 8..];
    format!(
        "20990101-000000-00000.{}.{start}.{machine}",
        std::process::id()
    )
}

fn stamp_now() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

/// The stock `backup` runbook's database and prune steps (its `verify`
/// step reads the whole dump back, which this test does not need).
const NIGHTLY: &str = r#"runbook nightly version=1 {
    param database-url required=#true
    param storage default=local
    step database uses=backup action=postgres timeout="10m" {
        url "{{ params.database-url }}"
        storage "{{ params.storage }}"
        name site
    }
    step prune-database uses=backup action=prune {
        kind postgres
        name site
        keep 2
        storage "{{ params.storage }}"
    }
}
"#;

fn backup(p: &Project, db: &TestDb, storage: &str) -> String {
    p.runbook("nightly", NIGHTLY);
    p.cairn(&[
        "run",
        "nightly",
        "-p",
        &format!("database-url={}", db.url),
        "-p",
        &format!("storage={storage}"),
    ])
    .success();
    outputs(p, "database")["key"].as_str().unwrap().to_string()
}

/// Every file under a directory, relative, sorted.
fn files(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn setxattr(path: &Path, value: &str) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, sys; os.setxattr(sys.argv[1], 'user.cairn.owner', sys.argv[2].encode())",
        ])
        .arg(path)
        .arg(value)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_backup_killed_mid_write_in_a_dir_storage() {
    let Some(lab) = lab() else { return };
    let Some(db) = TestDb::new() else { return };
    let p = Project::new();
    let objects = p.join(".cairn/objects");
    let series = objects.join("backups/postgres");
    let good = backup(&p, &db, "local");

    // Killed mid-write: its temporary file stays.
    let tmp = killed_backup(&p, &db, "local", || {
        files(&series)
            .into_iter()
            .find(|f| f.starts_with(".cairn-tmp-"))
    });
    let tag = tag_of(&tmp);
    std::thread::sleep(Duration::from_millis(1100));
    // As the run leaves it when killed between the archive and its
    // manifest; the work of a live writer; an object of somebody else.
    let half = format!("site-{}.dump.zst", stamp_now());
    std::fs::write(series.join(&half), b"half an archive").unwrap();
    setxattr(&series.join(&half), &tag);
    let live = format!(".cairn-tmp-{}-0-site-live.dump.zst", live_tag(&tag));
    std::fs::write(series.join(&live), b"being written").unwrap();
    std::fs::write(objects.join("notes.txt"), b"not cairn's").unwrap();
    let before = files(&objects);

    // `latest` is the newest archive with a valid manifest.
    let restored = unique("debris_restore");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![restored.clone()],
    };
    crate::backup::restore_into(&p, &lab, &restored, &["-p", "storage=local"]).success();
    assert_eq!(outputs(&p, "database")["key"], good);

    // gc --dry-run lists and keeps.
    let dry = p.cairn(&["storage", "gc", "local", "--dry-run"]);
    dry.success()
        .stdout_has(&format!(
            "would remove temporary file: dir://local/backups/postgres/{tmp}"
        ))
        .stdout_has(&format!(
            "would remove archive without manifest: dir://local/backups/postgres/{half}"
        ))
        .stdout_has(&format!(
            "kept temporary file: dir://local/backups/postgres/{live}"
        ))
        .stdout_has("is writing it")
        .stdout_lacks("notes.txt");
    assert_eq!(files(&objects), before);

    // gc removes exactly the dead run's debris.
    p.cairn(&["storage", "gc", "local"])
        .success()
        .stdout_has(&format!(
            "removed temporary file: dir://local/backups/postgres/{tmp}"
        ))
        .stdout_has("2 removed, 1 kept");
    let mut expected: Vec<String> = before
        .iter()
        .filter(|f| !f.ends_with(&tmp) && !f.ends_with(&half))
        .cloned()
        .collect();
    expected.sort();
    assert_eq!(files(&objects), expected);
    assert!(expected.contains(&good) && expected.contains(&format!("{good}.manifest.json")));

    // Killed again, and another archive without manifest: the next backup
    // sweeps the temporary file, and prune (keep=2) keeps the two archives
    // that have manifests, and deletes no archive without one.
    let tmp2 = killed_backup(&p, &db, "local", || {
        files(&series)
            .into_iter()
            .find(|f| f.starts_with(".cairn-tmp-") && *f != live)
    });
    std::thread::sleep(Duration::from_millis(1100));
    let half2 = format!("site-{}.dump.zst", stamp_now());
    std::fs::write(series.join(&half2), b"half an archive").unwrap();
    setxattr(&series.join(&half2), &tag_of(&tmp2));
    std::thread::sleep(Duration::from_millis(1100));
    let newest = backup(&p, &db, "local");
    let left = files(&series);
    assert!(!left.contains(&tmp2), "not swept: {left:?}");
    assert!(
        left.contains(&live),
        "a live writer's file was removed: {left:?}"
    );
    assert!(left.contains(&half2), "{left:?}");
    for k in [&good, &newest] {
        let name = k.rsplit('/').next().unwrap();
        assert!(left.contains(&name.to_string()), "{name} pruned: {left:?}");
        assert!(left.contains(&format!("{name}.manifest.json")), "{left:?}");
    }
    assert_eq!(
        outputs(&p, "prune-database")["without-manifest"],
        serde_json::json!([format!("backups/postgres/{half2}")])
    );
    assert!(objects.join("notes.txt").is_file());
}

/// The objects (relative to the project's prefix) and the open uploads
/// (`upload KEY`) under the project's S3 prefix.
fn s3_state(lab: &Lab, p: &Project) -> Vec<String> {
    let listed = lab_boto3(
        lab,
        p,
        "for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix + '/'):\n\
         \x20   for o in page.get('Contents', []): print(o['Key'][len(prefix) + 1:])\n\
         for u in s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix + '/').get('Uploads', []):\n\
         \x20   print('upload', u['Key'][len(prefix) + 1:])",
        &[],
    );
    let mut v: Vec<String> = listed.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// Makes by hand what a run leaves in S3: an archive without manifest
/// owned by `tag`, or an upload with one part and its marker.
fn s3_make(lab: &Lab, p: &Project, what: &str, key: &str, tag: &str) {
    let script = match what {
        "archive" => {
            "s3.put_object(Bucket=bucket, Key=prefix + '/' + sys.argv[4], Body=b'half an archive', Metadata={'cairn-owner': sys.argv[5]})"
        }
        "object" => {
            "s3.put_object(Bucket=bucket, Key=prefix + '/' + sys.argv[4], Body=b'not cairn s')"
        }
        "upload" => {
            "import json\n\
             k = sys.argv[4]\n\
             u = s3.create_multipart_upload(Bucket=bucket, Key=prefix + '/' + k, Metadata={'cairn-owner': sys.argv[5]})['UploadId']\n\
             s3.upload_part(Bucket=bucket, Key=prefix + '/' + k, UploadId=u, PartNumber=1, Body=b'x' * 1024)\n\
             d, b = k.rsplit('/', 1)\n\
             s3.put_object(Bucket=bucket, Key=prefix + '/' + d + '/.cairn-tmp-' + sys.argv[5] + '-0-' + b + '.upload', Body=json.dumps({'key': k, 'upload-id': u}).encode())"
        }
        other => panic!("{other}"),
    };
    lab_boto3(lab, p, script, &[key.as_ref(), tag.as_ref()]);
}

/// Sees a backup mid-upload: an open upload (not the live writer's), and
/// the marker naming its owner (or, 5 s after the upload, none).
fn mid_upload<'a>(lab: &'a Lab, p: &'a Project) -> impl Fn() -> Option<String> + 'a {
    let seen = std::cell::Cell::new(None::<Instant>);
    move || {
        let state = s3_state(lab, p);
        let upload = state
            .iter()
            .any(|k| k.starts_with("upload ") && !k.contains("site-live"));
        if !upload {
            return None;
        }
        let marker = state.into_iter().find(|k| {
            k.contains("/.cairn-tmp-") && k.ends_with(".upload") && !k.contains("site-live")
        });
        let first = *seen.get().get_or_insert_with(Instant::now);
        seen.set(Some(first));
        match marker {
            Some(m) => Some(m),
            None if first.elapsed() > Duration::from_secs(5) => Some("no marker".into()),
            None => None,
        }
    }
}

#[test]
fn a_backup_killed_mid_upload_to_s3() {
    let Some(lab) = lab() else { return };
    let Some(_) = &lab.s3 else {
        eprintln!("skipped: no lab S3");
        return;
    };
    let Some(db) = TestDb::new() else { return };
    let p = crate::backup::project(&lab);
    let good = backup(&p, &db, "lab");

    // Killed mid-upload: the upload stays open, with its marker.
    let marker = killed_backup(&p, &db, "lab", mid_upload(&lab, &p));
    let tag = tag_of(&marker);
    let state = s3_state(&lab, &p);
    assert!(
        state
            .iter()
            .any(|k| k.starts_with("upload backups/postgres/site-")),
        "{state:?}"
    );
    std::thread::sleep(Duration::from_millis(1100));
    let half = format!("backups/postgres/site-{}.dump.zst", stamp_now());
    s3_make(&lab, &p, "archive", &half, &tag);
    let live_key = "backups/postgres/site-live.dump.zst";
    s3_make(&lab, &p, "upload", live_key, &live_tag(&tag));
    s3_make(&lab, &p, "object", "notes.txt", "");
    let before = s3_state(&lab, &p);

    // `latest` passes over the archive without manifest.
    p.runbook(
        "latest",
        "runbook latest version=1 {\n    step find uses=restore action=latest { kind postgres; name site; storage lab; }\n}\n",
    );
    p.cairn(&["run", "latest"]).success();
    assert_eq!(outputs(&p, "find")["key"], good);

    let dry = p.cairn(&["storage", "gc", "lab", "--dry-run"]);
    dry.success()
        .stdout_has("would remove unfinished upload:")
        .stdout_has("would remove archive without manifest: ")
        .stdout_has(&half)
        .stdout_has("kept unfinished upload: ")
        .stdout_has("is writing it")
        .stdout_lacks("notes.txt");
    assert_eq!(s3_state(&lab, &p), before);

    p.cairn(&["storage", "gc", "lab", "--json"]).success();
    let after = s3_state(&lab, &p);
    let expected: Vec<String> = before
        .iter()
        .filter(|k| {
            // The killed run's upload and marker, and its archive, go.
            !(k.as_str() == marker
                || k.as_str() == half
                || (k.starts_with("upload ") && !k.ends_with(live_key)))
        })
        .cloned()
        .collect();
    assert_eq!(after, expected);
    assert!(after.contains(&good) && after.contains(&format!("{good}.manifest.json")));
    assert!(after.contains(&format!("upload {live_key}")), "{after:?}");

    // Killed again: the next backup aborts that upload; prune keeps the
    // two archives with manifests and leaves the one without.
    let marker2 = killed_backup(&p, &db, "lab", mid_upload(&lab, &p));
    std::thread::sleep(Duration::from_millis(1100));
    let half2 = format!("backups/postgres/site-{}.dump.zst", stamp_now());
    s3_make(&lab, &p, "archive", &half2, &tag_of(&marker2));
    std::thread::sleep(Duration::from_millis(1100));
    let newest = backup(&p, &db, "lab");
    let left = s3_state(&lab, &p);
    assert!(!left.contains(&marker2), "{left:?}");
    let uploads: Vec<&String> = left.iter().filter(|k| k.starts_with("upload ")).collect();
    assert_eq!(uploads, [&format!("upload {live_key}")], "{left:?}");
    for k in [&good, &newest, &half2] {
        assert!(left.contains(k), "{k}: {left:?}");
    }
    assert!(left.contains(&format!("{good}.manifest.json")));

    // The live writer's upload is this test's: abort it.
    lab_boto3(
        &lab,
        &p,
        "for u in s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix + '/').get('Uploads', []):\n\
         \x20   s3.abort_multipart_upload(Bucket=bucket, Key=u['Key'], UploadId=u['UploadId'])",
        &[],
    );
}
