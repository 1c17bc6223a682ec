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

const ROUND_TRIP: &str = r#"
    step put uses=store-probe action=put { storage STORE; key "notes/a.txt"; text "hello storage"; }
    step put2 uses=store-probe action=put { storage STORE; key "notes/b.txt"; text "second"; }
    step put3 uses=store-probe action=put { storage STORE; key "other/c.txt"; text "c"; }
    step get uses=store-probe action=get { storage STORE; key "notes/a.txt"; }
    step head uses=store-probe action=head { storage STORE; key "notes/a.txt"; }
    step head-missing uses=store-probe action=head { storage STORE; key "notes/none.txt"; }
    step list uses=store-probe action=list { storage STORE; prefix "notes/"; }
    step list-all uses=store-probe action=list { storage STORE; }
    step delete uses=store-probe action=delete { storage STORE; key "notes/a.txt"; }
    step delete-again uses=store-probe action=delete { storage STORE; key "notes/a.txt"; }
    step after uses=store-probe action=list { storage STORE; prefix "notes/"; }
"#;

fn round_trip(s: &Store, storage: &str, url_start: &str) {
    s.run("round", &ROUND_TRIP.replace("STORE", storage), &[])
        .success();
    let put = s.outputs("put");
    assert!(put["url"].as_str().unwrap().starts_with(url_start), "{put}");
    assert!(
        put["url"].as_str().unwrap().ends_with("notes/a.txt"),
        "{put}"
    );
    assert_eq!(put["planned"], false);
    assert_eq!(s.outputs("get")["text"], "hello storage");
    let head = s.outputs("head");
    assert_eq!(
        (head["exists"].clone(), head["size"].clone()),
        (true.into(), 13.into())
    );
    assert_eq!(head["modified"], true);
    assert_eq!(s.outputs("head-missing")["exists"], false);
    let list = s.outputs("list");
    assert_eq!(
        list["keys"],
        serde_json::json!(["notes/a.txt", "notes/b.txt"])
    );
    assert_eq!(list["sizes"], serde_json::json!([13, 6]));
    assert_eq!(s.outputs("list-all")["count"], 3);
    assert_eq!(
        s.outputs("after")["keys"],
        serde_json::json!(["notes/b.txt"])
    );
}

#[test]
fn dir_storage_round_trip() {
    let Some(s) = Store::new(None, "local other") else {
        return;
    };
    round_trip(&s, "local", "dir://local/");
    // The implicit `local` storage is `.cairn/objects` under the root.
    let root = s.p.join(".cairn/objects");
    assert_eq!(
        std::fs::read_to_string(root.join("notes/b.txt")).unwrap(),
        "second"
    );
    assert!(!root.join("notes/a.txt").exists());
    // A declared dir storage is relative to the project root.
    s.run(
        "other",
        r#"step put uses=store-probe action=put { storage other; key "x/y"; text "z"; }"#,
        &[],
    )
    .success();
    assert_eq!(
        std::fs::read_to_string(s.p.join("other-objects/x/y")).unwrap(),
        "z"
    );
}

#[test]
fn s3_storage_round_trip() {
    let Some(lab) = lab_s3() else { return };
    let Some(s) = Store::new(Some(&lab), "lab") else {
        return;
    };
    round_trip(&s, "lab", &format!("s3://{}/cairn-test-", lab.1));
}

#[test]
fn keys_that_climb_out_are_refused_and_nothing_escapes() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    for key in ["../escape", "notes/../../escape", "/tmp/escape", "a//b"] {
        let r = s.run(
            "climb",
            &format!(r#"step put uses=store-probe action=put {{ storage local; key "{key}"; text "x"; }}"#),
            &[],
        );
        r.code(1).stdout_has(&format!("key `{key}` is refused"));
    }
    s.run(
        "climb-transfer",
        r#"step t uses=store-probe action=transfer {
            from-command head "-c" "10" "/dev/zero"
            to-object storage=local key="../../escape"
        }"#,
        &[],
    )
    .code(1)
    .stdout_has("key `../../escape` is refused: it climbs out with `..`");
    s.run(
        "climb-get",
        r#"step g uses=store-probe action=get { storage local; key "../cairn.kdl"; }"#,
        &[],
    )
    .code(1)
    .stdout_has("key `../cairn.kdl` is refused");
    assert!(!s.p.join(".cairn/escape").exists());
    assert!(!s.p.join("escape").exists());
    assert!(!s.p.path().parent().unwrap().join("escape").exists());
    // A symbolic link planted inside the storage is not followed.
    let objects = s.p.join(".cairn/objects");
    std::fs::create_dir_all(&objects).unwrap();
    std::os::unix::fs::symlink(s.p.path(), objects.join("link")).unwrap();
    s.run(
        "through-link",
        r#"step put uses=store-probe action=put { storage local; key "link/planted"; text "x"; }"#,
        &[],
    )
    .code(1)
    .stdout_has("symbolic link");
    assert!(!s.p.join("planted").exists());
}

#[test]
fn a_storage_not_granted_is_refused_with_the_fixed_phrasing() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    s.run(
        "denied",
        r#"step put uses=store-probe action=put { storage other; key "k"; text "x"; }"#,
        &[],
    )
    // The preflight finds it before the first step runs: refused, not failed.
    .code(3)
    .stderr_has("step `put` needs storage `other`, which the grant of plugin `store-probe` does not allow (add it in cairn.kdl: `grant plugin=store-probe { storage \"other\" }`)");
    assert!(!s.p.join("other-objects").exists());
    // A transfer's ends are checked against their own grants.
    s.run(
        "denied-transfer",
        r#"step t uses=store-probe action=transfer {
            from-object storage=other key="k"
            to-discard
        }"#,
        &[],
    )
    .code(3)
    .stderr_has(
        "step `t` needs storage `other`, which the grant of plugin `store-probe` does not allow",
    );
    s.run(
        "denied-file",
        r#"step t uses=store-probe action=transfer {
            from-command head "-c" "10" "/dev/zero"
            to-file "/tmp/cairn-denied-file"
        }"#,
        &[],
    )
    .code(1)
    .stdout_has("files: `/tmp/cairn-denied-file` is not permitted for plugin `store-probe`");
    s.run(
        "denied-exec",
        r#"step t uses=store-probe action=transfer {
            from-command cat "/etc/hostname"
            to-discard
        }"#,
        &[],
    )
    .code(1)
    .stdout_has("exec: `cat` is not permitted for plugin `store-probe`");
}

/// Writes in a dry-run: recorded with their full description, not
/// performed; reads are performed.
fn dry_run_writes_nothing(s: &Store, storage: &str, url_start: &str) {
    let steps = r#"
    step put uses=store-probe action=put { storage STORE; key "dry/a.txt"; text "x"; }
    step up uses=store-probe action=transfer {
        from-command head "-c" "1000000" "/dev/zero"
        transform "zstd:3" "sha256"
        to-object storage=STORE key="dry/big.zst"
    }
    step down uses=store-probe action=transfer {
        from-object storage=STORE key="dry/a.txt"
        to-file "files/dry.out"
    }
    step delete uses=store-probe action=delete { storage STORE; key "dry/keep.txt"; }
    step list uses=store-probe action=list { storage STORE; prefix "dry/"; }
    "#
    .replace("STORE", storage);
    // Something for the delete to leave alone.
    s.run(
        "seed",
        &format!(r#"step put uses=store-probe action=put {{ storage {storage}; key "dry/keep.txt"; text "keep"; }}"#),
        &[],
    )
    .success();
    let r = s.run("dry", &steps, &["--dry-run"]);
    r.success()
        .stdout_has(&format!("⋯ object {url_start}"))
        .stdout_has("dry/a.txt would be written (1 byte)")
        .stdout_has("dry/keep.txt would be deleted")
        .stdout_has(
            "would transfer: head -c 1000000 /dev/zero (on `local`) | zstd -3 | sha256 → object ",
        )
        .stdout_has("dry/big.zst")
        .stdout_has("would transfer: object ");
    assert_eq!(s.outputs("put")["planned"], true);
    assert_eq!(s.outputs("up")["planned"], true);
    assert_eq!(s.outputs("up")["bytes-in"], 0);
    // The list is a read: performed, and it sees only the seeded object.
    assert_eq!(
        s.outputs("list")["keys"],
        serde_json::json!(["dry/keep.txt"])
    );
    assert!(!s.p.join("files/dry.out").exists());
    let planned: Vec<Value> = s
        .journal()
        .into_iter()
        .filter(|e| e["event"] == "capability" && e["planned"] == true)
        .collect();
    assert_eq!(planned.len(), 4, "{planned:?}");
}

#[test]
fn dir_dry_run_writes_nothing() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    dry_run_writes_nothing(&s, "local", "dir://local/");
    let mut left: Vec<String> = std::fs::read_dir(s.p.join(".cairn/objects/dry"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["keep.txt"]);
}

#[test]
fn s3_dry_run_writes_nothing() {
    let Some(lab) = lab_s3() else { return };
    let Some(s) = Store::new(Some(&lab), "lab") else {
        return;
    };
    dry_run_writes_nothing(&s, "lab", &format!("s3://{}/cairn-test-", lab.1));
}

/// A source command that fails (after more than one upload part of data)
/// fails the transfer with its stderr, and leaves no object and no file.
fn failing_source_leaves_nothing(s: &Store, storage: &str) {
    let r = s.run(
        "fail",
        &r#"
    step up uses=store-probe action=transfer {
        from-command sh "-c" "head -c 20000000 /dev/zero; echo 'dump: connection lost' >&2; exit 3"
        transform "zstd:1" "sha256"
        to-object storage=STORE key="failed/dump.zst"
    }
    "#
        .replace("STORE", storage),
        &[],
    );
    r.code(1)
        .stdout_has("exited with status 3: dump: connection lost");
    s.run(
        "fail-file",
        r#"
    step down uses=store-probe action=transfer {
        from-command sh "-c" "head -c 3000000 /dev/zero; exit 2"
        to-file "files/failed.out"
    }
    "#,
        &[],
    )
    .code(1)
    .stdout_has("exited with status 2");
    s.run(
        "check",
        &format!(
            r#"step list uses=store-probe action=list {{ storage {storage}; prefix "failed/"; }}"#
        ),
        &[],
    )
    .success();
    assert_eq!(s.outputs("list")["count"], 0);
    let files: Vec<_> = std::fs::read_dir(s.p.join("files"))
        .map(|rd| rd.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(files.is_empty(), "left behind: {files:?}");
}

#[test]
fn dir_failing_source_leaves_nothing() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    failing_source_leaves_nothing(&s, "local");
    let objects = s.p.join(".cairn/objects");
    let left: Vec<_> = walk(&objects);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn s3_failing_source_leaves_nothing() {
    let Some(lab) = lab_s3() else { return };
    let Some(s) = Store::new(Some(&lab), "lab") else {
        return;
    };
    failing_source_leaves_nothing(&s, "lab");
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

/// 60 MB from a command through sha256 and zstd into storage, then back
/// through zstd and sha256 into a file: equal digests, sha256sum agrees,
/// and cairn's peak memory stays far below the size of the data.
fn big_round_trip(s: &Store, storage: &str) {
    // A tiny transfer to the same storage first: it compiles the component
    // into the cache and gives cairn's own footprint with the storage's
    // client loaded, to which the big ones are compared.
    s.p.runbook(
        "base",
        &format!(
            r#"runbook base version=1 {{
    step s uses=store-probe action=transfer {{
        from-command head "-c" "10" "/dev/zero"
        to-object storage={storage} key="big/tiny"
    }}
}}"#
        ),
    );
    run_measured(&s.p, &["run", "base"]);
    let (base_rss, _) = run_measured(&s.p, &["run", "base"]);
    let up = format!(
        r#"
    step up uses=store-probe action=transfer {{
        from-command head "-c" "{BIG}" "/dev/urandom"
        transform "sha256" "zstd:3"
        to-object storage={storage} key="big/data.zst"
    }}
    "#
    );
    s.p.runbook("up", &format!("runbook up version=1 {{\n{up}\n}}\n"));
    let (up_rss, up_time) = run_measured(&s.p, &["run", "up"]);
    let o = s.outputs("up");
    assert_eq!(o["bytes-in"], BIG);
    let sent = o["sha256"].as_str().unwrap().to_string();
    assert_eq!(sent.len(), 64);
    let down = format!(
        r#"
    step down uses=store-probe action=transfer {{
        from-object storage={storage} key="big/data.zst"
        transform "unzstd" "sha256"
        to-file "files/data.bin"
    }}
    "#
    );
    s.p.runbook("down", &format!("runbook down version=1 {{\n{down}\n}}\n"));
    let (down_rss, down_time) = run_measured(&s.p, &["run", "down"]);
    let o = s.outputs("down");
    assert_eq!(o["bytes-out"], BIG);
    assert_eq!(o["sha256"], sent.as_str());
    let file = s.p.join("files/data.bin");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), BIG);
    assert_eq!(sha256sum(&file), sent);
    let mb = |b: u64| b as f64 / 1e6;
    eprintln!(
        "{storage}: cairn alone {:.1} MB; 60 MB up in {:.2}s ({:.1} MB/s), peak RSS {:.1} MB; down in {:.2}s ({:.1} MB/s), peak RSS {:.1} MB",
        mb(base_rss),
        up_time.as_secs_f64(),
        mb(BIG) / up_time.as_secs_f64(),
        mb(up_rss),
        down_time.as_secs_f64(),
        mb(BIG) / down_time.as_secs_f64(),
        mb(down_rss)
    );
    // The journal event carries the numbers too.
    let ev = s
        .journal()
        .into_iter()
        .find(|e| e["event"] == "capability" && e["capability"] == "transfer")
        .unwrap();
    assert_eq!(ev["detail"]["bytes_out"], BIG);
    assert!(ev["detail"]["bytes_per_second"].as_f64().unwrap() > 0.0);
    s.run(
        "clean",
        &format!(
            r#"step d uses=store-probe action=delete {{ storage {storage}; key "big/data.zst"; }}"#
        ),
        &[],
    )
    .success();
    // What the transfer adds to cairn's footprint is bounded (buffers, not
    // the data): far below the size moved.
    assert!(base_rss > 0);
    for rss in [up_rss, down_rss] {
        let added = rss.saturating_sub(base_rss);
        assert!(
            added < BIG / 2,
            "a {BIG}-byte transfer added {added} bytes to cairn's {base_rss}"
        );
    }
}

#[test]
fn a_transfer_past_the_deadline_is_killed_and_leaves_nothing() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    let started = Instant::now();
    s.run(
        "slow",
        r#"step t uses=store-probe action=transfer timeout="2s" {
            from-command sh "-c" "head -c 100000 /dev/zero; sleep 60"
            to-object storage=local key="slow/never"
        }"#,
        &[],
    )
    .code(1);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(walk(&s.p.join(".cairn/objects")).is_empty());
}

#[test]
fn dir_big_transfer_streams() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    big_round_trip(&s, "local");
}

#[test]
fn s3_big_transfer_streams_with_multipart() {
    let Some(lab) = lab_s3() else { return };
    let Some(s) = Store::new(Some(&lab), "lab") else {
        return;
    };
    big_round_trip(&s, "lab");
}

#[test]
fn transfer_into_a_command_and_a_checksum_read() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    // Command → command: the sink's exit status counts.
    s.run(
        "pipe",
        r#"
    step put uses=store-probe action=put { storage local; key "t.txt"; text "abc"; }
    step to-cmd uses=store-probe action=transfer {
        from-object storage=local key="t.txt"
        transform "gzip:6" "gunzip" "sha256"
        to-command sh "-c" "cat > files-out.txt"
    }
    step check uses=store-probe action=transfer {
        from-object storage=local key="t.txt"
        transform "sha256"
        to-discard
    }
    step bad-sink uses=store-probe action=transfer {
        from-object storage=local key="t.txt"
        to-command sh "-c" "cat >/dev/null; echo 'restore failed' >&2; exit 4"
    }
    "#,
        &[],
    )
    .code(1)
    .stdout_has("exited with status 4: restore failed");
    // sha256 of "abc".
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(s.outputs("to-cmd")["sha256"], abc);
    assert_eq!(s.outputs("check")["sha256"], abc);
    assert_eq!(
        std::fs::read_to_string(s.p.join("files-out.txt")).unwrap(),
        "abc"
    );
    // A checksum check (object → discard) is a read: performed in a dry-run.
    s.run(
        "check-only",
        r#"step check uses=store-probe action=transfer {
            from-object storage=local key="t.txt"
            transform "sha256"
            to-discard
        }"#,
        &["--dry-run"],
    )
    .success();
    assert_eq!(s.outputs("check")["sha256"], abc);
}

/// A project whose `s3` storage `lab` names its credentials as secrets of
/// the project (a JSON file), with `extra` appended to the `s3` node.
fn s3_with_secret_credentials(endpoint: &str, bucket: &str, creds: &str) -> Option<Project> {
    let plugin = probe_plugin()?;
    let config = format!(
        r#"project creds-test {{
    plugins {{ dir "plugins"; }}
    secrets {{ file "secrets.json"; }}
    storage lab {{ s3 bucket="{bucket}" endpoint="{endpoint}" region="us-east-1" path-style=#true prefix="{}" {creds} }}
    grant plugin=store-probe {{ storage lab; }}
}}
"#,
        unique_prefix()
    );
    let p = Project::with_config(&config);
    std::fs::create_dir_all(p.join("plugins")).unwrap();
    std::fs::copy(plugin, p.join("plugins/store-probe.wasm")).unwrap();
    p.runbook(
        "put-get",
        r#"runbook put-get version=1 {
    step put uses=store-probe action=put { storage lab; key "creds/a.txt"; text "from secrets"; }
    step get uses=store-probe action=get { storage lab; key "creds/a.txt"; }
}
"#,
    );
    Some(p)
}

/// `cairn run` without any `AWS_*` credentials in its environment.
fn run_without_aws_env(p: &Project, args: &[&str]) -> crate::Run {
    let mut c = p.cmd();
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        c.env_remove(k);
    }
    let out = c.args(args).output().expect("run cairn");
    crate::Run::new(args, out)
}

#[test]
fn s3_credentials_come_from_the_projects_secrets() {
    let Some((ep, bucket)) = lab_s3() else { return };
    let id = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "cairnlab".into());
    let key = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "cairnlab-secret".into());
    let Some(p) = s3_with_secret_credentials(
        &ep,
        &bucket,
        "access-key=lab_key_id secret-key=lab_secret_key",
    ) else {
        return;
    };
    p.file(
        "secrets.json",
        &serde_json::json!({ "lab_key_id": id, "lab_secret_key": key }).to_string(),
    );
    run_without_aws_env(&p, &["run", "put-get"]).success();
    let get = p
        .last_journal()
        .into_iter()
        .find(|e| e["event"] == "step-finished" && e["step"] == "get")
        .expect("get finished");
    assert_eq!(get["outputs"]["text"], "from secrets");
    // The secret key never shows in anything cairn wrote.
    assert!(!p.journals().contains(&key), "secret key in the journal");

    // A name that is not a secret of the project: the preflight stops the
    // run before its first step, naming it.
    let Some(p) = s3_with_secret_credentials(
        &ep,
        &bucket,
        "access-key=lab_key_id secret-key=no_such_secret",
    ) else {
        return;
    };
    p.file(
        "secrets.json",
        &serde_json::json!({ "lab_key_id": id }).to_string(),
    );
    run_without_aws_env(&p, &["run", "put-get"])
        .code(2)
        .stderr_has("storage `lab` takes `secret-key=` from secret `no_such_secret`, which no secrets source holds");

    // Neither secrets nor environment: a clear error, nothing sent.
    let Some(p) = s3_with_secret_credentials(&ep, &bucket, "") else {
        return;
    };
    p.file("secrets.json", "{}");
    run_without_aws_env(&p, &["run", "put-get"])
        .code(1)
        .stdout_has("storage `lab`: no credentials");
}

/// The S3 requests are signed with the access key the secret holds, and
/// not with the environment's: a listener on 127.0.0.1 stands in for the
/// server and records the `Authorization` header of the first request.
#[test]
fn s3_requests_are_signed_with_the_secret_credentials() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut auth = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            if line.to_ascii_lowercase().starts_with("authorization:") {
                auth = line.trim().to_string();
            }
        }
        let body = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>test listener</Message></Error>";
        let mut conn = conn;
        write!(
            conn,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        auth
    });
    let Some(p) = s3_with_secret_credentials(
        &endpoint,
        "some-bucket",
        "access-key=key_id secret-key=secret_key",
    ) else {
        return;
    };
    p.file(
        "secrets.json",
        r#"{"key_id": "AKIDFROMSECRETS", "secret_key": "s3cr3t-from-the-file"}"#,
    );
    let mut c = p.cmd();
    c.env("AWS_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT")
        .env("AWS_SECRET_ACCESS_KEY", "env-secret");
    let out = c.args(["run", "put-get"]).output().unwrap();
    let run = crate::Run::new(&["run", "put-get"], out);
    run.code(1).stdout_has("AccessDenied: test listener");
    let auth = server.join().unwrap();
    assert!(
        auth.contains("Credential=AKIDFROMSECRETS/"),
        "not signed with the secret's key: {auth}"
    );
    for text in [&run.stdout, &run.stderr, &p.journals()] {
        assert!(!text.contains("s3cr3t-from-the-file"));
        assert!(
            !text.contains("AKIDFROMSECRETS"),
            "access key id shown: {text}"
        );
    }
}
