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
mod dir;
mod s3;

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
