//! cairn.lock pins, and `cairn resume` after a SIGKILL.

use std::time::{Duration, Instant};

use crate::Project;

const ONE: &str = "runbook one version=1 {\n    step a uses=exec { run \"true\"; }\n}\n";

#[test]
fn lock_pins_plugins_and_a_changed_digest_is_refused_until_update() {
    let p = Project::new();
    p.runbook("one", ONE);
    p.cairn(&["lock"]).success().stdout_has("pinned exec");
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("cairn.lock")).unwrap()).unwrap();
    let exec = lock["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "exec")
        .unwrap()
        .clone();
    assert_eq!(exec["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(exec["capabilities"]["exec"][0], "*");
    p.cairn(&["run", "one"]).success();

    // Someone swapped the component: its digest no longer matches the pin.
    let text = std::fs::read_to_string(p.join("cairn.lock")).unwrap();
    let sha = exec["sha256"].as_str().unwrap();
    std::fs::write(p.join("cairn.lock"), text.replace(sha, &"0".repeat(64))).unwrap();
    p.cairn(&["run", "one"])
        .code(3)
        .stderr_has("changed since cairn.lock pinned it")
        .stderr_has("cairn lock --update");
    p.cairn(&["lock"]).code(3);
    p.cairn(&["lock", "--update"])
        .success()
        .stdout_has("updated");
    p.cairn(&["run", "one"]).success();
}

#[test]
fn a_changed_grant_is_refused_until_the_lock_is_updated() {
    let p = Project::new();
    p.runbook("one", ONE);
    p.cairn(&["lock"]).success();
    p.file(
        "cairn.kdl",
        "project test-site {\n    grant plugin=exec { exec \"true\"; }\n}\n",
    );
    p.cairn(&["run", "one"])
        .code(3)
        .stderr_has("other capabilities");
    p.cairn(&["lock", "--update"]).success();
    p.cairn(&["run", "one"]).success();
    p.cairn(&["plugin", "inspect", "exec"])
        .success()
        .stdout_has("narrowed by cairn.kdl");
}

#[test]
fn a_grant_narrows_the_stock_exec_plugin() {
    let p = Project::with_config("project test-site {\n    grant plugin=exec { exec echo; }\n}\n");
    p.runbook("two", "runbook two version=1 {\n    step ok uses=exec { run echo \"hi\"; effect read; }\n    step no uses=exec { run touch \"x\"; }\n}\n");
    p.cairn(&["run", "two"])
        .code(1)
        .stdout_has("exec: `touch` is not permitted for plugin `exec`");
    assert!(!p.join("x").exists());
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn resume_continues_a_killed_run_after_its_last_finished_step() {
    let p = Project::new();
    p.runbook(
        "long",
        r#"
runbook long version=1 {
    param name default="first"
    step count uses=exec {
        run sh "-c" "echo x >> counted; echo {{ params.name }}"
        cwd "{{ project.root }}"
    }
    step wait uses=exec {
        run sh "-c" "touch waiting; while [ ! -f go ]; do sleep 0.02; done"
        cwd "{{ project.root }}"
    }
    step last uses=exec {
        run sh "-c" "echo {{ steps.count.outputs.stdout }} > last"
        cwd "{{ project.root }}"
    }
}
"#,
    );
    let mut child = p
        .cmd()
        .args(["run", "long", "-p", "name=kept"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the second step", || p.join("waiting").exists());
    child.kill().unwrap(); // SIGKILL: no finally, no journal end, a stale lock
    child.wait().unwrap();
    let history = p.cairn(&["--json", "history"]);
    let runs: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(runs[0]["result"], "interrupted");
    let id = runs[0]["id"].as_str().unwrap().to_string();

    std::fs::write(p.join("go"), "").unwrap();
    p.cairn(&["resume", &id])
        .success()
        .stdout_has("done before")
        .stdout_has("stale lock");
    // The first step was not run again; its recorded output fed the last step.
    assert_eq!(std::fs::read_to_string(p.join("counted")).unwrap(), "x\n");
    assert_eq!(
        std::fs::read_to_string(p.join("last")).unwrap().trim(),
        "kept"
    );
    let runs: serde_json::Value =
        serde_json::from_str(&p.cairn(&["--json", "history"]).stdout).unwrap();
    assert_eq!(
        runs.as_array().unwrap().len(),
        1,
        "the resumed run keeps its id"
    );
    assert_eq!(runs[0]["result"], "success");
    p.cairn(&["resume", &id])
        .code(3)
        .stderr_has("nothing to resume");
}

#[test]
fn resume_refuses_a_runbook_that_changed() {
    let p = Project::new();
    p.runbook(
        "bad",
        "runbook bad version=1 {\n    step a uses=exec { run \"false\"; }\n}\n",
    );
    p.cairn(&["run", "bad"]).code(1);
    let runs: serde_json::Value =
        serde_json::from_str(&p.cairn(&["--json", "history"]).stdout).unwrap();
    let id = runs[0]["id"].as_str().unwrap().to_string();
    // Only an interrupted run is resumed: the same journal without its end,
    // written by a process that is gone.
    let path = p.join(&format!(".cairn/runs/{id}/journal.jsonl"));
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] != "run-finished")
        .map(|mut e| {
            if e["event"] == "run-started" {
                e["pid"] = pid.into();
            }
            e.to_string()
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    p.runbook(
        "bad",
        "runbook bad version=2 {\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    p.cairn(&["resume", &id])
        .code(3)
        .stderr_has("changed since run");
}
