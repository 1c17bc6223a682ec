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

#[test]
fn inspect_and_list_show_the_lab_container_running() {
    let Some(lab) = lab() else { return };
    let Some(p) = project(
        &lab.host,
        &format!(
            r#"
runbook box version=1 {{
    step look uses=docker-probe action=inspect {{ engine {host}; container {c}; }}
    step default uses=docker-probe action=inspect {{ container {c}; }}
    step all uses=docker-probe action=list {{ engine {host}; }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&lab.container)
        ),
    ) else {
        return;
    };
    // The step naming no engine gets the default: DOCKER_HOST.
    cairn(&p, &["run", "box"], Some(&lab.host)).code(0);
    let look = outputs(&p, "look");
    assert_eq!(look["name"], lab.container.as_str());
    assert_eq!(look["running"], true);
    assert_eq!(look["state"], "running");
    assert_eq!(look["image"], lab.image.as_str());
    assert_eq!(look["exit-code"], Value::Null);
    let (started, running) = lab.started_at(&lab.container);
    assert!(running);
    assert_eq!(look["started-at"], started.as_str());
    assert_eq!(outputs(&p, "default")["id"], look["id"]);
    let all = outputs(&p, "all");
    assert!(
        all["running"]
            .as_array()
            .unwrap()
            .contains(&Value::from(lab.container.as_str())),
        "{all}"
    );
    assert!(p.journals().contains(&format!(
        "inspect container {} on {}",
        lab.container, lab.host
    )));
}

#[test]
fn restart_changes_started_at_and_the_container_runs_again() {
    let Some(lab) = lab() else { return };
    let scratch = lab.scratch("restart");
    let Some(p) = project(
        &lab.host,
        &format!(
            r#"
runbook box version=1 {{
    step before uses=docker-probe action=inspect {{ engine {host}; container {c}; }}
    step bounce uses=docker-probe action=restart {{ engine {host}; container {c}; timeout "5s"; }}
    step after uses=docker-probe action=inspect {{ engine {host}; container {c}; }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&scratch.name)
        ),
    ) else {
        return;
    };
    let (at_first, _) = lab.started_at(&scratch.name);
    cairn(&p, &["run", "box"], None).code(0);
    let before = outputs(&p, "before");
    let bounce = outputs(&p, "bounce");
    let after = outputs(&p, "after");
    assert_eq!(before["started-at"], at_first.as_str());
    assert_ne!(after["started-at"], before["started-at"]);
    assert_eq!(bounce["started-at"], after["started-at"]);
    assert_eq!(
        (bounce["planned"].clone(), after["running"].clone()),
        (Value::Bool(false), Value::Bool(true))
    );
    let (at_now, running) = lab.started_at(&scratch.name);
    assert!(running, "the container runs again");
    assert_eq!(after["started-at"], at_now.as_str());
}

#[test]
fn a_dry_run_restart_changes_nothing() {
    let Some(lab) = lab() else { return };
    let scratch = lab.scratch("dry");
    let Some(p) = project(
        "*",
        &format!(
            r#"
runbook box version=1 {{
    step bounce uses=docker-probe action=restart {{ engine {host}; container {c}; }}
    step stop uses=docker-probe action=stop {{ engine {host}; container {c}; }}
    step touch uses=docker-probe action=exec {{ engine {host}; container {c}; run touch "/tmp/touched"; }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&scratch.name)
        ),
    ) else {
        return;
    };
    let (at_before, _) = lab.started_at(&scratch.name);
    cairn(&p, &["run", "box", "--dry-run"], None)
        .code(0)
        .has(&format!(
            "would restart container {} on {}",
            scratch.name, lab.host
        ))
        .has(&format!(
            "would stop container {} on {}",
            scratch.name, lab.host
        ))
        .has(&format!(
            "would run touch /tmp/touched in container {} on {}",
            scratch.name, lab.host
        ));
    assert_eq!(lab.started_at(&scratch.name), (at_before.clone(), true));
    let bounce = outputs(&p, "bounce");
    assert_eq!(bounce["planned"], true);
    // The plan shows the container as it is.
    assert_eq!(bounce["started-at"], at_before.as_str());
    assert_eq!(outputs(&p, "touch")["planned"], true);
    let touched = lab.docker(&["exec", &scratch.name, "test", "-e", "/tmp/touched"]);
    assert!(!touched.status.success(), "the write exec did not run");
}

#[test]
fn exec_runs_with_env_and_cwd_and_reports_the_status() {
    let Some(lab) = lab() else { return };
    let Some(p) = project(
        &lab.host,
        &format!(
            r#"
runbook box version=1 {{
    step probe uses=docker-probe action=exec {{
        engine {host}
        container {c}
        run sh "-c" "printf '%s|%s' \"$GREETING\" \"$(pwd)\"; echo oops >&2; exit 3"
        env GREETING="hello box" OTHER=x
        cwd "/tmp"
        effect read
    }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&lab.container)
        ),
    ) else {
        return;
    };
    // Reads run in a dry-run too.
    cairn(&p, &["run", "box", "--dry-run"], None).code(0);
    let out = outputs(&p, "probe");
    assert_eq!(out["stdout"], "hello box|/tmp");
    assert_eq!(out["stderr"], "oops");
    assert_eq!(out["status"], 3);
    assert_eq!(out["planned"], false);
    // The journal names the variables, not their values.
    let journal = p.journals();
    assert!(journal.contains("GREETING=…"), "{journal}");
    assert!(
        journal.contains(r#""env":["GREETING","OTHER"]"#),
        "{journal}"
    );
}

#[test]
fn an_ungranted_engine_is_refused() {
    let Some(lab) = lab() else { return };
    let Some(p) = project(
        "unix:///run/elsewhere/docker.sock",
        &format!(
            r#"
runbook box version=1 {{
    step look uses=docker-probe action=inspect {{ engine {host}; container {c}; }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&lab.container)
        ),
    ) else {
        return;
    };
    cairn(&p, &["run", "box"], None).code(1).has(&format!(
        "docker: `{}` is not permitted for plugin `docker-probe` (grant it in cairn.kdl: `grant plugin=docker-probe {{ docker \"{}\" }}`)",
        lab.host, lab.host
    ));
    // The default engine is checked as what it resolves to.
    p.runbook(
        "box",
        &format!(
            "runbook box version=1 {{\n    step look uses=docker-probe action=inspect {{ container {}; }}\n}}\n",
            kdl(&lab.container)
        ),
    );
    cairn(&p, &["run", "box"], Some(&lab.host))
        .code(1)
        .has(&format!("docker: `{}` is not permitted", lab.host));
}

#[test]
fn a_missing_container_is_named() {
    let Some(lab) = lab() else { return };
    let Some(p) = project(
        &lab.host,
        &format!(
            r#"
runbook box version=1 {{
    step look uses=docker-probe action=inspect {{ engine {host}; container "cairn-no-such-box"; }}
}}
"#,
            host = kdl(&lab.host),
        ),
    ) else {
        return;
    };
    cairn(&p, &["run", "box"], None).code(1).has(&format!(
        "docker: no container `cairn-no-such-box` on {}",
        lab.host
    ));
}

#[test]
fn stop_then_start_and_a_slow_exec_ends_at_the_step_deadline() {
    let Some(lab) = lab() else { return };
    let scratch = lab.scratch("stop");
    let Some(p) = project(
        &lab.host,
        &format!(
            r#"
runbook box version=1 {{
    step stop uses=docker-probe action=stop {{ engine {host}; container {c}; timeout "2s"; }}
    step start uses=docker-probe action=start {{ engine {host}; container {c}; }}
    step slow uses=docker-probe action=exec timeout="2s" {{
        engine {host}
        container {c}
        run sleep "30"
        effect read
    }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&scratch.name)
        ),
    ) else {
        return;
    };
    let started = std::time::Instant::now();
    cairn(&p, &["run", "box"], None)
        .code(1)
        .has(&format!(
            "docker: `sleep` in container `{}` on {} did not finish in",
            scratch.name, lab.host
        ))
        .has("and was killed");
    // Stopped, not left running in the container.
    let ps = lab.docker(&["exec", &scratch.name, "ps", "-o", "args"]);
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(!ps.contains("sleep 30"), "{ps}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "the deadline ended the exec: {:?}",
        started.elapsed()
    );
    let stop = outputs(&p, "stop");
    assert_eq!(
        (stop["running"].clone(), stop["state"].clone()),
        (Value::Bool(false), Value::from("exited"))
    );
    assert_eq!(stop["exit-code"], 0, "the container's trap exits 0 on TERM");
    let start = outputs(&p, "start");
    assert_eq!(start["running"], true);
    assert!(lab.started_at(&scratch.name).1);
}
