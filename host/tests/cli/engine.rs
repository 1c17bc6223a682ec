//! Steps in order, outputs feeding later steps, failure handling, retries,
//! timeouts, parallel blocks, `when`, `continue-on-error`.

use crate::Project;

#[test]
fn steps_run_in_order_and_outputs_feed_later_steps() {
    let p = Project::new();
    p.runbook(
        "chain",
        r#"
runbook chain version=2 {
    param greeting default="hello"
    step one uses=exec {
        run echo "{{ params.greeting }}"
        effect read
    }
    step two uses=exec {
        run sh "-c" "printf '%s world' \"$1\" > out.txt" sh "{{ steps.one.outputs.stdout }}"
        cwd "{{ project.root }}"
    }
    step three uses=exec {
        run cat "out.txt"
        cwd "{{ project.root }}"
        effect read
    }
}
"#,
    );
    p.cairn(&["run", "chain", "-p", "greeting=bonjour"])
        .success()
        .stdout_has("✓ three");
    assert_eq!(
        std::fs::read_to_string(p.join("out.txt")).unwrap(),
        "bonjour world"
    );
    let events = p.last_journal();
    let three = events
        .iter()
        .find(|e| e["event"] == "step-finished" && e["step"] == "three")
        .expect("step three finished");
    assert_eq!(three["outputs"]["stdout"], "bonjour world");
    assert_eq!(three["outputs"]["status"], 0);
}

#[test]
fn a_failing_step_runs_on_failure_and_finally_and_exits_1() {
    let p = Project::new();
    p.runbook(
        "fails",
        r#"
runbook fails version=1 {
    step ok uses=exec { run "true"; }
    step broken uses=exec { run sh "-c" "echo boom >&2; exit 3"; }
    step never uses=exec { run touch "{{ project.root }}/never"; }
    on-failure {
        step rollback uses=exec { run touch "{{ project.root }}/rolled-back"; }
    }
    finally {
        step cleanup uses=exec { run touch "{{ project.root }}/cleaned"; }
    }
}
"#,
    );
    let r = p.cairn(&["run", "fails"]);
    r.code(1).stdout_has("✗ broken").stdout_has("boom");
    assert!(p.join("rolled-back").exists(), "on-failure ran");
    assert!(p.join("cleaned").exists(), "finally ran");
    assert!(
        !p.join("never").exists(),
        "steps after the failure did not run"
    );
}

#[test]
fn finally_runs_after_success_and_on_failure_does_not() {
    let p = Project::new();
    p.runbook(
        "fine",
        r#"
runbook fine version=1 {
    step ok uses=exec { run "true"; }
    on-failure {
        step rollback uses=exec { run touch "{{ project.root }}/rolled-back"; }
    }
    finally {
        step cleanup uses=exec { run touch "{{ project.root }}/cleaned"; }
    }
}
"#,
    );
    p.cairn(&["run", "fine"]).success();
    assert!(p.join("cleaned").exists());
    assert!(!p.join("rolled-back").exists());
}

#[test]
fn when_skips_and_continue_on_error_goes_on() {
    let p = Project::new();
    p.runbook(
        "flow",
        r#"
runbook flow version=1 {
    param deploy type=bool default=#false
    step count uses=exec {
        run echo "0"
        effect read
    }
    step skipped-by-param uses=exec when="params.deploy" { run touch "{{ project.root }}/deployed"; }
    step skipped-by-output uses=exec when="{{ steps.count.outputs.stdout }}" { run touch "{{ project.root }}/counted"; }
    step ran-by-expr uses=exec when="steps.count.outputs.stdout == \"0\" && !params.deploy" { run touch "{{ project.root }}/expr"; }
    step flaky uses=exec continue-on-error=#true { run "false"; }
    step after uses=exec { run touch "{{ project.root }}/after"; }
}
"#,
    );
    p.cairn(&["run", "flow"]).success().stdout_has("skipped");
    assert!(!p.join("deployed").exists());
    assert!(!p.join("counted").exists());
    assert!(p.join("expr").exists());
    assert!(p.join("after").exists());
    p.cairn(&["run", "flow", "-p", "deploy=true"]).success();
    assert!(p.join("deployed").exists());
}

#[test]
fn retry_repeats_until_the_step_succeeds() {
    let p = Project::new();
    // Fails on the first two attempts, succeeds on the third.
    p.runbook(
        "retry",
        r#"
runbook retry version=1 {
    step flaky uses=exec {
        run sh "-c" "n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; [ $n -ge 3 ]"
        cwd "{{ project.root }}"
        retry attempts=3 delay="10ms" backoff=2.0
    }
}
"#,
    );
    p.cairn(&["run", "retry"])
        .success()
        .stdout_has("after 3 attempts");
    assert_eq!(std::fs::read_to_string(p.join("n")).unwrap().trim(), "3");
    std::fs::write(p.join("n"), "-5").unwrap();
    p.cairn(&["run", "retry"]).code(1).stdout_has("✗ flaky");
}

#[test]
fn a_step_past_its_timeout_fails_and_finally_still_runs() {
    let p = Project::new();
    p.runbook(
        "slow",
        r#"
runbook slow version=1 {
    step wait uses=exec timeout="300ms" { run sleep "30"; }
    finally {
        step cleanup uses=exec { run touch "{{ project.root }}/cleaned"; }
    }
}
"#,
    );
    let started = std::time::Instant::now();
    p.cairn(&["run", "slow"])
        .code(1)
        .stdout_has("did not finish");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "the sleep was killed"
    );
    assert!(p.join("cleaned").exists());
}

#[test]
fn parallel_steps_run_concurrently() {
    // `waiter` can only finish if `maker` runs at the same time: run one after
    // the other, `waiter` would time out.
    let p = Project::new();
    p.runbook(
        "par",
        r#"
runbook par version=1 {
    parallel {
        step waiter uses=exec timeout="20s" {
            run sh "-c" "while [ ! -f made ]; do sleep 0.02; done; echo seen"
            cwd "{{ project.root }}"
        }
        step maker uses=exec {
            run sh "-c" "sleep 0.2; touch made"
            cwd "{{ project.root }}"
        }
    }
    step after uses=exec {
        run echo "{{ steps.waiter.outputs.stdout }}"
        effect read
    }
}
"#,
    );
    p.cairn(&["run", "par"]).success();
    let events = p.last_journal();
    let after = events
        .iter()
        .find(|e| e["event"] == "step-finished" && e["step"] == "after")
        .unwrap();
    assert_eq!(after["outputs"]["stdout"], "seen");
}

#[test]
fn a_missing_program_fails_the_step_with_its_name() {
    let p = Project::new();
    p.runbook(
        "missing",
        "runbook missing version=1 {\n    step x uses=exec { run no-such-program-anywhere; }\n}\n",
    );
    p.cairn(&["run", "missing"])
        .code(1)
        .stdout_has("`no-such-program-anywhere` not found");
}

#[test]
fn secrets_are_redacted_from_journal_and_output() {
    let p = Project::with_config("project s {\n    secrets { env prefix=TESTSITE_; }\n}\n");
    p.runbook(
        "secret",
        r#"
runbook secret version=1 {
    step show uses=exec {
        run sh "-c" "echo token=$TOKEN; echo also {{ secrets.db_password }}"
        env TOKEN="{{ secrets.db_password }}"
        effect read
    }
}
"#,
    );
    let out = p
        .cmd()
        .args(["run", "secret"])
        .env("TESTSITE_DB_PASSWORD", "hunter2-very-secret")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let journal = p.journals();
    assert!(journal.contains("token=********"), "{journal}");
    assert!(!journal.contains("hunter2"), "{journal}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
}
