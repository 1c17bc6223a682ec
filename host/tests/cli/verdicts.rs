//! Verdicts: once written never rewritten, one exit code each, shown by
//! `--json` and `cairn history`; `resume` continues only an interrupted run,
//! `retry` starts a new run that names the one it retries.

use serde_json::Value;

use crate::Project;

/// Fails on its first attempt (leaving a marker), succeeds on the second;
/// its `on-failure` step records that it ran.
const FLAKY: &str = r#"
runbook flaky version=1 {
    param label default="first"
    step prepare uses=exec {
        run sh "-c" "echo {{ params.label }} >> prepared"
        cwd "{{ project.root }}"
    }
    step flaky uses=exec {
        run sh "-c" "if [ -f tried ]; then echo fine; else touch tried; exit 1; fi"
        cwd "{{ project.root }}"
    }
    on-failure {
        step undo uses=exec {
            run sh "-c" "echo undone >> undone"
            cwd "{{ project.root }}"
        }
    }
}
"#;

fn history(p: &Project) -> Vec<Value> {
    let h = p.cairn(&["--json", "history"]);
    h.success();
    serde_json::from_str::<Value>(&h.stdout)
        .expect("history json")
        .as_array()
        .expect("a list")
        .clone()
}

fn journal_of(p: &Project, id: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(p.join(&format!(".cairn/runs/{id}/journal.jsonl")))
        .expect("journal");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[test]
fn a_failed_run_stays_failed_resume_refuses_it_and_retry_is_a_new_run() {
    let p = Project::new();
    p.runbook("flaky", FLAKY);
    p.cairn(&["run", "flaky", "-p", "label=kept"])
        .code(1)
        .stdout_has("failed (rolled back)");
    assert_eq!(
        std::fs::read_to_string(p.join("undone")).unwrap(),
        "undone\n"
    );
    let runs = history(&p);
    assert_eq!(runs.len(), 1);
    let id = runs[0]["id"].as_str().unwrap().to_string();
    assert_eq!(runs[0]["verdict"], "failed");

    // The run ended: resume refuses it, says why and how to retry, runs nothing.
    p.cairn(&["resume", &id])
        .code(3)
        .stderr_has("failed")
        .stderr_has(&format!("cairn retry {id}"));
    assert_eq!(
        std::fs::read_to_string(p.join("prepared")).unwrap(),
        "kept\n",
        "a refused resume runs nothing"
    );
    let ends = journal_of(&p, &id)
        .into_iter()
        .filter(|e| e["event"] == "run-finished")
        .count();
    assert_eq!(ends, 1, "the verdict is written once");
    assert_eq!(history(&p)[0]["verdict"], "failed");

    // A retry is a new run with the same params that names the one it retries.
    p.cairn(&["retry", &id])
        .success()
        .stdout_has(&format!("retry of {id}"));
    let runs = history(&p);
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0]["id"], id.as_str());
    assert_eq!(runs[0]["verdict"], "failed", "the failure stays in history");
    assert_ne!(runs[1]["id"], id.as_str());
    assert_eq!(runs[1]["verdict"], "succeeded");
    assert_eq!(runs[1]["retry_of"], id.as_str());
    let retry_id = runs[1]["id"].as_str().unwrap().to_string();
    let start = &journal_of(&p, &retry_id)[0];
    assert_eq!(start["event"], "run-started");
    assert_eq!(start["retry_of"], id.as_str());
    assert_eq!(start["params"]["label"], "kept");
    assert_eq!(
        std::fs::read_to_string(p.join("prepared")).unwrap(),
        "kept\nkept\n",
        "a retry runs every step again"
    );
    p.cairn(&["history"])
        .success()
        .stdout_has(&format!("retry of {id}"));

    // Neither a finished run nor its retry can be resumed or retried again.
    p.cairn(&["resume", &retry_id])
        .code(3)
        .stderr_has("succeeded");
    p.cairn(&["retry", &retry_id])
        .code(3)
        .stderr_has("succeeded");
}

#[test]
fn a_failed_rollback_is_loud_names_what_was_not_undone_and_has_its_own_exit_code() {
    let p = Project::new();
    p.runbook(
        "doomed",
        r#"
runbook doomed version=1 {
    step make uses=exec {
        run touch "{{ project.root }}/made"
    }
    step break uses=exec {
        run "false"
    }
    on-failure {
        step unmake uses=exec {
            run sh "-c" "echo cannot undo >&2; exit 3"
        }
        step notify uses=exec {
            run "true"
        }
    }
}
"#,
    );
    let r = p.cairn(&["run", "doomed"]);
    r.code(4)
        .stdout_has("failed, rollback failed")
        .stdout_has("`unmake`")
        .stdout_has("`notify` did not run")
        .stdout_has("`make`");
    let runs = history(&p);
    assert_eq!(runs[0]["verdict"], "rollback-failed");
    assert_eq!(runs[0]["result"], "failed");
    p.cairn(&["history"])
        .success()
        .stdout_has("failed, rollback failed");

    let j = p.cairn(&["--json", "run", "doomed"]);
    j.code(4);
    let last: Value = serde_json::from_str(j.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "run-finished");
    assert_eq!(last["verdict"], "rollback-failed");
    assert_eq!(last["not_undone"], serde_json::json!(["unmake", "notify"]));
}

#[test]
fn each_verdict_has_its_own_exit_code_and_json_carries_it() {
    let p = Project::new();
    p.runbook(
        "ok",
        "runbook ok version=1 {\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    p.runbook(
        "bare",
        "runbook bare version=1 {\n    step a uses=exec { run \"false\"; }\n}\n",
    );
    let ok = p.cairn(&["--json", "run", "ok"]);
    ok.code(0);
    let last: Value = serde_json::from_str(ok.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["verdict"], "succeeded");
    let bare = p.cairn(&["--json", "run", "bare"]);
    bare.code(1);
    let last: Value = serde_json::from_str(bare.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["verdict"], "failed");

    let help = p.cairn(&["--help"]);
    help.success()
        .stdout_has("Exit codes")
        .stdout_has("0  succeeded")
        .stdout_has("1  failed")
        .stdout_has("2  invalid")
        .stdout_has("3  refused")
        .stdout_has("4  failed, rollback failed")
        .stdout_has("5  interrupted");
}

#[test]
fn history_shows_a_run_without_an_end_whose_process_is_gone_as_interrupted() {
    let p = Project::new();
    p.runbook(
        "ok",
        "runbook ok version=1 {\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    p.cairn(&["run", "ok"]).success();
    let id = history(&p)[0]["id"].as_str().unwrap().to_string();
    // The same journal without its end, written by a process that is gone.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let lines: Vec<String> = journal_of(&p, &id)
        .into_iter()
        .filter(|e| e["event"] != "run-finished")
        .map(|mut e| {
            if e["event"] == "run-started" {
                e["pid"] = pid.into();
            }
            e.to_string()
        })
        .collect();
    std::fs::write(
        p.join(&format!(".cairn/runs/{id}/journal.jsonl")),
        lines.join("\n") + "\n",
    )
    .unwrap();
    let runs = history(&p);
    assert_eq!(runs[0]["verdict"], "interrupted");
    p.cairn(&["history"]).success().stdout_has("interrupted");
    // An interrupted run is not retried: it is resumed.
    p.cairn(&["retry", &id])
        .code(3)
        .stderr_has(&format!("cairn resume {id}"));
}

#[test]
fn sigterm_stops_the_run_after_its_current_step_as_interrupted_and_resume_finishes_it() {
    let p = Project::new();
    p.runbook(
        "slow",
        r#"
runbook slow version=1 {
    step first uses=exec {
        run sh "-c" "echo x >> first; touch waiting; while [ ! -f go ]; do sleep 0.02; done"
        cwd "{{ project.root }}"
    }
    step second uses=exec {
        run touch "{{ project.root }}/second"
    }
    finally {
        step cleanup uses=exec {
            run sh "-c" "echo y >> cleaned"
            cwd "{{ project.root }}"
        }
    }
}
"#,
    );
    let child = p
        .cmd()
        .args(["run", "slow"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !p.join("waiting").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first step never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SIGTERM to the one process this test started, by its pid.
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    std::fs::write(p.join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}");
    assert!(stdout.contains(" interrupted"), "{stdout}");
    assert!(
        !p.join("second").exists(),
        "no step starts after the signal"
    );
    assert!(
        !p.join("cleaned").exists(),
        "finally waits for the resumed run's end"
    );
    let runs = history(&p);
    assert_eq!(runs[0]["verdict"], "interrupted");
    let id = runs[0]["id"].as_str().unwrap().to_string();
    assert!(
        !journal_of(&p, &id)
            .iter()
            .any(|e| e["event"] == "run-finished"),
        "an interrupted run has no end"
    );

    p.cairn(&["resume", &id])
        .success()
        .stdout_has("done before");
    assert!(p.join("second").exists());
    assert_eq!(std::fs::read_to_string(p.join("first")).unwrap(), "x\n");
    assert_eq!(std::fs::read_to_string(p.join("cleaned")).unwrap(), "y\n");
    assert_eq!(history(&p)[0]["verdict"], "succeeded");
}
