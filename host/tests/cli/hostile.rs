//! Hostile plugins (DESIGN §5): a plugin that loops, hoards memory, recurses,
//! floods, oversteps its grants or leaks a secret fails its step with a clear
//! message, and the host carries on: `finally` runs, the next run works,
//! nothing leaks.
//!
//! The plugins are the test-only components of `tests/plugins/`, built by
//! `host/build.rs` into `CAIRN_TEST_PLUGINS`. Each test copies the ones it
//! needs into the project's `plugins/` directory; a project plugin gets only
//! what `cairn.kdl` grants it.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Project;

/// What the tests grant `hostile`, which declares `*` for each capability.
const GRANT: &str = r#"grant plugin=hostile {
        exec "echo"
        http "127.0.0.1"
        secrets "token"
    }"#;

/// A secret value, seeded through the environment (`HOSTILE_TOKEN`).
const SECRET: &str = "s3cr3t-hostile-9f4e2a";

/// A run of the next, independent runbook: the same plugin and a stock one.
const AFTER: &str = r#"
runbook after version=1 {
    step plugin-again uses=hostile action=env
    step stock uses=noop
}
"#;

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

pub(crate) struct Hostile {
    pub(crate) p: Project,
}

impl Hostile {
    /// A project with `hostile` in `plugins/`, granted [`GRANT`].
    fn new() -> Option<Self> {
        Self::with(GRANT, &["hostile"])
    }

    /// A project with the test plugins `plugins` and the `grant` text.
    pub(crate) fn with(grant: &str, plugins: &[&str]) -> Option<Self> {
        let config = format!(
            "project hostile-test {{\n    plugins {{ dir \"plugins\"; }}\n    secrets {{ env prefix=HOSTILE_; }}\n    {grant}\n}}\n"
        );
        let p = Project::with_config(&config);
        std::fs::create_dir_all(p.join("plugins")).expect("plugins dir");
        for name in plugins {
            let from = test_plugin(name)?;
            std::fs::copy(from, p.join(&format!("plugins/{name}.wasm"))).expect("copy plugin");
        }
        p.runbook("after", AFTER);
        Some(Self { p })
    }

    pub(crate) fn cairn(&self, args: &[&str]) -> Ran {
        self.cairn_env(args, &[])
    }

    pub(crate) fn cairn_env(&self, args: &[&str], env: &[(&str, &str)]) -> Ran {
        let mut cmd = self.p.cmd();
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let out = cmd.output().expect("run cairn");
        Ran::new(args, out, started.elapsed())
    }

    /// Writes runbook `attack`: the attack, a step after it, and `finally`.
    fn attack_runbook(&self, action: &str, attrs: &str, args: &str) {
        let body = if args.is_empty() {
            String::new()
        } else {
            format!(" {{ {args} }}")
        };
        let text = r#"
runbook attack version=1 {
    step attack uses=hostile action=ACTION ATTRS BODY
    step next uses=exec { run touch "{{ project.root }}/next"; }
    finally {
        step cleanup uses=exec { run touch "{{ project.root }}/cleaned"; }
    }
}
"#
        .replace("ACTION", action)
        .replace(" ATTRS", &format!(" {attrs}"))
        .replace(" BODY", &body);
        self.p.runbook("attack", &text);
    }

    /// Runs `action` as the step `attack` of a runbook with a `finally`.
    fn attack(&self, action: &str, attrs: &str, args: &str) -> Ran {
        self.attack_runbook(action, attrs, args);
        self.cairn_env(&["run", "attack"], &[("HOSTILE_TOKEN", SECRET)])
    }

    /// The attack failed its step: the step after it did not run, `finally`
    /// did, and a new run in the same project works.
    fn contained(&self) {
        assert!(
            !self.p.join("next").exists(),
            "the step after the attack ran"
        );
        self.carries_on();
    }

    /// `finally` ran and a new run in the same project works.
    pub(crate) fn carries_on(&self) {
        let cleaned = self.p.join("cleaned");
        assert!(cleaned.exists(), "finally did not run");
        std::fs::remove_file(cleaned).expect("rm cleaned");
        self.cairn(&["run", "after"])
            .code(0)
            .has("✓ plugin-again")
            .has("✓ stock");
    }

    /// The `step-finished` event of `step` in the newest run.
    pub(crate) fn finished(&self, step: &str) -> Value {
        self.p
            .last_journal()
            .into_iter()
            .find(|e| e["event"] == "step-finished" && e["step"] == step)
            .unwrap_or_else(|| panic!("no step-finished for `{step}`"))
    }
}

/// A finished `cairn` process.
pub(crate) struct Ran {
    what: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Ran {
    fn new(args: &[&str], out: Output, elapsed: Duration) -> Self {
        Self {
            what: args.join(" "),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed,
        }
    }

    fn context(&self) -> String {
        let cut = |s: &str| -> String {
            if s.len() > 8000 {
                let mut end = 8000;
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}… ({} bytes)", &s[..end], s.len())
            } else {
                s.to_string()
            }
        };
        format!(
            "`cairn {}` exited {:?} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.code,
            self.elapsed,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }

    pub(crate) fn code(&self, expected: i32) -> &Self {
        assert_eq!(self.code, Some(expected), "{}", self.context());
        self
    }

    pub(crate) fn has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    pub(crate) fn err_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    pub(crate) fn lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle) && !self.stderr.contains(needle),
            "output has {needle:?}\n{}",
            self.context()
        );
        self
    }
}

/// A tiny HTTP server on 127.0.0.1: answers each request with
/// `respond(path)` and records the paths it was asked for.
struct Server {
    port: u16,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(respond: impl Fn(&str) -> String + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let seen = hits.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut buf = [0u8; 8192];
                let n = stream.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                seen.lock().expect("hits").push(path.clone());
                let _ = stream.write_all(respond(&path).as_bytes());
            }
        });
        Self { port, hits }
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().expect("hits").clone()
    }
}

fn http_response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn spin_is_interrupted_by_the_step_timeout() {
    let Some(h) = Hostile::new() else { return };
    let r = h.attack("spin", r#"timeout="300ms""#, "");
    r.code(1)
        .has("✗ attack")
        .has("plugin `hostile` timed out after 300ms");
    assert!(
        r.elapsed < Duration::from_secs(20),
        "the spin was not interrupted in time\n{}",
        r.context()
    );
    assert_eq!(
        h.finished("attack")["error"],
        "plugin `hostile` timed out after 300ms"
    );
    h.contained();
}

#[test]
fn alloc_without_bound_stops_at_the_memory_cap() {
    let Some(h) = Hostile::new() else { return };
    h.attack("alloc", "", "")
        .code(1)
        .has("✗ attack")
        .has("plugin `hostile` crashed: out of memory (the plugin's memory limit was reached)")
        .has("memory allocation of 1048576 bytes failed")
        .lacks("RUST_BACKTRACE");
    h.contained();
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let Some(h) = Hostile::new() else { return };
    h.attack("recurse", "", "")
        .code(1)
        .has("✗ attack")
        .has("plugin `hostile` crashed: stack overflow");
    h.contained();
    // Big frames exhaust the stack the compiler keeps in linear memory
    // first: that stack sits below address 0, so overflowing it is an out
    // of bounds access, not a write over the plugin's data.
    h.attack("recurse", "", "frame-bytes 4096")
        .code(1)
        .has("plugin `hostile` crashed: wasm trap: out of bounds memory access");
    h.contained();
}

#[test]
fn a_log_flood_is_capped_with_a_warning_and_the_run_finishes() {
    let Some(h) = Hostile::new() else { return };
    let r = h.attack("log-flood", "", "");
    r.code(0)
        .has("✓ attack")
        .has("warning: plugin `hostile` logged more than 10000 events in step `attack`; the rest are dropped");
    assert!(
        r.stdout.lines().count() < 10_100,
        "{} lines on stdout",
        r.stdout.lines().count()
    );
    let journal = h.p.last_journal();
    let logs = journal
        .iter()
        .filter(|e| e["event"] == "log" && e["step"] == "attack")
        .count();
    assert_eq!(logs, 10_000, "log events journaled");
    let warnings: Vec<&Value> = journal.iter().filter(|e| e["event"] == "warning").collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains("logged more than 10000 events")
    );
    assert_eq!(h.finished("attack")["outputs"]["sent"], 1_000_000);
    assert!(h.p.join("next").exists(), "the run went on after the flood");
    h.carries_on();
}

#[test]
fn outputs_over_the_cap_are_refused() {
    let Some(h) = Hostile::new() else { return };
    h.attack("big-output", "", "")
        .code(1)
        .has("✗ attack")
        .has("plugin `hostile` returned 52428811 bytes of outputs, over the limit of 1048576 bytes")
        .lacks("xxxxxxxxxxxxxxxx");
    let journal = h.p.journals();
    assert!(
        journal.len() < 64 << 10,
        "journal of {} bytes",
        journal.len()
    );
    assert_eq!(h.finished("attack")["outputs"], serde_json::json!({}));
    h.contained();
}

#[test]
fn files_are_out_of_reach_without_preopens() {
    let Some(h) = Hostile::new() else { return };
    h.attack("read-file", "", "").code(0).has("✓ attack");
    let outputs = &h.finished("attack")["outputs"];
    assert_eq!(outputs["leaked"], false, "{outputs}");
    let results = outputs["results"].as_array().expect("results");
    let paths: Vec<&str> = results
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/etc/passwd", "../../etc/passwd", "/", "."]);
    for r in results {
        assert_eq!(r["read"], false, "{r}");
        assert!(!r["error"].as_str().unwrap_or("").is_empty(), "{r}");
    }
    assert!(!h.p.journals().contains("root:"), "a file's content leaked");
    h.carries_on();
}

#[test]
fn there_is_no_network_to_connect_to() {
    let Some(h) = Hostile::new() else { return };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    h.attack("socket", "", &format!("port {port}"))
        .code(1)
        .has("✗ attack")
        .has(&format!("connect to 127.0.0.1:{port} failed: "));
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the plugin reached the listener: {other:?}"),
    }
    h.contained();
}

#[test]
fn the_environment_is_empty() {
    let Some(h) = Hostile::new() else { return };
    h.attack_runbook("env", "", "");
    h.cairn_env(
        &["run", "attack"],
        &[("HOSTILE_CANARY", "canary-value-71c3")],
    )
    .code(0);
    let outputs = &h.finished("attack")["outputs"];
    assert_eq!(outputs["count"], 0, "{outputs}");
    assert_eq!(outputs["vars"], serde_json::json!([]));
    assert_eq!(outputs["args"], serde_json::json!([]));
    assert!(!h.p.journals().contains("canary-value"));
    h.carries_on();
}

#[test]
fn exec_runs_only_granted_programs_and_never_through_dot_dot() {
    let Some(h) = Hostile::new() else { return };
    h.p.runbook(
        "exec",
        r#"
runbook exec version=1 {
    step granted uses=hostile action=exec { program echo; args "hello from hostile"; }
    step other uses=hostile action=exec continue-on-error=#true { program touch; args "{{ project.root }}/touched"; }
    step climbs uses=hostile action=exec continue-on-error=#true { program "../../../../../../../../../bin/echo"; args "climbed"; }
    step climbs-other uses=hostile action=exec continue-on-error=#true { program "../../../../../../../../../usr/bin/touch"; args "{{ project.root }}/touched"; }
    finally {
        step cleanup uses=exec { run touch "{{ project.root }}/cleaned"; }
    }
}
"#,
    );
    let r = h.cairn(&["run", "exec"]);
    r.code(0)
        .has("✓ granted")
        .has("exec: `touch` is not permitted for plugin `hostile` (grant it in cairn.kdl: `grant plugin=hostile { exec \"touch\" }`)")
        .has("exec: `../../../../../../../../../bin/echo` is not permitted for plugin `hostile`")
        .has("exec: `../../../../../../../../../usr/bin/touch` is not permitted for plugin `hostile`")
        .lacks("climbed");
    assert_eq!(
        h.finished("granted")["outputs"]["stdout"],
        "hello from hostile"
    );
    for step in ["other", "climbs", "climbs-other"] {
        let f = h.finished(step);
        assert_eq!(f["status"], "failed-continued", "{f}");
        assert!(
            f["error"].as_str().unwrap().contains("is not permitted"),
            "{f}"
        );
    }
    assert!(!h.p.join("touched").exists(), "an ungranted program ran");
    h.carries_on();
}

#[test]
fn http_reaches_only_granted_hosts_even_through_redirects() {
    let Some(h) = Hostile::new() else { return };
    let target = Server::start(|_| http_response("200 OK", "", "reached"));
    let t = target.port;
    let redirector = Server::start(move |path| match path {
        "/away" => http_response(
            "302 Found",
            &format!("Location: http://localhost:{t}/stolen\r\n"),
            "",
        ),
        _ => http_response(
            "302 Found",
            &format!("Location: http://127.0.0.1:{t}/fine\r\n"),
            "",
        ),
    });
    let r = redirector.port;
    h.p.runbook(
        "http",
        &r#"
runbook http version=1 {
    step granted uses=hostile action=http { url "http://127.0.0.1:T/direct"; }
    step redirect-granted uses=hostile action=http { url "http://127.0.0.1:R/stay"; }
    step other-host uses=hostile action=http continue-on-error=#true { url "http://localhost:T/other"; }
    step userinfo uses=hostile action=http continue-on-error=#true { url "http://127.0.0.1@localhost:T/userinfo"; }
    step redirect-away uses=hostile action=http continue-on-error=#true { url "http://127.0.0.1:R/away"; }
    finally {
        step cleanup uses=exec { run touch "{{ project.root }}/cleaned"; }
    }
}
"#
        .replace(":T/", &format!(":{t}/"))
        .replace(":R/", &format!(":{r}/")),
    );
    h.cairn(&["run", "http"])
        .code(0)
        .has("✓ granted")
        .has("✓ redirect-granted")
        .has(&format!("http: `localhost:{t}` is not permitted for plugin `hostile` (grant it in cairn.kdl: `grant plugin=hostile {{ http \"localhost:{t}\" }}`)"))
        .has(&format!("http: GET http://127.0.0.1:{r}/away: redirected to `localhost:{t}`, which is not permitted for plugin `hostile`"));
    assert_eq!(h.finished("granted")["outputs"]["body"], "reached");
    assert_eq!(h.finished("redirect-granted")["outputs"]["body"], "reached");
    for step in ["other-host", "userinfo", "redirect-away"] {
        assert_eq!(h.finished(step)["status"], "failed-continued");
    }
    assert_eq!(
        target.hits(),
        ["/direct", "/fine"],
        "an ungranted request got through"
    );
    assert_eq!(redirector.hits(), ["/stay", "/away"]);
    h.carries_on();
}

/// Every file under `dir`, recursively.
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
    out
}

#[test]
fn a_revealed_secret_appears_in_no_byte_cairn_wrote() {
    let Some(h) = Hostile::new() else { return };
    h.p.runbook(
        "leak",
        r#"
runbook leak version=1 {
    step outputs uses=hostile action=leak-secret { name token; via outputs; }
    step error uses=hostile action=leak-secret continue-on-error=#true { name token; via error; }
    step panic uses=hostile action=leak-secret continue-on-error=#true { name token; via panic; }
    step abort uses=hostile action=leak-secret continue-on-error=#true { name token; via abort; }
    step ungranted uses=hostile action=leak-secret continue-on-error=#true { name other; via outputs; }
    step passed-on uses=exec {
        run echo "{{ steps.outputs.outputs.wrapped }}"
        effect read
    }
    finally {
        step cleanup uses=exec { run touch "{{ project.root }}/cleaned"; }
    }
}
"#,
    );
    let env = [
        ("HOSTILE_TOKEN", SECRET),
        ("HOSTILE_OTHER", "other-value-5d2b"),
    ];
    let mut written = Vec::new();
    let human = h.cairn_env(&["run", "leak"], &env);
    human
        .code(0)
        .has("✓ outputs")
        .has("the secret is ********")
        .has("✗ error")
        .has("leaking ******** in an error")
        .has("crashed: panicked at")
        .has("leaking ******** in a panic")
        .has("leaking ******** before an abort")
        .has("secrets: `other` is not permitted for plugin `hostile`")
        .has("✓ passed-on");
    assert_eq!(
        h.finished("passed-on")["outputs"]["stdout"],
        "before-********-after"
    );
    let run_id = h.p.last_journal()[0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    written.push(human);
    written.push(h.cairn_env(&["run", "leak", "--json"], &env));
    written.push(h.cairn(&["log", &run_id]));
    written.push(h.cairn(&["log", &run_id, "--json"]));
    written.push(h.cairn(&["history"]));
    for ran in &written {
        ran.lacks(SECRET).lacks("other-value-5d2b");
    }
    let files = files_under(&h.p.join(".cairn"));
    assert!(files.iter().any(|f| f.ends_with("journal.jsonl")));
    for file in files {
        let bytes = std::fs::read(&file).expect("read");
        for needle in [SECRET, "other-value-5d2b"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "`{}` holds a secret",
                file.display()
            );
        }
    }
    assert!(h.p.journals().contains("the secret is ********"));
    h.carries_on();
}

#[test]
fn secret_handles_are_capped() {
    let Some(h) = Hostile::new() else { return };
    h.attack("handles", "", "name token")
        .code(1)
        .has("✗ attack")
        .has("plugin `hostile` crashed: it holds more than 1000 handles at once");
    h.contained();
}

#[test]
fn a_panic_fails_the_step_with_its_message() {
    let Some(h) = Hostile::new() else { return };
    let r = h.attack("panic", "", r#"message "hostile gave up""#);
    r.code(1)
        .has("✗ attack")
        .has("plugin `hostile` crashed: panicked at ")
        .has("hostile gave up");
    let error = h.finished("attack")["error"].as_str().unwrap().to_string();
    assert!(
        error.starts_with("plugin `hostile` crashed: panicked at "),
        "{error}"
    );
    assert!(error.ends_with(": hostile gave up"), "{error}");
    h.contained();
}

#[test]
fn stdout_is_capped_and_never_shown() {
    let Some(h) = Hostile::new() else { return };
    h.attack("stdout-flood", "", "").code(0).lacks("yyyyyyyy");
    let lines = h.finished("attack")["outputs"]["lines"].as_u64().unwrap();
    assert!(lines < 10 << 10, "{lines} lines of 1 KiB written");
    assert!(!h.p.journals().contains("yyyyyyyy"));
    h.carries_on();
}

#[test]
fn a_project_plugin_gets_nothing_until_granted() {
    let Some(h) = Hostile::with("", &["hostile"]) else {
        return;
    };
    h.attack_runbook("exec", "", r#"program echo; args "ungranted""#);
    h.cairn(&["run", "attack"])
        .code(3)
        .err_has("plugin `hostile` (step `attack`) needs `exec`, `http`, `secrets` but cairn.kdl grants it nothing")
        .lacks("ungranted");
    assert!(!h.p.join(".cairn/runs").exists(), "a refused run started");
    assert!(!h.p.join("cleaned").exists());

    // A grant narrows: secrets only, so `exec` is refused at the call.
    let Some(h) = Hostile::with(r#"grant plugin=hostile { secrets "token"; }"#, &["hostile"])
    else {
        return;
    };
    h.attack("exec", "", r#"program echo; args "ungranted""#)
        .code(1)
        .has("exec: `echo` is not permitted for plugin `hostile`");
    h.contained();
}

#[test]
fn a_plugin_that_panics_in_describe_is_reported_and_the_rest_works() {
    let Some(h) = Hostile::with(GRANT, &["hostile", "bad-describe"]) else {
        return;
    };
    h.p.runbook(
        "broken",
        "runbook broken version=1 {\n    step x uses=bad-describe\n}\n",
    );
    let file = "bad-describe.wasm";
    let why = "crashed: panicked at ";
    let message = "bad-describe refuses to describe itself";
    h.cairn(&["run", "broken"])
        .code(2)
        .err_has(file)
        .err_has(why)
        .err_has(message)
        .err_has("unknown plugin `bad-describe`");
    h.cairn(&["validate"])
        .code(2)
        .err_has(file)
        .err_has(message)
        .has("ok runbooks/after.kdl");
    h.cairn(&["run", "after"])
        .code(0)
        .has("✓ plugin-again")
        .err_has(file);
    h.cairn(&["plugin", "list"])
        .code(0)
        .has("hostile")
        .has("noop")
        .err_has(message);
}

#[test]
fn a_plugin_that_loops_in_describe_is_stopped_by_the_describe_timeout() {
    let Some(h) = Hostile::with(GRANT, &["hostile", "loop-describe"]) else {
        return;
    };
    h.p.runbook(
        "looping",
        "runbook looping version=1 {\n    step x uses=loop-describe\n}\n",
    );
    let r = h.cairn(&["run", "after"]);
    r.code(0)
        .has("✓ plugin-again")
        .err_has("loop-describe.wasm")
        .err_has("timed out after 5s");
    assert!(
        r.elapsed >= Duration::from_secs(5) && r.elapsed < Duration::from_secs(30),
        "{}",
        r.context()
    );
    h.cairn(&["validate", "looping"])
        .code(2)
        .err_has("loop-describe.wasm")
        .err_has("timed out after 5s")
        .err_has("unknown plugin `loop-describe`");
}
