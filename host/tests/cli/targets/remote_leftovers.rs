//! A killed run's commands on an ssh or a docker target: killing cairn ends
//! the local ssh client (or nothing at all, for a container's exec), not
//! the command there. Its processes carry the mark the journal records;
//! `cairn resume` finds them on the target and refuses, and
//! `--kill-leftovers` ends them there.
//!
//! The lab's sshd and dockerd run on this machine, so the test sees the
//! "remote" processes in `/proc` (as root); each one it finds is recorded
//! by pid and start time and killed at the end if it still runs.

use std::process::Stdio;

use super::*;

/// Pid and start time (`/proc/PID/stat` field 22) of a live process.
fn start_time(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    (f[0] != "Z").then(|| f[19].parse().ok()).flatten()
}

/// The processes of this machine whose environment holds `CAIRN_EXEC_ID=mark`.
fn marked(mark: &str) -> Vec<u32> {
    let needle = format!("CAIRN_EXEC_ID={mark}");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if env.split(|b| *b == 0).any(|v| v == needle.as_bytes()) && start_time(pid).is_some() {
            out.push(pid);
        }
    }
    out
}

/// Kills, at the end, the processes recorded (when still the same ones).
#[derive(Default)]
struct Cleanup(Vec<(u32, u64)>);

impl Cleanup {
    fn add(&mut self, pid: u32) {
        if let Some(t) = start_time(pid) {
            self.0.push((pid, t));
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (pid, t) in &self.0 {
            if start_time(*pid) == Some(*t) {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
            }
        }
    }
}

fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a runbook whose first step runs `sleep 300` on `target`,
/// kills cairn once the command runs there, then checks resume: refused
/// while the command lives there, `--kill-leftovers` ends it, the rest of
/// the run goes on.
/// `same_pids`: the target sees this machine's pids (ssh to the lab's
/// sshd), not those of a container's own pid namespace.
fn killed_run_is_found_on(
    p: &Project,
    target: &str,
    env: &[(&str, &str)],
    where_: &str,
    same_pids: bool,
) {
    let mut cleanup = Cleanup::default();
    p.runbook(
        "far",
        &r#"
runbook far version=1 {
    param secs required=#true
    step wait uses=exec target=TARGET { run sleep "{{ params.secs }}"; effect read; }
    step after uses=exec {
        run sh "-c" "echo x >> after"
        cwd "{{ project.root }}"
    }
}
"#
        .replace("TARGET", target),
    );
    let mut cmd = p.cmd();
    cmd.args(["run", "far", "-p", "secs=300"])
        .env_remove("DOCKER_HOST")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut cairn_run = cmd.spawn().unwrap();
    cleanup.add(cairn_run.id());
    let mark = wait_for("the remote-started record", Duration::from_secs(60), || {
        let journal = std::fs::read_dir(p.join(".cairn/runs"))
            .ok()?
            .next()
            .is_some();
        journal.then_some(())?;
        p.last_journal()
            .into_iter()
            .find(|e| e["event"] == "remote-started")
            .and_then(|e| e["marker"].as_str().map(str::to_string))
    });
    let pids = wait_for("the command there", Duration::from_secs(60), || {
        let pids = marked(&mark);
        (!pids.is_empty()).then_some(pids)
    });
    for pid in &pids {
        cleanup.add(*pid);
    }
    cairn_run.kill().unwrap();
    cairn_run.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !marked(&mark).is_empty(),
        "the command {where_} ended with cairn: nothing to find"
    );

    let runs: Value = serde_json::from_str(&cairn(p, &["--json", "history"], env).stdout).unwrap();
    let id = runs[0]["id"].as_str().unwrap().to_string();
    // Resumed, the step runs again: at once this time.
    let refused = cairn(p, &["resume", &id, "-p", "secs=0"], env);
    refused
        .code(3)
        .has("still has processes running")
        .has(&format!(" on {where_} (step `wait`: sleep 300"))
        .has("--kill-leftovers");
    if same_pids {
        refused.has(&format!("pid {} on {where_}", pids[0]));
    }
    assert!(!p.join("after").exists(), "nothing ran");
    assert!(!marked(&mark).is_empty(), "nothing was killed");

    cairn(p, &["resume", &id, "--kill-leftovers", "-p", "secs=0"], env)
        .code(0)
        .has("ended what was left");
    wait_for("the command there to end", Duration::from_secs(10), || {
        marked(&mark).is_empty().then_some(())
    });
    assert_eq!(std::fs::read_to_string(p.join("after")).unwrap(), "x\n");
}

#[test]
fn a_killed_runs_command_on_an_ssh_target_is_found_there_and_ended() {
    let Some(p) = super::ssh::ssh_project() else {
        return;
    };
    let dest = std::env::var("CAIRN_LAB_SSH").unwrap();
    let tmp = p.join("tmp");
    let tmp = tmp.to_str().unwrap().to_string();
    killed_run_is_found_on(&p, "db", &[("TMPDIR", &tmp)], &format!("`{dest}`"), true);
}

#[test]
fn a_killed_runs_command_in_a_container_is_found_there_and_ended() {
    let Some(p) = docker_project("") else {
        return;
    };
    let container = std::env::var("CAIRN_LAB_DOCKER_CONTAINER").unwrap();
    killed_run_is_found_on(&p, "box", &[], &format!("container `{container}`"), false);
}
