//! The stock `backup` and `restore` plugins and runbooks through the real
//! binary: the lab's PostgreSQL servers and S3 (skipped without the lab,
//! except under `CI=true`, where a missing lab fails), a `dir` storage for
//! the damaged archives, and the SQLite demo in `examples/demo`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::Project;

pub(crate) struct Lab {
    pub(crate) primary: String,
    pub(crate) new_admin: String,
    pub(crate) media: String,
    pub(crate) s3: Option<(String, String)>,
}

/// The lab's settings; `None` (skip) without it, a panic under `CI=true`.
pub(crate) fn lab() -> Option<Lab> {
    let get = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    match (
        get("CAIRN_LAB_PG_PRIMARY"),
        get("CAIRN_LAB_PG_NEW_ADMIN"),
        get("CAIRN_LAB_MEDIA_DIR"),
    ) {
        (Some(primary), Some(new_admin), Some(media)) => Some(Lab {
            primary,
            new_admin,
            media,
            s3: get("CAIRN_LAB_S3_ENDPOINT").map(|ep| {
                (
                    ep,
                    get("CAIRN_LAB_S3_BUCKET").unwrap_or_else(|| "cairn-lab-backups".into()),
                )
            }),
        }),
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "CI=true but the lab's PostgreSQL is not set up: eval \"$(tests/lab/up postgres s3 site)\""
        ),
        _ => {
            eprintln!(
                "skipped: no lab (eval \"$(tests/lab/up postgres s3 site)\" to run this test)"
            );
            None
        }
    }
}

/// A name no other test run uses.
pub(crate) fn unique(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("cairn_t_{what}_{}_{nanos}", std::process::id())
}

/// The same URL with another database.
pub(crate) fn with_db(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{db}")
}

pub(crate) fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["--no-psqlrc", "-tA", "-d", url, "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub(crate) fn databases(admin: &str) -> Vec<String> {
    psql(admin, "select datname from pg_database order by 1")
        .lines()
        .map(str::to_string)
        .collect()
}

/// Row counts of every table, `schema.table n` per line.
pub(crate) fn row_counts(url: &str) -> String {
    let tables = psql(
        url,
        "select quote_ident(schemaname) || '.' || quote_ident(tablename) from pg_tables \
         where schemaname not in ('pg_catalog', 'information_schema') order by 1",
    );
    tables
        .lines()
        .map(|t| format!("{t} {}", psql(url, &format!("select count(*) from {t}"))))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Drops the scratch databases a test made, whatever happens.
pub(crate) struct Scratch<'a> {
    pub(crate) admin: &'a str,
    pub(crate) names: Vec<String>,
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        for n in &self.names {
            for db in databases(self.admin) {
                if db == *n || db.starts_with(&format!("{n}_before_")) {
                    let _ = Command::new("psql")
                        .args(["--no-psqlrc", "-d", self.admin, "-c"])
                        .arg(format!("drop database if exists \"{db}\" with (force)"))
                        .output();
                }
            }
        }
    }
}

pub(crate) fn project(lab: &Lab) -> Project {
    let s3 = match &lab.s3 {
        Some((ep, bucket)) => {
            let prefix = unique("s3");
            format!(
                "storage lab {{ s3 bucket=\"{bucket}\" endpoint=\"{ep}\" region=\"us-east-1\" path-style=#true prefix=\"{prefix}\" }}"
            )
        }
        None => String::new(),
    };
    Project::with_config(&format!("project backup-test {{\n    {s3}\n}}\n"))
}

/// The keys under the project's S3 prefix, listed with the lab's boto3
/// (empty without S3).
fn s3_keys(lab: &Lab, p: &Project) -> Vec<String> {
    if lab.s3.is_none() {
        return Vec::new();
    }
    let listed = lab_boto3(
        lab,
        p,
        "for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix + '/'):\n\
         \x20   for o in page.get('Contents', []): print(o['Key'], o['Size'])",
        &[],
    );
    listed.lines().map(str::to_string).collect()
}

/// Runs `script` with the lab's boto3, given `s3` (a client of the lab's
/// S3 server), `bucket`, `prefix` (the project's storage prefix, from its
/// `cairn.kdl`) and `args` as `sys.argv[4:]`; its stdout.
pub(crate) fn lab_boto3(lab: &Lab, p: &Project, script: &str, args: &[&std::ffi::OsStr]) -> String {
    let (ep, bucket) = lab.s3.as_ref().expect("lab S3");
    let config = std::fs::read_to_string(p.join("cairn.kdl")).unwrap();
    let prefix = config
        .split("prefix=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let python = std::env::var("CAIRN_LAB_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .args([
            "-c",
            &format!(
                "import boto3, sys\n\
                 s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1')\n\
                 bucket, prefix = sys.argv[2], sys.argv[3]\n{script}"
            ),
            ep,
            bucket,
            prefix,
        ])
        .args(args)
        .output()
        .expect("python with boto3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The outputs of `step` in the newest run.
pub(crate) fn outputs(p: &Project, step: &str) -> Value {
    p.last_journal()
        .into_iter()
        .find(|e| e["event"] == "step-finished" && e["step"] == step)
        .unwrap_or_else(|| panic!("no step-finished for `{step}`"))["outputs"]
        .clone()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every file of a tree, by relative path, with its bytes.
pub(crate) fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|f| {
            (
                f.strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(&f).unwrap(),
            )
        })
        .collect()
}

#[test]
fn postgres_and_media_go_to_s3_and_come_back_on_the_new_server() {
    let Some(lab) = lab() else { return };
    let Some(_) = &lab.s3 else {
        eprintln!("skipped: no lab S3");
        return;
    };
    let p = project(&lab);
    let db = unique("restore");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={}", lab.primary),
        "-p",
        &format!("media-dir={}", lab.media),
        "-p",
        "storage=lab",
    ])
    .success();
    let dump = outputs(&p, "database");
    let key = dump["key"].as_str().unwrap();
    assert!(
        key.starts_with("backups/postgres/site-") && key.ends_with(".dump.zst"),
        "{dump}"
    );
    assert_eq!(dump["sha256"].as_str().unwrap().len(), 64);
    assert!(dump["size"].as_u64().unwrap() > 0);
    assert!(
        outputs(&p, "media")["key"]
            .as_str()
            .unwrap()
            .starts_with("backups/files/site-")
    );
    assert_eq!(outputs(&p, "verify-database")["verified"], true);
    // The password reached no command line, no step's event, no output,
    // and the params are journaled with the URL's password masked.
    for line in p.journals().lines() {
        assert!(
            !line.contains("cairn-lab-pw"),
            "password in the journal: {line}"
        );
    }

    let media = p.join("restored-media");
    p.cairn(&[
        "run",
        "restore",
        "-p",
        &format!("server-url={}", lab.new_admin),
        "-p",
        &format!("database={db}"),
        "-p",
        "owner=cairn",
        "-p",
        &format!("media-dir={}", media.display()),
        "-p",
        "storage=lab",
    ])
    .success();
    let restored = outputs(&p, "database");
    assert_eq!(restored["key"], key);
    assert_eq!(restored["database"], db.as_str());
    assert_eq!(restored["created"], true);
    assert!(restored["backup-created"].as_str().unwrap().ends_with('Z'));
    let counts = row_counts(&lab.primary);
    assert!(counts.contains("public.notes_note 5"), "{counts}");
    assert_eq!(row_counts(&with_db(&lab.new_admin, &db)), counts);
    assert_eq!(
        psql(
            &with_db(&lab.new_admin, &db),
            "select tableowner from pg_tables where tablename = 'notes_note'"
        ),
        "cairn"
    );
    assert_eq!(tree(&media), tree(Path::new(&lab.media)));
    assert!(!tree(&media).is_empty());
}

/// Backs the lab's primary up into the project's `local` dir storage; the
/// archive's path.
fn backup_to_dir(p: &Project, lab: &Lab) -> PathBuf {
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={}", lab.primary),
    ])
    .success();
    let key = outputs(p, "database")["key"].as_str().unwrap().to_string();
    p.join(&format!(".cairn/objects/{key}"))
}

pub(crate) fn restore_into(p: &Project, lab: &Lab, db: &str, extra: &[&str]) -> crate::Run {
    let server = format!("server-url={}", lab.new_admin);
    let database = format!("database={db}");
    let mut args = vec!["run", "restore", "-p", &server, "-p", &database];
    args.extend_from_slice(extra);
    p.cairn(&args)
}

#[test]
fn damaged_archives_are_refused_before_any_restore_starts() {
    let Some(lab) = lab() else { return };
    let p = Project::new();
    let db = unique("damaged");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    let archive = backup_to_dir(&p, &lab);
    let good = std::fs::read(&archive).unwrap();

    // One flipped byte in the middle.
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    std::fs::write(&archive, &flipped).unwrap();
    restore_into(&p, &lab, &db, &[])
        .code(1)
        .stdout_has("is refused")
        .stdout_has("nothing was restored");
    assert!(!databases(&lab.new_admin).contains(&db), "database created");
    // In parallel the archive is checked while it is copied to a file for
    // pg_restore -j: refused the same, and the file does not stay.
    let dumps_before = restore_files();
    restore_into(&p, &lab, &db, &["-p", "jobs=2"])
        .code(1)
        .stdout_has("is refused")
        .stdout_has("nothing was restored");
    assert!(!databases(&lab.new_admin).contains(&db), "database created");
    assert_eq!(restore_files(), dumps_before, "the copy was left behind");

    // Cut short.
    std::fs::write(&archive, &good[..good.len() / 2]).unwrap();
    restore_into(&p, &lab, &db, &[])
        .code(1)
        .stdout_has("truncated");
    assert!(!databases(&lab.new_admin).contains(&db), "database created");

    // Whole again: it restores, in parallel, all of it.
    std::fs::write(&archive, &good).unwrap();
    restore_into(&p, &lab, &db, &["-p", "owner=cairn", "-p", "jobs=2"])
        .success()
        .stdout_has("matches its manifest's sha256");
    assert!(databases(&lab.new_admin).contains(&db));
    assert_eq!(
        row_counts(&with_db(&lab.new_admin, &db)),
        row_counts(&lab.primary)
    );
    assert_eq!(restore_files(), dumps_before, "the copy was left behind");
}

/// The copies parallel restores keep in the default temporary directory.
fn restore_files() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("cairn-restore-"))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_non_empty_database_is_refused_without_replace_and_kept_with_it() {
    let Some(lab) = lab() else { return };
    let p = Project::new();
    let db = unique("replace");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    backup_to_dir(&p, &lab);
    restore_into(&p, &lab, &db, &[]).success();
    let url = with_db(&lab.new_admin, &db);
    psql(&url, "create table marker (x int)");

    restore_into(&p, &lab, &db, &[])
        .code(1)
        .stdout_has("is not empty")
        .stdout_has("replace");
    assert_eq!(
        psql(
            &url,
            "select count(*) from pg_tables where tablename = 'marker'"
        ),
        "1"
    );

    restore_into(&p, &lab, &db, &["-p", "replace=true"]).success();
    let kept = outputs(&p, "database")["kept"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(kept.starts_with(&format!("{db}_before_")), "{kept}");
    assert_eq!(
        psql(
            &url,
            "select count(*) from pg_tables where tablename = 'marker'"
        ),
        "0"
    );
    assert_eq!(
        psql(
            &with_db(&lab.new_admin, &kept),
            "select count(*) from pg_tables where tablename = 'marker'"
        ),
        "1"
    );

    // Dropping the kept one is its own step, and only kept ones are dropped.
    p.runbook(
        "drop-kept",
        &format!(
            "runbook drop-kept version=1 {{\n    param database required=#true\n    step drop uses=restore action=drop-kept {{\n        url \"{}\"\n        database \"{{{{ params.database }}}}\"\n    }}\n}}\n",
            lab.new_admin
        ),
    );
    p.cairn(&["run", "drop-kept", "-p", &format!("database={db}")])
        .code(1)
        .stdout_has("not a database kept");
    p.cairn(&["run", "drop-kept", "-p", &format!("database={kept}")])
        .success();
    let dbs = databases(&lab.new_admin);
    assert!(!dbs.contains(&kept) && dbs.contains(&db), "{dbs:?}");
}

#[test]
fn dry_runs_list_every_write_and_change_nothing() {
    let Some(lab) = lab() else { return };
    let p = project(&lab);
    let storage = if lab.s3.is_some() { "lab" } else { "local" };
    // Two real backups first: one for the restore to check, one for the
    // prune to delete.
    for _ in 0..2 {
        p.cairn(&[
            "run",
            "backup",
            "-p",
            &format!("database-url={}", lab.primary),
            "-p",
            &format!("media-dir={}", lab.media),
            "-p",
            &format!("storage={storage}"),
        ])
        .success();
    }
    let before_local = files_under(&p.join(".cairn/objects"));
    let before_s3 = s3_keys(&lab, &p);
    let run = p.cairn(&[
        "run",
        "backup",
        "--dry-run",
        "-p",
        &format!("database-url={}", lab.primary),
        "-p",
        &format!("media-dir={}", lab.media),
        "-p",
        &format!("storage={storage}"),
        "-p",
        "keep=1",
    ]);
    run.success()
        .stdout_has("pg_dump")
        .stdout_has(".dump.zst")
        .stdout_has(".manifest.json")
        .stdout_has(".tar.zst")
        .stdout_has("would be deleted");
    assert_eq!(files_under(&p.join(".cairn/objects")), before_local);
    assert_eq!(s3_keys(&lab, &p), before_s3);

    let db = unique("dry");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    let media = p.join("dry-media");
    // Other tests make their own scratch databases meanwhile: leave theirs out.
    let others = |admin: &str| -> Vec<String> {
        databases(admin)
            .into_iter()
            .filter(|d| !d.starts_with("cairn_t_"))
            .collect()
    };
    let before = others(&lab.new_admin);
    restore_into(
        &p,
        &lab,
        &db,
        &[
            "--dry-run",
            "-p",
            &format!("storage={storage}"),
            "-p",
            &format!("media-dir={}", media.display()),
        ],
    )
    .success()
    .stdout_has("would run: PGPASSWORD=… psql")
    .stdout_has(&format!("create database \"{db}\""))
    .stdout_has("pg_restore");
    assert_eq!(others(&lab.new_admin), before);
    assert!(!databases(&lab.new_admin).contains(&db), "database created");
    assert!(!media.exists());
}

/// The demo: `run backup`, then `rehearse dr-rehearsal`, in a copy.
#[test]
fn the_demo_backs_up_and_rehearses_its_recovery() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo");
    let dir = tempfile::Builder::new()
        .prefix("cairn-demo-")
        .tempdir()
        .unwrap();
    let ok = Command::new("cp")
        .arg("-R")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(ok.success());
    let _ = std::fs::remove_dir_all(dir.path().join(".cairn"));
    let cairn = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .arg("-C")
            .arg(dir.path())
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "cairn {args:?}:\n{text}");
        text
    };
    cairn(&["validate"]);
    cairn(&["run", "backup"]);
    let objects = files_under(&dir.path().join(".cairn/objects"));
    assert_eq!(objects.len(), 4, "{objects:?}");
    let out = cairn(&["rehearse", "dr-rehearsal"]);
    assert!(out.contains("every check passed"), "{out}");
    let runs = dir.path().join(".cairn/runs");
    let report = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("report.json"))
        .find(|r| r.is_file())
        .expect("report.json");
    assert!(report.with_file_name("report.md").is_file());
    let r: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(r["passed"], true, "{r:#}");
    assert_eq!(r["checks"].as_array().unwrap().len(), 2);
    assert!(r["backup"]["created"].as_str().unwrap().ends_with('Z'));
    assert!(
        !dir.path().join(".cairn/rehearsal").exists(),
        "scratch cleaned up"
    );
}

/// Runs a Python snippet with `sys.argv[1:]` = `args`; its stdout.
fn python(code: &str, args: &[&Path]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A SQLite database written to while it is backed up: the copy is one
/// consistent state (every transaction wrote one row to each table). The
/// backup uses the `sqlite3` program when there is one, else python3; so
/// does this test's writer (python3 here, always).
#[test]
fn a_sqlite_backup_under_writes_is_consistent() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: no python3");
        return;
    }
    let p = Project::new();
    let db = p.join("live.db");
    python(
        "import sqlite3, sys, os\n\
         c = sqlite3.connect(sys.argv[1])\n\
         c.execute('pragma journal_mode=wal')\n\
         c.execute('create table a (x blob)'); c.execute('create table b (x blob)')\n\
         c.executemany('insert into a values (?)', ((os.urandom(200),) for _ in range(20000)))\n\
         c.execute('insert into b select x from a'); c.commit()",
        &[&db],
    );
    // A writer: one row into each table per transaction, until killed.
    let mut writer = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, sys, os\n\
             c = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)\n\
             while True:\n\
             \x20   c.execute('begin immediate')\n\
             \x20   c.execute('insert into a values (?)', (os.urandom(200),))\n\
             \x20   c.execute('insert into b values (?)', (os.urandom(200),))\n\
             \x20   c.execute('commit')",
        )
        .arg(&db)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    p.runbook(
        "snap",
        &format!(
            "runbook snap version=1 {{\n    step db uses=backup action=sqlite {{\n        path \"{}\"\n        storage local\n    }}\n    step back uses=restore action=sqlite {{\n        storage local\n        key \"{{{{ steps.db.outputs.key }}}}\"\n        path \"{}\"\n    }}\n}}\n",
            db.display(),
            p.join("copy.db").display()
        ),
    );
    let run = p.cairn(&["run", "snap"]);
    let still_writing = writer.try_wait().unwrap().is_none();
    let _ = writer.kill();
    let _ = writer.wait();
    run.success();
    assert!(still_writing, "the writer wrote throughout");
    let counts = python(
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1])\n\
         print(c.execute('pragma integrity_check').fetchone()[0])\n\
         print(c.execute('select count(*) from a').fetchone()[0], c.execute('select count(*) from b').fetchone()[0])",
        &[&p.join("copy.db")],
    );
    let mut lines = counts.lines();
    assert_eq!(lines.next(), Some("ok"));
    let (a, b) = lines.next().unwrap().split_once(' ').unwrap();
    assert_eq!(a, b, "one consistent state");
    assert!(
        a.parse::<u64>().unwrap() > 20000,
        "{a}: the writes before the backup are in"
    );
}

/// The stock `backup` then `cairn rehearse dr-rehearsal` against the lab:
/// a scratch database on the new server, compared with the primary, then
/// dropped.
#[test]
fn the_stock_dr_rehearsal_restores_compares_and_cleans_up() {
    let Some(lab) = lab() else { return };
    let p = Project::new();
    let db = unique("rehearsal");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={}", lab.primary),
        "-p",
        &format!("media-dir={}", lab.media),
    ])
    .success();
    let scratch_dir = p.join("scratch-media");
    p.cairn(&[
        "rehearse",
        "dr-rehearsal",
        "-p",
        &format!("source-url={}", lab.primary),
        "-p",
        &format!("server-url={}", lab.new_admin),
        "-p",
        &format!("database={db}"),
        "-p",
        "owner=cairn",
        "-p",
        &format!("media-dir={}", lab.media),
        "-p",
        &format!("restore-dir={}", scratch_dir.display()),
    ])
    .success()
    .stdout_has("every check passed")
    .stdout_has("tables,");
    let report = files_under(&p.join(".cairn/runs"))
        .into_iter()
        .find(|f| f.ends_with("report.json"))
        .expect("report.json");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(r["passed"], true, "{r:#}");
    let checks: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["rows-match", "files-match"]);
    assert!(r["backup"]["age_seconds"].as_i64().is_some(), "{r:#}");
    assert!(!databases(&lab.new_admin).contains(&db), "scratch dropped");
    assert!(!scratch_dir.exists(), "scratch directory removed");
}
