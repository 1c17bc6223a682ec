//! The stock `backup` and `restore` plugins and runbooks through the real
//! binary: the lab's PostgreSQL servers and S3 (skipped without the lab,
//! except under `CI=true`, where a missing lab fails), a `dir` storage for
//! the damaged archives, and the SQLite demo in `examples/demo`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::Project;
mod dry_run;
mod refusals;
mod rehearsals;
mod round_trip;
mod sqlite;

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

pub(crate) fn restore_into(p: &Project, lab: &Lab, db: &str, extra: &[&str]) -> crate::Run {
    let server = format!("server-url={}", lab.new_admin);
    let database = format!("database={db}");
    let mut args = vec!["run", "restore", "-p", &server, "-p", &database];
    args.extend_from_slice(extra);
    p.cairn(&args)
}
