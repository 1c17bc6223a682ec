//! `storage` and `transfer` through the real binary and the test plugin
//! `store-probe` (tests/plugins/store-probe): a `dir` storage in a temp
//! project always, and the lab's S3 server (moto) when
//! `CAIRN_LAB_S3_ENDPOINT` is set. Under `CI=true` a missing lab fails the
//! S3 tests instead of skipping them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Project;
mod big;
mod commands;
mod credentials;
mod leaves_nothing;
mod refusals;
mod round_trip;

/// Bytes of the big transfer: well over the memory cairn may use for it.
const BIG: u64 = 60_000_000;

/// The component of `store-probe`, or `None` when the test plugins were not
/// built (`CAIRN_PLUGINS_PREBUILT`).
fn probe_plugin() -> Option<PathBuf> {
    let path = Path::new(env!("CAIRN_TEST_PLUGINS")).join("store-probe.wasm");
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: no test plugin `store-probe` (CAIRN_PLUGINS_PREBUILT skips building tests/plugins)"
        );
        None
    }
}

/// The lab's S3 endpoint and bucket; `None` (skip) without the lab, except
/// under `CI=true`, where the lab is part of the suite.
fn lab_s3() -> Option<(String, String)> {
    match std::env::var("CAIRN_LAB_S3_ENDPOINT") {
        Ok(ep) if !ep.is_empty() => {
            let bucket =
                std::env::var("CAIRN_LAB_S3_BUCKET").unwrap_or_else(|_| "cairn-lab-backups".into());
            Some((ep, bucket))
        }
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "CI=true but CAIRN_LAB_S3_ENDPOINT is not set: the S3 tests need the lab (eval \"$(tests/lab/up s3)\")"
        ),
        _ => {
            eprintln!("skipped: no lab S3 (eval \"$(tests/lab/up s3)\" to run this test)");
            None
        }
    }
}

/// A prefix no other test run uses, so runs can share the lab's bucket.
fn unique_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("cairn-test-{}-{nanos}", std::process::id())
}

/// A project with `store-probe` in `plugins/`, the `dir` storages `local`
/// (implicit) and `other`, optionally the lab's S3 as `lab`, and a grant
/// of `storages`.
struct Store {
    p: Project,
}

impl Store {
    fn new(s3: Option<&(String, String)>, storages: &str) -> Option<Self> {
        let plugin = probe_plugin()?;
        let lab = match s3 {
            Some((ep, bucket)) => format!(
                "storage lab {{ s3 bucket=\"{bucket}\" endpoint=\"{ep}\" region=\"us-east-1\" path-style=#true prefix=\"{}\" }}",
                unique_prefix()
            ),
            None => String::new(),
        };
        let config = format!(
            r#"project store-test {{
    plugins {{ dir "plugins"; }}
    storage other {{ dir "other-objects" }}
    {lab}
    grant plugin=store-probe {{
        storage {storages}
        transfer "*"
        exec head sh
        files "files"
    }}
}}
"#
        );
        let p = Project::with_config(&config);
        std::fs::create_dir_all(p.join("plugins")).unwrap();
        std::fs::copy(plugin, p.join("plugins/store-probe.wasm")).unwrap();
        Some(Self { p })
    }

    fn run(&self, name: &str, steps: &str, extra: &[&str]) -> crate::Run {
        self.p
            .runbook(name, &format!("runbook {name} version=1 {{\n{steps}\n}}\n"));
        let mut args = vec!["run", name];
        args.extend_from_slice(extra);
        self.p.cairn(&args)
    }

    /// The events of the newest run (by journal modification time: run ids
    /// of the same second do not sort by time).
    fn journal(&self) -> Vec<Value> {
        let newest = std::fs::read_dir(self.p.join(".cairn/runs"))
            .expect("runs dir")
            .flatten()
            .map(|e| e.path().join("journal.jsonl"))
            .filter(|j| j.is_file())
            .max_by_key(|j| std::fs::metadata(j).unwrap().modified().unwrap())
            .expect("a run");
        std::fs::read_to_string(newest)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The outputs of `step` in the newest run.
    fn outputs(&self, step: &str) -> Value {
        self.journal()
            .into_iter()
            .find(|e| e["event"] == "step-finished" && e["step"] == step)
            .unwrap_or_else(|| panic!("no step-finished for `{step}`"))["outputs"]
            .clone()
    }
}

fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Runs cairn to the end; its peak resident set (from `wait4`'s rusage of
/// that one process) and its duration.
#[allow(clippy::zombie_processes)] // reaped by `wait_rusage`
fn run_measured(p: &Project, args: &[&str]) -> (u64, Duration) {
    let started = Instant::now();
    let mut child = p
        .cmd()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Drain the pipes on threads so the child never blocks on them.
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).ok();
            v
        })
    };
    let t1 = drain(Box::new(child.stdout.take().unwrap()));
    let t2 = drain(Box::new(child.stderr.take().unwrap()));
    let (code, peak) = wait_rusage(child.id());
    let elapsed = started.elapsed();
    let (stdout, stderr) = (t1.join().unwrap(), t2.join().unwrap());
    assert!(
        code == 0,
        "`cairn {}` exited with wait status {code}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    (peak, elapsed)
}

/// Waits for `pid`: its wait status and its peak resident set in bytes.
#[allow(unsafe_code)]
pub(crate) fn wait_rusage(pid: u32) -> (i32, u64) {
    let mut status = 0;
    // SAFETY: plain syscall on our own child, with pointers to locals; the
    // zeroed rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(
        r,
        pid as libc::pid_t,
        "wait4: {}",
        std::io::Error::last_os_error()
    );
    // Linux reports ru_maxrss in KiB.
    (status, usage.ru_maxrss as u64 * 1024)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().unwrap().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}
