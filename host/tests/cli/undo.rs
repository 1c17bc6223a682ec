//! Per-step undo: `step ... { undo { step ... } }`. When a main step fails,
//! the undo blocks of the main steps that finished run, the last finished
//! first, each with its own step's recorded outputs, before `on-failure`.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Project;

/// A step that appends `text` to the file `log` of the project.
fn log(id: &str, text: &str) -> String {
    format!(
        "step {id} uses=exec {{\n            run sh \"-c\" \"echo {text} >> log\"\n            cwd \"{{{{ project.root }}}}\"\n        }}"
    )
}

fn read(p: &Project, file: &str) -> String {
    std::fs::read_to_string(p.join(file)).unwrap_or_default()
}

fn history(p: &Project) -> Vec<Value> {
    let h = p.cairn(&["--json", "history"]);
    h.success();
    serde_json::from_str::<Value>(&h.stdout)
        .expect("history json")
        .as_array()
        .expect("a list")
        .clone()
}

/// `a` and `b` print a revision and undo with it; `skip` does not run;
/// `c` fails after it changed something, and has an undo of its own.
fn three_steps(c_undo: &str) -> String {
    format!(
        r#"
runbook deploy version=1 {{
    step a uses=exec {{
        run sh "-c" "echo main-a >> main; echo rev-a"
        cwd "{{{{ project.root }}}}"
        undo {{
            {ua}
        }}
    }}
    step skip uses=exec when=#false {{
        run "true"
        undo {{
            {us}
        }}
    }}
    step b uses=exec {{
        run sh "-c" "echo main-b >> main; echo rev-b"
        cwd "{{{{ project.root }}}}"
        undo {{
            {ub}
        }}
    }}
    step c uses=exec {{
        run sh "-c" "echo main-c >> main; exit 7"
        cwd "{{{{ project.root }}}}"
        undo {{
            {c_undo}
        }}
    }}
    on-failure {{
        {of}
    }}
}}
"#,
        ua = log("undo-a", "undo-a:{{ steps.a.outputs.stdout }}"),
        us = log("undo-skip", "undo-skip"),
        ub = log("undo-b", "undo-b:{{ steps.b.outputs.stdout }}"),
        of = log("notify", "on-failure"),
    )
}

#[test]
fn undo_blocks_run_last_finished_first_with_their_own_outputs_before_on_failure() {
    let p = Project::new();
    p.runbook("deploy", &three_steps(&log("undo-c", "undo-c")));
    p.cairn(&["run", "deploy"])
        .code(1)
        .stdout_has("rollback: undoing `b`, `a`")
        .stdout_has("failed (rolled back)");
    // The failed step `c` and the skipped one are not undone; `b` before `a`,
    // each with its own outputs; `on-failure` after the undo blocks.
    assert_eq!(read(&p, "log"), "undo-b:rev-b\nundo-a:rev-a\non-failure\n");
    let events = p.last_journal();
    let start = events
        .iter()
        .find(|e| e["event"] == "rollback-started")
        .expect("the rollback is journaled");
    assert_eq!(start["undo"], serde_json::json!(["b", "a"]));
    assert!(start["error"].as_str().unwrap().contains("step `c` failed"));
    let undo: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "step-finished" && e["phase"] == "undo")
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    assert_eq!(undo, ["undo-b", "undo-a"]);
    let end = events.last().unwrap();
    assert_eq!(end["verdict"], "failed");
    assert_eq!(end["rolled_back"], true);
    assert_eq!(history(&p)[0]["verdict"], "failed");
}

#[test]
fn a_failed_undo_is_rollback_failed_names_what_was_not_undone_and_the_others_still_run() {
    let p = Project::new();
    let text = three_steps(&log("undo-c", "undo-c")).replace(
        &log("undo-b", "undo-b:{{ steps.b.outputs.stdout }}"),
        &format!(
            "step undo-b uses=exec {{ run sh \"-c\" \"echo cannot >&2; exit 3\"; }}\n            {}",
            log("undo-b-after", "undo-b-after")
        ),
    );
    p.runbook("deploy", &text);
    let r = p.cairn(&["--json", "run", "deploy"]);
    r.code(4);
    let end: Value = serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(end["event"], "run-finished");
    assert_eq!(end["verdict"], "rollback-failed");
    assert_eq!(
        end["not_undone"],
        serde_json::json!(["undo-b", "undo-b-after"])
    );
    assert_eq!(end["left_changed"], serde_json::json!(["b"]));
    let error = end["error"].as_str().unwrap();
    assert!(error.contains("step `b` not undone"), "{error}");
    assert!(error.contains("undo step `undo-b` failed"), "{error}");
    assert!(error.contains("`undo-b-after` did not run"), "{error}");
    // The undo of `a` still ran, and `on-failure` after it.
    assert_eq!(read(&p, "log"), "undo-a:rev-a\non-failure\n");

    p.cairn(&["run", "deploy"])
        .code(4)
        .stdout_has("failed, rollback failed")
        .stdout_has("step `b` not undone")
        .stdout_has("what main step `b` changed is left as it is");
    assert_eq!(history(&p)[0]["verdict"], "rollback-failed");
}

#[test]
fn dry_run_lists_the_undo_steps_that_would_run_if_a_later_step_failed() {
    let p = Project::new();
    let text = three_steps(&log("undo-c", "undo-c"))
        .replace("exit 7", "true")
        .replace("echo main-a >> main; ", "")
        .replace("echo main-b >> main; ", "")
        .replace("echo main-c >> main; ", "");
    p.runbook("deploy", &text);
    let r = p.cairn(&["run", "deploy", "--dry-run"]);
    r.success()
        .stdout_has("undo of `b`: would run if a later step fails")
        .stdout_has("undo of `a`: would run if a later step fails")
        // What the undo uses of `b` is known when `b` runs: planned as
        // such, not run with a placeholder in the command.
        .stdout_has("would run exec run with `run` as the steps before it return it when they run")
        .stdout_lacks("(known after the step runs)")
        .stdout_has("on-failure: would run if a step fails")
        // `c` is the last step: no later step can fail; `skip` does not run.
        .stdout_lacks("undo of `c`")
        .stdout_lacks("undo of `skip`");
    let b = r.stdout.find("undo of `b`").unwrap();
    let a = r.stdout.find("undo of `a`").unwrap();
    let of = r.stdout.find("on-failure:").unwrap();
    assert!(
        b < a && a < of,
        "in the order they would run:\n{}",
        r.stdout
    );
    assert!(!p.join("log").exists(), "a dry-run undoes nothing");
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn resume_of_a_run_killed_in_its_undo_phase_continues_the_undo_without_repeating_finished_steps() {
    let p = Project::new();
    let slow = "step undo-b-wait uses=exec {\n            run sh \"-c\" \"echo undo-b-wait >> log; touch waiting; while [ ! -f go ]; do sleep 0.02; done; echo undo-b-done >> log\"\n            cwd \"{{ project.root }}\"\n        }";
    let text = three_steps(&log("undo-c", "undo-c")).replace(
        &log("undo-b", "undo-b:{{ steps.b.outputs.stdout }}"),
        &format!(
            "{}\n            {slow}",
            log("undo-b", "undo-b:{{ steps.b.outputs.stdout }}")
        ),
    );
    p.runbook("deploy", &text);
    let mut child = p
        .cmd()
        .args(["run", "deploy"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the second undo step", || p.join("waiting").exists());
    child.kill().unwrap(); // SIGKILL of the one process this test started
    child.wait().unwrap();
    let runs = history(&p);
    assert_eq!(runs[0]["verdict"], "interrupted");
    let id = runs[0]["id"].as_str().unwrap().to_string();
    assert_eq!(read(&p, "log"), "undo-b:rev-b\nundo-b-wait\n");

    std::fs::write(p.join("go"), "").unwrap();
    p.cairn(&["resume", &id])
        .code(1)
        .stdout_has("done before")
        .stdout_has("failed (rolled back)");
    // The main steps and the finished undo step did not run again; the one
    // killed mid-way ran again, then the rest of the rollback.
    assert_eq!(read(&p, "main"), "main-a\nmain-b\nmain-c\n");
    assert_eq!(
        read(&p, "log"),
        "undo-b:rev-b\nundo-b-wait\nundo-b-wait\nundo-b-done\nundo-a:rev-a\non-failure\n"
    );
    let runs = history(&p);
    assert_eq!(runs.len(), 1, "the resumed run keeps its id");
    assert_eq!(runs[0]["verdict"], "failed");
}

#[test]
fn misuse_of_undo_is_reported_with_file_line_and_column_and_nothing_runs() {
    let p = Project::new();
    p.runbook(
        "broken",
        r#"runbook broken version=1 {
    step first uses=exec {
        run touch "{{ project.root }}/ran"
        undo {
            step back uses=exec {
                run "true"
                undo { step again uses=exec { run "true"; }; }
            }
        }
    }
    step second uses=exec {
        run "true"
        undo
    }
    finally {
        step cleanup uses=exec {
            run "true"
            undo { step more uses=exec { run "true"; }; }
        }
    }
}
"#,
    );
    p.cairn(&["validate", "broken"])
        .code(2)
        .stderr_has("`undo` inside undo step `back` of step `first`")
        .stderr_has("runbooks/broken.kdl:7:17")
        .stderr_has("`undo` in step `second` has no steps")
        .stderr_has("runbooks/broken.kdl:13:9")
        .stderr_has("`undo` in step `cleanup` of `finally`")
        .stderr_has("runbooks/broken.kdl:18:13");
    p.cairn(&["run", "broken"]).code(2);
    assert!(!p.join("ran").exists(), "nothing runs");

    // Undo steps are validated like main steps: plugins and references.
    p.runbook(
        "broken",
        r#"runbook broken version=1 {
    step first uses=exec {
        run touch "{{ project.root }}/ran"
        undo {
            step back uses=exec {
                run echo "{{ steps.second.outputs.stdout }}"
            }
            step what uses=nope { x 1; }
        }
    }
    step second uses=exec { run "true"; }
}
"#,
    );
    p.cairn(&["validate", "broken"])
        .code(2)
        .stderr_has("step `second` runs after `first`, which undo step `back` undoes")
        .stderr_has("runbooks/broken.kdl:6:30")
        .stderr_has("unknown plugin `nope` in step `what`")
        .stderr_has("runbooks/broken.kdl:8:28");
    p.cairn(&["run", "broken"]).code(2);
    assert!(!p.join("ran").exists(), "nothing runs");
}

#[test]
fn retry_of_a_rolled_back_run_is_a_new_run_and_the_undo_is_not_needed() {
    let p = Project::new();
    let text = three_steps(&log("undo-c", "undo-c")).replace(
        "echo main-c >> main; exit 7",
        "echo main-c >> main; if [ -f tried ]; then exit 0; fi; touch tried; exit 7",
    );
    p.runbook("deploy", &text);
    p.cairn(&["run", "deploy"]).code(1);
    let id = history(&p)[0]["id"].as_str().unwrap().to_string();
    p.cairn(&["retry", &id]).success();
    assert_eq!(
        read(&p, "log"),
        "undo-b:rev-b\nundo-a:rev-a\non-failure\n",
        "the retry succeeded: nothing undone the second time"
    );
    assert_eq!(history(&p)[1]["verdict"], "succeeded");
}

/// Sends SIGTERM to the one process this test started, by its pid.
fn sigterm(pid: u32) {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[test]
fn a_signal_during_the_main_steps_undoes_nothing_and_one_during_the_rollback_lets_it_finish() {
    // During the main steps: interrupted, nothing undone; the resumed run
    // fails at `c` and then undoes.
    let p = Project::new();
    let text = three_steps(&log("undo-c", "undo-c")).replace(
        "echo main-b >> main; echo rev-b",
        "echo main-b >> main; touch waiting; while [ ! -f go ]; do sleep 0.02; done; echo rev-b",
    );
    p.runbook("deploy", &text);
    let child = p
        .cmd()
        .args(["run", "deploy"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("step b", || p.join("waiting").exists());
    sigterm(child.id());
    std::fs::write(p.join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(read(&p, "log"), "", "an interrupt undoes nothing");
    assert_eq!(read(&p, "main"), "main-a\nmain-b\n");
    let id = history(&p)[0]["id"].as_str().unwrap().to_string();
    p.cairn(&["resume", &id])
        .code(1)
        .stdout_has("failed (rolled back)");
    assert_eq!(read(&p, "main"), "main-a\nmain-b\nmain-c\n");
    assert_eq!(read(&p, "log"), "undo-b:rev-b\nundo-a:rev-a\non-failure\n");

    // During the rollback: the rollback goes on to its end.
    let p = Project::new();
    let slow = "step undo-b-wait uses=exec {\n            run sh \"-c\" \"touch waiting; while [ ! -f go ]; do sleep 0.02; done; echo undo-b-done >> log\"\n            cwd \"{{ project.root }}\"\n        }";
    let text = three_steps(&log("undo-c", "undo-c"))
        .replace(&log("undo-b", "undo-b:{{ steps.b.outputs.stdout }}"), slow);
    p.runbook("deploy", &text);
    let child = p
        .cmd()
        .args(["run", "deploy"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the undo of b", || p.join("waiting").exists());
    sigterm(child.id());
    std::fs::write(p.join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("failed (rolled back)"), "{stdout}");
    assert_eq!(read(&p, "log"), "undo-b-done\nundo-a:rev-a\non-failure\n");
}
