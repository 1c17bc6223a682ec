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
mod describe;
mod limits;
mod sandbox;
mod secrets;

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
