//! The `docker` capability against the lab's dockerd (`tests/README.md`),
//! driven by the test plugin `docker-probe` (`tests/plugins/docker-probe`)
//! through the real `cairn` binary: inspect, list, restart (for real and in
//! a dry-run), exec with env and cwd, refusals and a missing container.
//!
//! Tests that change a container make one of their own from the lab's image
//! and remove it at the end: the lab's `cairn-lab-box` is shared.
//!
//! Each test needs `CAIRN_LAB_DOCKER_*` (`eval "$(tests/lab/up docker)"`).
//! Without them a test prints why and passes, except under `CI=true`, where
//! a missing lab fails it (unless the lab recorded that dockerd cannot run on
//! this machine).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::Project;
mod changes;
mod exec;
mod read;
mod refusals;

const DOCKER_VARS: &[&str] = &[
    "CAIRN_LAB_DOCKER_HOST",
    "CAIRN_LAB_DOCKER_CONTAINER",
    "CAIRN_LAB_DOCKER_IMAGE",
];

/// The lab's docker variables, or `None` after printing why the test does
/// not run. Under `CI=true` a missing variable fails the test instead.
fn lab() -> Option<Lab> {
    let missing: Vec<&str> = DOCKER_VARS
        .iter()
        .copied()
        .filter(|n| std::env::var(n).map_or(true, |v| v.is_empty()))
        .collect();
    if missing.is_empty() {
        let v = |n: &str| std::env::var(n).unwrap();
        return Some(Lab {
            host: v(DOCKER_VARS[0]),
            container: v(DOCKER_VARS[1]),
            image: v(DOCKER_VARS[2]),
        });
    }
    let why = format!(
        "needs the lab: {} not set (eval \"$(tests/lab/up docker)\")",
        missing.join(", ")
    );
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let unavailable = std::env::var("CAIRN_LAB_STATE")
        .is_ok_and(|s| Path::new(&s).join("run/docker.unavailable").exists());
    if ci && !unavailable {
        panic!("{why}; under CI=true a missing lab is a failure");
    }
    eprintln!("skipped: {why}");
    None
}

struct Lab {
    /// `unix://...`
    host: String,
    container: String,
    image: String,
}

impl Lab {
    /// The docker client on the lab's engine.
    fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(&self.host)
            .args(args)
            .output()
            .expect("run docker")
    }

    /// `.State.StartedAt` and `.State.Running` of `container`, straight from
    /// the engine.
    fn started_at(&self, container: &str) -> (String, bool) {
        let out = self.docker(&[
            "inspect",
            "-f",
            "{{.State.StartedAt}} {{.State.Running}}",
            container,
        ]);
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let (at, running) = text.trim().split_once(' ').expect("two fields");
        (at.to_string(), running == "true")
    }

    /// A container of this test's own, from the lab's image, removed when
    /// the guard drops.
    fn scratch(&self, tag: &str) -> Scratch<'_> {
        let name = format!("cairn-test-{tag}-{}", std::process::id());
        let _ = self.docker(&["rm", "-f", &name]);
        let out = self.docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            "none",
            "--restart",
            "no",
            &self.image,
            "sh",
            "-c",
            "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done",
        ]);
        assert!(out.status.success(), "docker run: {out:?}");
        Scratch { lab: self, name }
    }
}

struct Scratch<'a> {
    lab: &'a Lab,
    name: String,
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        let _ = self.lab.docker(&["rm", "-f", &self.name]);
    }
}

/// The component of `docker-probe`, or `None` (and a note) when the test
/// plugins were not built (`CAIRN_PLUGINS_PREBUILT`).
fn probe() -> Option<PathBuf> {
    let path = Path::new(env!("CAIRN_TEST_PLUGINS")).join("docker-probe.wasm");
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

/// A project with `docker-probe` in `plugins/`, granted the engines `grant`.
fn project(grant: &str, runbook: &str) -> Option<Project> {
    let wasm = probe()?;
    let p = Project::with_config(&format!(
        "project docker-test {{\n    plugins {{ dir \"plugins\"; }}\n    grant plugin=docker-probe {{ docker {}; }}\n}}\n",
        kdl(grant)
    ));
    std::fs::create_dir_all(p.join("plugins")).expect("plugins dir");
    std::fs::copy(wasm, p.join("plugins/docker-probe.wasm")).expect("copy plugin");
    p.runbook("box", runbook);
    Some(p)
}

struct Ran {
    args: String,
    out: Output,
    text: String,
}

impl Ran {
    fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.out.status.code(),
            Some(expected),
            "`cairn {}`:\n{}",
            self.args,
            self.text
        );
        self
    }

    fn has(&self, needle: &str) -> &Self {
        assert!(
            self.text.contains(needle),
            "`cairn {}` lacks {needle:?}:\n{}",
            self.args,
            self.text
        );
        self
    }
}

/// `cairn ARGS` in the project, `DOCKER_HOST` set to `docker_host` (or
/// unset).
fn cairn(p: &Project, args: &[&str], docker_host: Option<&str>) -> Ran {
    let mut cmd = p.cmd();
    cmd.args(args);
    match docker_host {
        Some(h) => cmd.env("DOCKER_HOST", h),
        None => cmd.env_remove("DOCKER_HOST"),
    };
    let out = cmd.output().expect("run cairn");
    let text = format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ran {
        args: args.join(" "),
        out,
        text,
    }
}

/// The outputs of `step` in the project's newest journal; the step must
/// have succeeded.
fn outputs(p: &Project, step: &str) -> Value {
    let f = p
        .last_journal()
        .into_iter()
        .find(|e| e["event"] == "step-finished" && e["step"] == step)
        .unwrap_or_else(|| panic!("step `{step}` did not finish"));
    assert_eq!(f["status"], "ok", "step `{step}`: {f}");
    f["outputs"].clone()
}
