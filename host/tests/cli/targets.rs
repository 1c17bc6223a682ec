//! Targets and network capabilities against the lab's real services
//! (`tests/README.md`): `exec` on an ssh target (one shared connection per
//! run); `exec` and `transfer` ends on a docker target of a non-default
//! engine, with no `docker` client on cairn's PATH; `socket` on the HAProxy
//! runtime API, `dns` against PowerDNS.
//!
//! Each test needs some `CAIRN_LAB_*` variables (`eval "$(tests/lab/up ssh
//! docker haproxy dns)"`). Without them a test prints why and passes, except
//! under `CI=true`, where a missing lab fails it. `socket` and `dns` are
//! driven by the test plugin `net-probe` (`tests/plugins/net-probe`), copied
//! into each project's `plugins/` and granted in `cairn.kdl`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Project;

/// The lab's variables `names`, or `None` after printing why the test does
/// not run. Under `CI=true` a missing variable fails the test instead.
fn lab(names: &[&str]) -> Option<Vec<String>> {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| std::env::var(n).map_or(true, |v| v.is_empty()))
        .collect();
    if missing.is_empty() {
        return Some(names.iter().map(|n| std::env::var(n).unwrap()).collect());
    }
    let why = format!(
        "needs the lab: {} not set (eval \"$(tests/lab/up ssh docker haproxy dns)\")",
        missing.join(", ")
    );
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    // The lab records why dockerd cannot run on a machine (and then prints
    // no docker variables): that is a fact about the machine, not a lab
    // that was not started.
    let docker_unavailable = missing.iter().all(|n| n.starts_with("CAIRN_LAB_DOCKER"))
        && std::env::var("CAIRN_LAB_STATE")
            .is_ok_and(|s| Path::new(&s).join("run/docker.unavailable").exists());
    if ci && !docker_unavailable {
        panic!("{why}; under CI=true a missing lab is a failure");
    }
    eprintln!("skipped: {why}");
    None
}

/// The component of test plugin `name`, or `None` (and a note) when the test
/// plugins were not built (`CAIRN_PLUGINS_PREBUILT`).
fn test_plugin(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CAIRN_TEST_PLUGINS")).join(format!("{name}.wasm"));
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: no test plugin `{}` (CAIRN_PLUGINS_PREBUILT skips building tests/plugins)",
            path.display()
        );
        None
    }
}

/// A KDL string literal.
fn kdl(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `cairn ARGS` in the project, with `env` set (and `DOCKER_HOST` unset, so
/// a docker target's `host=` is what counts).
fn cairn(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut cmd = p.cmd();
    cmd.args(args).env_remove("DOCKER_HOST");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.output().expect("run cairn");
    Ran {
        args: args.join(" "),
        elapsed: started.elapsed(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        out,
    }
}

struct Ran {
    args: String,
    elapsed: Duration,
    out: Output,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn context(&self) -> String {
        format!(
            "`cairn {}` exited {:?} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.out.status.code(),
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }

    fn code(&self, expected: i32) -> &Self {
        assert_eq!(self.out.status.code(), Some(expected), "{}", self.context());
        self
    }

    fn has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle) || self.stderr.contains(needle),
            "output lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    fn lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle) && !self.stderr.contains(needle),
            "output has {needle:?}\n{}",
            self.context()
        );
        self
    }
}

/// The `step-finished` event of `step` in the project's newest journal.
fn finished(p: &Project, step: &str) -> Value {
    p.last_journal()
        .into_iter()
        .find(|e| e["event"] == "step-finished" && e["step"] == step)
        .unwrap_or_else(|| panic!("step `{step}` did not finish"))
}

fn output(p: &Project, step: &str, name: &str) -> Value {
    let f = finished(p, step);
    assert_eq!(f["status"], "ok", "step `{step}`: {f}");
    f["outputs"][name].clone()
}

fn text(p: &Project, step: &str, name: &str) -> String {
    match output(p, step, name) {
        Value::String(s) => s,
        other => panic!("output `{name}` of `{step}` is not a string: {other}"),
    }
}

// ---------------------------------------------------------------- ssh ----

const SSH_VARS: &[&str] = &[
    "CAIRN_LAB_SSH",
    "CAIRN_LAB_SSH_PORT",
    "CAIRN_LAB_SSH_KEY",
    "CAIRN_LAB_SSH_KNOWN_HOSTS",
];

/// A project whose target `db` is the lab's sshd, described only with
/// `cairn.kdl`'s `ssh "user@host" port=N option="..."`.
fn ssh_project() -> Option<Project> {
    let v = lab(SSH_VARS)?;
    let (dest, port, key, known) = (&v[0], &v[1], &v[2], &v[3]);
    let options = [
        format!("IdentityFile={key}"),
        "IdentitiesOnly=yes".into(),
        format!("UserKnownHostsFile={known}"),
        "GlobalKnownHostsFile=/dev/null".into(),
        "StrictHostKeyChecking=yes".into(),
        "LogLevel=ERROR".into(),
    ];
    let options: Vec<String> = options
        .iter()
        .map(|o| format!("option={}", kdl(o)))
        .collect();
    let config = format!(
        "project ssh-test {{\n    target db {{ ssh {} port={port} {}; }}\n}}\n",
        kdl(dest),
        options.join(" ")
    );
    let p = Project::with_config(&config);
    std::fs::create_dir_all(p.join("tmp")).expect("tmp dir");
    Some(p)
}

/// Runs cairn with `TMPDIR` in the project, where cairn makes the directory
/// of its ssh control sockets.
fn cairn_tmp(p: &Project, args: &[&str]) -> Ran {
    let tmp = p.join("tmp");
    cairn(p, args, &[("TMPDIR", tmp.to_str().expect("utf-8 path"))])
}

/// No ssh control directory is left in the project's `tmp/`, and no ssh
/// process names one (the masters were closed).
fn masters_closed(p: &Project) {
    let tmp = p.join("tmp");
    let tmp = tmp.to_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left: Vec<String> = std::fs::read_dir(tmp)
            .expect("tmp dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("cairn-ssh-"))
            .collect();
        let ps = std::process::Command::new("ps")
            .args(["-eo", "pid,args"])
            .output()
            .expect("ps");
        let ps = String::from_utf8_lossy(&ps.stdout);
        let alive: Vec<&str> = ps
            .lines()
            .filter(|l| l.contains(tmp) && l.contains("ssh"))
            .collect();
        if left.is_empty() && alive.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after the run: control dirs {left:?}, ssh processes {alive:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ssh_target_runs_commands_with_env_cwd_and_one_shared_connection() {
    let Some(p) = ssh_project() else { return };
    p.runbook(
        "remote",
        r#"
runbook remote version=1 {
    step whoami uses=exec target=db { run whoami; effect read; }
    step hostname uses=exec target=db { run hostname; effect read; }
    step psql uses=exec target=db { run psql "--version"; effect read; }
    step env-cwd uses=exec target=db {
        run sh "-c" "printf '%s|%s|%s' \"$GREETING\" \"$OTHER\" \"$(pwd)\""
        env GREETING="hello lab" OTHER="it's \"quoted\""
        cwd "/tmp"
        effect read
    }
    step conn-1 uses=exec target=db { run sh "-c" "echo $SSH_CONNECTION $PPID"; effect read; }
    step sockets uses=exec {
        run sh "-c" "ls -A \"$TMPDIR\"/cairn-ssh-*/"
        env TMPDIR="{{ project.root }}/tmp"
        effect read
    }
    step conn-2 uses=exec target=db { run sh "-c" "echo $SSH_CONNECTION $PPID"; effect read; }
    step status uses=exec target=db { run sh "-c" "echo out; echo err >&2; exit 7"; expect-status 7; }
}
"#,
    );
    cairn_tmp(&p, &["run", "remote"]).code(0);

    assert_eq!(text(&p, "whoami", "stdout"), "cairn-lab");
    let local = std::process::Command::new("hostname").output().unwrap();
    assert_eq!(
        text(&p, "hostname", "stdout"),
        String::from_utf8_lossy(&local.stdout).trim(),
        "the lab's sshd runs on this machine"
    );
    let psql = text(&p, "psql", "stdout");
    assert!(psql.starts_with("psql (PostgreSQL) "), "{psql}");
    assert_eq!(
        text(&p, "env-cwd", "stdout"),
        "hello lab|it's \"quoted\"|/tmp"
    );
    assert_eq!(output(&p, "status", "status"), 7);
    assert_eq!(text(&p, "status", "stdout"), "out");
    assert_eq!(text(&p, "status", "stderr"), "err\n");

    // One TCP connection for the whole run: every session reports the same
    // client port in SSH_CONNECTION ("client-ip client-port server-ip
    // server-port") and the same parent, the sshd process of the
    // connection; and the control socket existed between them.
    let c1 = text(&p, "conn-1", "stdout");
    let c2 = text(&p, "conn-2", "stdout");
    assert_eq!(c1.split(' ').count(), 5, "{c1}");
    assert_eq!(c1, c2, "the second session used another connection");
    assert_eq!(text(&p, "sockets", "stdout"), "0", "one master socket");
    masters_closed(&p);

    // A new run opens a new connection (the masters of a run end with it):
    // another sshd process (the client port may be the same again, loopback
    // reuses ports in TIME_WAIT).
    cairn_tmp(&p, &["run", "remote"]).code(0);
    let c3 = text(&p, "conn-1", "stdout");
    assert_ne!(
        c3.split(' ').nth(4),
        c1.split(' ').nth(4),
        "the second run reused the first run's connection: {c1} / {c3}"
    );
    masters_closed(&p);
}

#[test]
fn a_failing_remote_command_fails_the_step_with_its_status() {
    let Some(p) = ssh_project() else { return };
    p.runbook(
        "fails",
        r#"
runbook fails version=1 {
    step broken uses=exec target=db { run sh "-c" "echo boom >&2; exit 3"; }
    step never uses=exec target=db { run "true"; }
    finally {
        step cleanup uses=exec target=db { run "true"; }
    }
}
"#,
    );
    cairn_tmp(&p, &["run", "fails"])
        .code(1)
        .has("✗ broken")
        .has("exited with status 3")
        .has("boom");
    assert_eq!(finished(&p, "broken")["status"], "failed");
    assert_eq!(finished(&p, "cleanup")["status"], "ok");
    masters_closed(&p);
}

#[test]
fn parallel_steps_on_a_fresh_ssh_target_share_one_connection() {
    let Some(p) = ssh_project() else { return };
    p.runbook(
        "par",
        r#"
runbook par version=1 {
    parallel {
        step a uses=exec target=db { run sh "-c" "echo $SSH_CONNECTION $PPID"; effect read; }
        step b uses=exec target=db { run sh "-c" "echo $SSH_CONNECTION $PPID"; effect read; }
        step c uses=exec target=db { run sh "-c" "echo $SSH_CONNECTION $PPID"; effect read; }
    }
}
"#,
    );
    cairn_tmp(&p, &["run", "par"])
        .code(0)
        .lacks("ControlSocket");
    let a = text(&p, "a", "stdout");
    assert_eq!(a, text(&p, "b", "stdout"));
    assert_eq!(a, text(&p, "c", "stdout"));
    for s in ["a", "b", "c"] {
        assert_eq!(text(&p, s, "stderr"), "", "step {s}");
    }
    masters_closed(&p);
}

// ------------------------------------------------------------- docker ----
//
// Docker targets talk to the engine's API: cairn runs here with a PATH
// that has no `docker` client (and no `DOCKER_HOST`: the target's `host=`
// is the lab's engine).

/// The lab's engine address and container.
fn docker_lab() -> Option<(String, String)> {
    let v = lab(&["CAIRN_LAB_DOCKER_HOST", "CAIRN_LAB_DOCKER_CONTAINER"])?;
    Some((v[0].clone(), v[1].clone()))
}

/// `cairn.kdl` with the target `box`, the lab's container on the lab's
/// engine, and `extra` (grants, secrets, plugin dirs).
fn docker_project(extra: &str) -> Option<Project> {
    let (host, container) = docker_lab()?;
    Some(Project::with_config(&format!(
        "project docker-test {{\n    target box {{ docker container={} host={}; }}\n    {extra}\n}}\n",
        kdl(&container),
        kdl(&host)
    )))
}

/// A directory of the project to be cairn's whole PATH: `sh` and nothing
/// else; no `docker` client is found through it.
fn path_without_docker(p: &Project) -> String {
    let bin = p.join("bin");
    if !bin.exists() {
        std::fs::create_dir_all(&bin).expect("bin dir");
        std::os::unix::fs::symlink("/bin/sh", bin.join("sh")).expect("link sh");
    }
    let bin = bin.to_str().expect("utf-8 path").to_string();
    let found = std::process::Command::new("/bin/sh")
        .env("PATH", &bin)
        .args(["-c", "command -v docker"])
        .output()
        .expect("sh");
    assert!(
        !found.status.success(),
        "`docker` is found on cairn's PATH: {:?}",
        String::from_utf8_lossy(&found.stdout)
    );
    bin
}

/// `cairn ARGS` with no `docker` client on its PATH and `env` set.
fn cairn_without_client(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let path = path_without_docker(p);
    let mut all = vec![("PATH", path.as_str())];
    all.extend_from_slice(env);
    cairn(p, args, &all)
}

/// [`cairn_without_client`], listing the machine's processes (`ps -eo
/// pid,args`) every 50 ms while cairn runs: what they showed, every line.
fn cairn_watching_ps(p: &Project, args: &[&str], env: &[(&str, &str)]) -> (Ran, Vec<String>) {
    use std::process::Stdio;
    let path = path_without_docker(p);
    let mut cmd = p.cmd();
    cmd.args(args)
        .env_remove("DOCKER_HOST")
        .env("PATH", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run cairn");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).ok();
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut seen = Vec::new();
    while child.try_wait().expect("wait").is_none() {
        let ps = std::process::Command::new("ps")
            .args(["-eo", "pid,args"])
            .output()
            .expect("ps");
        seen.extend(
            String::from_utf8_lossy(&ps.stdout)
                .lines()
                .map(String::from),
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = child.wait().expect("wait");
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    let ran = Ran {
        args: args.join(" "),
        elapsed: started.elapsed(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        out: Output {
            status,
            stdout,
            stderr,
        },
    };
    (ran, seen)
}

/// A number for this test run's `sleep`s, to find them in the container
/// among those of other runs.
fn sleep_tag() -> u32 {
    40_000 + std::process::id() % 20_000
}

#[test]
fn docker_target_runs_commands_through_the_engine_api() {
    let secret = "s3cr3t-of-the-docker-target";
    let Some(p) = docker_project("secrets { env prefix=DOCKERTEST_; }") else {
        return;
    };
    p.runbook(
        "box",
        r#"
runbook box version=1 {
    step env-cwd uses=exec target=box {
        run sh "-c" "printf '%s|%s' \"$GREETING\" \"$(pwd)\""
        env GREETING="hello box"
        cwd "/tmp"
        effect read
    }
    step streams uses=exec target=box {
        run sh "-c" "echo out; echo err >&2; exit 7"
        expect-status 7
        effect read
    }
    step stdin uses=exec target=box {
        run sh "-c" "tr a-z A-Z; echo end"
        stdin "hello stdin\n"
        effect read
    }
    step secret uses=exec target=box {
        run sh "-c" "sleep 2; printf %s \"$TOKEN\" | sha256sum; echo token=$TOKEN"
        secret-env TOKEN=db_password
        effect read
    }
    step missing uses=exec target=box continue-on-error=#true {
        run no-such-program-in-the-box
        effect read
    }
    step broken uses=exec target=box { run sh "-c" "echo nope >&2; exit 5"; }
}
"#,
    );
    // With every diagnostic cairn has on (its engine client's included).
    let (ran, ps) = cairn_watching_ps(
        &p,
        &["run", "box"],
        &[("DOCKERTEST_DB_PASSWORD", secret), ("CAIRN_LOG", "trace")],
    );
    ran.code(1)
        .has("exited with status 5")
        .has("nope")
        .lacks(secret);
    assert_eq!(text(&p, "env-cwd", "stdout"), "hello box|/tmp");
    assert_eq!(output(&p, "streams", "status"), 7);
    assert_eq!(text(&p, "streams", "stdout"), "out");
    assert_eq!(text(&p, "streams", "stderr"), "err\n");
    // stdin reached the command and ended: `tr` saw its end of input.
    assert_eq!(text(&p, "stdin", "stdout"), "HELLO STDIN\nend");

    // The secret reached the command (its digest), is masked in what the
    // command printed, and appeared in no process's command line while
    // the command ran (ps was read every 50 ms through its 2 seconds).
    let digest = std::process::Command::new("sh")
        .args(["-c", &format!("printf %s '{secret}' | sha256sum")])
        .output()
        .unwrap();
    let digest = String::from_utf8_lossy(&digest.stdout).trim().to_string();
    assert_eq!(
        text(&p, "secret", "stdout"),
        format!("{digest}\ntoken=********")
    );
    assert!(ps.len() > 20, "ps was read while cairn ran: {}", ps.len());
    assert!(
        ran.stderr.contains("TRACE"),
        "CAIRN_LOG=trace: {}",
        ran.context()
    );
    let leaked: Vec<&String> = ps.iter().filter(|l| l.contains(secret)).collect();
    assert!(leaked.is_empty(), "the secret in ps: {leaked:?}");
    let journal = p.journals();
    assert!(!journal.contains(secret), "{journal}");
    assert!(journal.contains("TOKEN=…"), "{journal}");

    // A program the container lacks: the engine's exit status (126 from
    // docker 20.10, 127 from later ones) and its message.
    let missing = finished(&p, "missing");
    assert_eq!(missing["status"], "failed-continued");
    ran.has("\"no-such-program-in-the-box\": executable file not found");
}

#[test]
fn docker_target_dry_run_and_a_bad_engine() {
    let Some(p) = docker_project("") else { return };
    let tag = format!("/tmp/cairn-dry-{}", std::process::id());
    p.runbook(
        "dry",
        &r#"
runbook dry version=1 {
    step look uses=exec target=box { run uname "-s"; effect read; }
    step touch uses=exec target=box { run touch "TAG"; }
    step absent uses=exec target=box { run test "-e" "TAG"; effect read; expect-status 1; }
}
"#
        .replace("TAG", &tag),
    );
    // A dry-run performs the read, records the write, and the write did
    // not happen (the read after it still finds nothing).
    cairn_without_client(&p, &["run", "dry", "--dry-run"], &[])
        .code(0)
        .has(&format!("would run: touch {tag} (on `box`)"));
    assert_eq!(text(&p, "look", "stdout"), "Linux");
    assert_eq!(output(&p, "touch", "planned"), true);
    assert_eq!(output(&p, "absent", "status"), 1);

    // An engine that is not there is named.
    let q = Project::with_config(
        "project docker-test {\n    target box { docker container=web host=\"unix:///nonexistent/cairn.sock\"; }\n}\n",
    );
    q.runbook(
        "one",
        "runbook one version=1 {\n    step look uses=exec target=box { run uname; effect read; }\n}\n",
    );
    cairn_without_client(&q, &["run", "one"], &[]).code(1).has(
        "exec: cannot start `uname` on `box`: docker: exec container `web` on unix:///nonexistent/cairn.sock: cannot connect: no such socket",
    );
}

/// A project with `store-probe` and the target `box`, with data to send.
fn docker_transfer_project() -> Option<Project> {
    let wasm = test_plugin("store-probe")?;
    let p = docker_project(
        "plugins { dir \"plugins\"; }\n    grant plugin=store-probe { transfer \"*\"; exec \"*\"; files \"*\"; }",
    )?;
    std::fs::create_dir_all(p.join("plugins")).expect("plugins dir");
    std::fs::copy(wasm, p.join("plugins/store-probe.wasm")).expect("copy plugin");
    // 4 MiB that are not all alike.
    let mut data = Vec::with_capacity(4 << 20);
    let mut x: u32 = 0x2545_f491;
    while data.len() < 4 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(p.join("data.bin"), &data).expect("data");
    Some(p)
}

fn sha256_of(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn docker_target_commands_as_transfer_source_and_sink() {
    let Some(p) = docker_transfer_project() else {
        return;
    };
    let dest = format!("/tmp/cairn-xfer-{}", std::process::id());
    p.runbook(
        "xfer",
        &r#"
runbook xfer version=1 {
    step up uses=store-probe action=transfer {
        from-file "data.bin"
        transform "sha256"
        to-command sh "-c" "cat > DEST"
        target box
    }
    step there uses=exec target=box { run sha256sum "DEST"; effect read; }
    step down uses=store-probe action=transfer {
        from-command cat "DEST"
        transform "sha256"
        to-file "back/data.bin"
        target box
    }
    step bad-source uses=store-probe action=transfer continue-on-error=#true {
        from-command sh "-c" "head -c 300000 /dev/zero; echo broken source >&2; exit 3"
        to-file "failed.bin"
        target box
    }
    step bad-sink uses=store-probe action=transfer continue-on-error=#true {
        from-file "data.bin"
        to-command sh "-c" "head -c 10 >/dev/null; echo broken sink >&2; exit 4"
        target box
    }
    finally {
        step clean uses=exec target=box { run rm "-f" "DEST"; }
    }
}
"#
        .replace("DEST", &dest),
    );
    let ran = cairn_without_client(&p, &["run", "xfer"], &[]);
    ran.code(0)
        .has("exited with status 3: broken source")
        .has("exited with status 4: broken sink");
    let sent = sha256_of(&p.join("data.bin"));
    let up = output(&p, "up", "sha256");
    assert_eq!(up, sent.as_str());
    assert_eq!(output(&p, "up", "bytes-out"), 4 << 20);
    // What the container's command received, byte for byte (and its stdin
    // ended, or `cat` would still wait).
    assert_eq!(text(&p, "there", "stdout"), format!("{sent}  {dest}"));
    assert_eq!(output(&p, "down", "sha256"), sent.as_str());
    assert_eq!(output(&p, "down", "bytes-in"), 4 << 20);
    assert_eq!(
        std::fs::read(p.join("back/data.bin")).unwrap(),
        std::fs::read(p.join("data.bin")).unwrap()
    );
    // The failed source left no file, not even a temporary.
    assert_eq!(finished(&p, "bad-source")["status"], "failed-continued");
    assert_eq!(finished(&p, "bad-sink")["status"], "failed-continued");
    let left: Vec<String> = std::fs::read_dir(p.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("failed") || n.starts_with(".cairn-tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Runs cairn to its end: its peak resident set, from `wait4`.
#[allow(clippy::zombie_processes)] // reaped by `wait_rusage`
fn peak_rss(p: &Project, args: &[&str]) -> u64 {
    use std::process::Stdio;
    let path = path_without_docker(p);
    let child = p
        .cmd()
        .args(args)
        .env_remove("DOCKER_HOST")
        .env("PATH", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run cairn");
    let (status, peak) = crate::storage::wait_rusage(child.id());
    assert_eq!(status, 0, "`cairn {}` failed", args.join(" "));
    peak
}

#[test]
fn docker_target_transfers_stream_with_bounded_memory() {
    let Some(p) = docker_transfer_project() else {
        return;
    };
    const BIG: u64 = 64 << 20;
    let dest = format!("/tmp/cairn-big-{}.sum", std::process::id());
    let runbook = |name: &str, size: u64| {
        format!(
            r#"
runbook {name} version=1 {{
    step move uses=store-probe action=transfer {{
        from-command head "-c" "{size}" "/dev/urandom"
        transform "sha256"
        to-command sh "-c" "sha256sum > {dest}"
        target box
    }}
    step sum uses=exec target=box {{ run cat "{dest}"; effect read; }}
    finally {{
        step clean uses=exec target=box {{ run rm "-f" "{dest}"; }}
    }}
}}
"#
        )
    };
    p.runbook("tiny", &runbook("tiny", 10));
    p.runbook("big", &runbook("big", BIG));
    // The first run compiles the plugin into the cache.
    peak_rss(&p, &["run", "tiny"]);
    let base = peak_rss(&p, &["run", "tiny"]);
    let big = peak_rss(&p, &["run", "big"]);
    assert_eq!(output(&p, "move", "bytes-in"), BIG);
    // The digest cairn computed on the way is the one of what the
    // container's sink received: both bridges moved every byte.
    let sha = output(&p, "move", "sha256");
    assert_eq!(
        text(&p, "sum", "stdout"),
        format!("{}  -", sha.as_str().unwrap())
    );
    let added = big.saturating_sub(base);
    eprintln!(
        "docker → docker, {} MiB: cairn alone {:.1} MB, with the transfer {:.1} MB",
        BIG >> 20,
        base as f64 / 1e6,
        big as f64 / 1e6
    );
    assert!(
        added < BIG / 4,
        "a {BIG}-byte transfer added {added} bytes to cairn's {base}"
    );
}

#[test]
fn docker_target_commands_past_the_deadline_are_stopped() {
    let Some(p) = docker_transfer_project() else {
        return;
    };
    let tag = sleep_tag();
    p.runbook(
        "slow",
        &r#"
runbook slow version=1 {
    step exec uses=exec target=box timeout="2s" continue-on-error=#true {
        run sh "-c" "sleep T1 & sleep T2; wait"
        effect read
    }
    step source uses=store-probe action=transfer timeout="2s" continue-on-error=#true {
        from-command sh "-c" "head -c 1000 /dev/zero; sleep T3"
        to-file "slow.bin"
        target box
    }
    step sink uses=store-probe action=transfer timeout="2s" continue-on-error=#true {
        from-file "data.bin"
        to-command sh "-c" "sleep T4"
        target box
    }
    step gone uses=exec target=box {
        run sh "-c" "i=0; while [ $i -lt 25 ]; do ps -o args | grep -q '[s]leep TAG' || exit 0; sleep 0.2; i=$((i + 1)); done; ps -o pid,args; exit 1"
        effect read
    }
}
"#
        .replace("T1", &format!("{tag}1"))
        .replace("T2", &format!("{tag}2"))
        .replace("T3", &format!("{tag}3"))
        .replace("T4", &format!("{tag}4"))
        .replace("TAG", &tag.to_string()),
    );
    let ran = cairn_without_client(&p, &["run", "slow"], &[]);
    ran.code(0);
    // Each says it was killed (not that it may still run).
    for start in [
        "exec: `sh` on `box` did not finish in".to_string(),
        format!(
            "transfer: `sh -c 'head -c 1000 /dev/zero; sleep {tag}3' (on `box`)` did not finish in"
        ),
        format!("transfer: `sh -c 'sleep {tag}4' (on `box`)` did not finish in"),
    ] {
        let all = format!("{}\n{}", ran.stdout, ran.stderr);
        let line = all
            .lines()
            .find(|l| l.contains(&start))
            .unwrap_or_else(|| panic!("no {start:?}\n{}", ran.context()));
        assert!(line.contains(" and was killed"), "{line}");
    }
    for step in ["exec", "source", "sink"] {
        let f = finished(&p, step);
        assert_eq!(f["status"], "failed-continued", "{f}");
        let ms = f["duration_ms"].as_f64().unwrap();
        assert!(ms < 6000.0, "step `{step}` took {ms} ms: {f}");
    }
    assert!(
        ran.elapsed < Duration::from_secs(25),
        "the run took {:?}",
        ran.elapsed
    );
    // Every `sleep` of the three (the exec's two included) is gone from the
    // container: stopped, not left running.
    assert_eq!(finished(&p, "gone")["status"], "ok");
    assert!(!p.join("slow.bin").exists());
}

// ------------------------------------------------------------- socket ----

/// One command on the HAProxy runtime API, straight (not through cairn).
fn haproxy(socket: &str, command: &str) -> String {
    let mut s = UnixStream::connect(socket).expect("haproxy socket");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("{command}\n").as_bytes()).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply
}

/// `srv_admin_state` of `server` in `backend` (`show servers state`): 0 is
/// ready, bit 8 drain.
fn admin_state(socket: &str, backend: &str, server: &str) -> u32 {
    let state = haproxy(socket, &format!("show servers state {backend}"));
    state
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 6 && f[1] == backend && f[3] == server)
        .unwrap_or_else(|| panic!("no {backend}/{server} in:\n{state}"))[6]
        .parse()
        .expect("admin state")
}

/// Sets the server back to ready when a test ends, passed or not.
struct Ready<'a> {
    socket: &'a str,
    server: String,
}

impl Drop for Ready<'_> {
    fn drop(&mut self) {
        haproxy(
            self.socket,
            &format!("set server {} state ready", self.server),
        );
    }
}

/// A project with `net-probe` in `plugins/`, granted `grant` (the body of
/// its `grant` block).
fn probe_project(grant: &str) -> Option<Project> {
    let wasm = test_plugin("net-probe")?;
    let p = Project::with_config(&format!(
        "project net-test {{\n    plugins {{ dir \"plugins\"; }}\n    grant plugin=net-probe {{\n        {grant}\n    }}\n}}\n"
    ));
    std::fs::create_dir_all(p.join("plugins")).expect("plugins dir");
    std::fs::copy(wasm, p.join("plugins/net-probe.wasm")).expect("copy plugin");
    Some(p)
}

const DRAIN: &str = r#"
runbook drain version=1 {
    param socket
    step before uses=net-probe action=socket {
        address "{{ params.socket }}"
        send "show servers state be_app"
        effect read
    }
    step drain uses=net-probe action=socket {
        address "{{ params.socket }}"
        send "set server be_app/app1 state drain"
    }
    step after uses=net-probe action=socket {
        address "{{ params.socket }}"
        send "show servers state be_app"
        effect read
    }
    finally {
        step ready uses=net-probe action=socket {
            address "{{ params.socket }}"
            send "set server be_app/app1 state ready"
        }
    }
}
"#;

#[test]
fn socket_reads_haproxy_state_and_drains_a_server() {
    let Some(v) = lab(&["CAIRN_LAB_HAPROXY_SOCKET"]) else {
        return;
    };
    let sock = v[0].as_str();
    let Some(p) = probe_project(&format!("socket {}", kdl(sock))) else {
        return;
    };
    let _ready = Ready {
        socket: sock,
        server: "be_app/app1".into(),
    };
    p.runbook("drain", DRAIN);
    // The finally step sets app1 back to ready: what `after` saw is the
    // proof of the drain.
    cairn(&p, &["run", "drain", "-p", &format!("socket={sock}")], &[]).code(0);
    let before = text(&p, "before", "reply");
    assert!(
        before.contains("be_app 1 app1 ") && before.contains("be_app 2 app2 "),
        "{before}"
    );
    assert_eq!(output(&p, "before", "end"), "eof");
    let after = text(&p, "after", "reply");
    let app1 = after
        .lines()
        .find(|l| l.contains(" be_app 1 app1 "))
        .unwrap_or_else(|| panic!("no app1 in {after}"));
    let admin: u32 = app1.split_whitespace().nth(6).unwrap().parse().unwrap();
    assert_eq!(admin & 8, 8, "app1 is not in drain after the drain: {app1}");
    assert_eq!(output(&p, "drain", "planned"), false);
    assert_eq!(
        admin_state(sock, "be_app", "app1") & 8,
        0,
        "finally set it ready"
    );

    let journal = p.journals();
    assert!(journal.contains(&format!(
        "send to socket {sock}: set server be_app/app1 state drain"
    )));
}

#[test]
fn a_dry_run_of_the_drain_reads_and_changes_nothing() {
    let Some(v) = lab(&["CAIRN_LAB_HAPROXY_SOCKET"]) else {
        return;
    };
    let sock = v[0].as_str();
    let Some(p) = probe_project(&format!("socket {}", kdl(sock))) else {
        return;
    };
    let _ready = Ready {
        socket: sock,
        server: "be_app/app1".into(),
    };
    p.runbook("drain", DRAIN);
    let state_before = admin_state(sock, "be_app", "app1");
    cairn(
        &p,
        &["run", "drain", "--dry-run", "-p", &format!("socket={sock}")],
        &[],
    )
    .code(0)
    .has(&format!(
        "would send to socket {sock}: set server be_app/app1 state drain"
    ))
    .has(&format!(
        "would send to socket {sock}: set server be_app/app1 state ready"
    ));
    assert_eq!(admin_state(sock, "be_app", "app1"), state_before);
    // Reads are performed: the plan reflects reality.
    assert!(text(&p, "before", "reply").contains("be_app 1 app1 "));
    assert_eq!(output(&p, "drain", "planned"), true);
}

#[test]
fn socket_paths_not_granted_are_refused_dot_dot_included() {
    let Some(v) = lab(&["CAIRN_LAB_HAPROXY_SOCKET"]) else {
        return;
    };
    let sock = v[0].as_str();
    let Some(p) = probe_project(&format!("socket {}", kdl(sock))) else {
        return;
    };
    let dir = Path::new(sock).parent().unwrap();
    let climbing = format!(
        "{}/../{}/{}",
        dir.display(),
        dir.file_name().unwrap().to_string_lossy(),
        Path::new(sock).file_name().unwrap().to_string_lossy()
    );
    assert!(Path::new(&climbing).exists(), "{climbing} names the socket");
    p.runbook(
        "sneaky",
        &r#"
runbook sneaky version=1 {
    param climbing
    step climbs uses=net-probe action=socket continue-on-error=#true {
        address "{{ params.climbing }}"
        send "show info"
        effect read
    }
    step other uses=net-probe action=socket continue-on-error=#true {
        address "127.0.0.1:58084"
        send "GET / HTTP/1.0\r\n"
        effect read
    }
    step granted uses=net-probe action=socket {
        address "PATH"
        send "show info"
        effect read
    }
}
"#
        .replace("PATH", sock),
    );
    cairn(
        &p,
        &["run", "sneaky", "-p", &format!("climbing={climbing}")],
        &[],
    )
    .code(0)
    .has(&format!(
        "socket: `{climbing}` is not permitted for plugin `net-probe`"
    ))
    .has("socket: `127.0.0.1:58084` is not permitted for plugin `net-probe`");
    assert_eq!(finished(&p, "climbs")["status"], "failed-continued");
    assert!(text(&p, "granted", "reply").contains("Name: HAProxy"));
}

// ---------------------------------------------------------------- dns ----

const DNS_VARS: &[&str] = &[
    "CAIRN_LAB_DNS",
    "CAIRN_LAB_OLD_SERVER_IP",
    "CAIRN_LAB_NEW_SERVER_IP",
];

#[test]
fn dns_lookups_against_the_lab_powerdns() {
    let Some(v) = lab(DNS_VARS) else { return };
    let (resolver, old_ip, new_ip) = (&v[0], &v[1], &v[2]);
    let Some(p) = probe_project(&format!("dns {}", kdl(resolver))) else {
        return;
    };
    p.runbook(
        "lookups",
        r#"
runbook lookups version=1 {
    param resolver
    step www uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "www.example.test"; type A; }
    step www-tcp uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "www.example.test."; type a; tcp #true; }
    step soa uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "example.test"; type SOA; }
    step ns uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "example.test"; type NS; }
    step nodata uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "www.example.test"; type TXT; }
    step missing uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "missing.example.test"; type A; }
}
"#,
    );
    cairn(
        &p,
        &["run", "lookups", "-p", &format!("resolver={resolver}")],
        &[],
    )
    .code(0);
    // A move-site test may have pointed `www` at the new server meanwhile.
    let www = text(&p, "www", "value");
    assert!(
        www == *old_ip || www == *new_ip,
        "www.example.test A is {www}"
    );
    assert_eq!(output(&p, "www", "rcode"), "NOERROR");
    assert_eq!(output(&p, "www", "authoritative"), true);
    assert_eq!(text(&p, "www-tcp", "value"), www);
    let soa = text(&p, "soa", "value");
    assert!(soa.contains(" hostmaster.example.test. "), "{soa}");
    assert!(
        output(&p, "ns", "values")
            .as_array()
            .unwrap()
            .contains(&Value::from("ns1.example.test."))
    );
    assert_eq!(output(&p, "nodata", "rcode"), "NOERROR");
    assert_eq!(output(&p, "nodata", "values"), serde_json::json!([]));
    assert_eq!(output(&p, "missing", "rcode"), "NXDOMAIN");
    assert_eq!(output(&p, "missing", "value"), "");
    let records = output(&p, "missing", "records");
    assert!(
        records[0].as_str().unwrap().contains(" SOA "),
        "NXDOMAIN comes with the zone's SOA: {records}"
    );
    let journal = p.journals();
    assert!(journal.contains(&format!("look up www.example.test. A at {resolver}")));
}

#[test]
fn a_dead_resolver_times_out_within_the_step_deadline() {
    let Some(p) = probe_project("dns \"127.0.0.1\"") else {
        return;
    };
    // Bound and never read: queries vanish, as with a dead server.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    p.runbook(
        "dead",
        &r#"
runbook dead version=1 {
    step short uses=net-probe action=dns continue-on-error=#true {
        resolver "127.0.0.1:PORT"; name "www.example.test"; timeout "500ms"
    }
    step deadline uses=net-probe action=dns timeout="2s" {
        resolver "127.0.0.1:PORT"; name "www.example.test"; timeout "1m"
    }
}
"#
        .replace("PORT", &port.to_string()),
    );
    let r = cairn(&p, &["run", "dead"], &[]);
    r.code(1)
        .has(&format!(
            "dns: www.example.test. A at 127.0.0.1:{port}: no answer in 500ms (udp)"
        ))
        .has("✗ deadline");
    assert!(
        r.elapsed < Duration::from_secs(8),
        "the lookups outlived their deadlines: {:?}",
        r.elapsed
    );
    let f = finished(&p, "deadline");
    assert!(
        f["duration_ms"].as_f64().unwrap() < 3500.0,
        "the 2s step took {f}"
    );
}

#[test]
fn dns_resolvers_not_granted_are_refused() {
    let Some(p) = probe_project("dns \"127.0.0.1:58053\"") else {
        return;
    };
    p.runbook(
        "other",
        r#"
runbook other version=1 {
    step other uses=net-probe action=dns { resolver "127.0.0.2:58053"; name "www.example.test"; }
}
"#,
    );
    cairn(&p, &["run", "other"], &[])
        .code(1)
        .has("dns: `127.0.0.2:58053` is not permitted for plugin `net-probe` (grant it in cairn.kdl: `grant plugin=net-probe { dns \"127.0.0.2:58053\" }`)");
}
