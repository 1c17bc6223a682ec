//! Targets and network capabilities against the lab's real services
//! (`tests/README.md`): `exec` on an ssh target (one shared connection per
//! run, also as an app host's sshd counts it); `exec` and `transfer` ends on a docker target of a non-default
//! engine, with no `docker` client on cairn's PATH; `socket` on the HAProxy
//! runtime API, `dns` against PowerDNS.
//!
//! Each test needs some `CAIRN_LAB_*` variables (`eval "$(tests/lab/up ssh
//! docker haproxy dns hosts)"`). Without them a test prints why and passes, except
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

mod app_hosts;
mod dns;
mod docker_target;
mod docker_transfer;
mod remote_leftovers;
mod socket;
mod ssh;

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

/// A number for this test run's `sleep`s, to find them in the container
/// among those of other runs.
fn sleep_tag() -> u32 {
    40_000 + std::process::id() % 20_000
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

// ------------------------------------------------------------- socket ----

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
