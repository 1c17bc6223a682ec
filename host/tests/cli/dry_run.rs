//! `--dry-run`: writes recorded and not performed, reads performed.

use crate::Project;

const TOUCH: &str = r#"
runbook touchy version=1 {
    step probe uses=exec {
        run sh "-c" "echo probed > probe-ran; echo looked"
        cwd "{{ project.root }}"
        effect read
    }
    step touch uses=exec {
        run touch "{{ project.root }}/created"
    }
    step remove uses=exec {
        run rm "-f" "{{ project.root }}/keep-me"
    }
}
"#;

#[test]
fn dry_run_changes_nothing_and_prints_the_plan() {
    let p = Project::new();
    p.runbook("touchy", TOUCH);
    p.file("keep-me", "precious");
    let r = p.cairn(&["run", "touchy", "--dry-run"]);
    r.success()
        .stdout_has("dry-run")
        .stdout_has("would run: touch")
        .stdout_has("would run: rm -f");
    assert!(
        !p.join("created").exists(),
        "a dry-run must not create the file"
    );
    assert!(
        p.join("keep-me").exists(),
        "a dry-run must not remove the file"
    );
    // Reads are performed, so the plan reflects reality.
    assert!(p.join("probe-ran").exists(), "read steps run in a dry-run");
    let events = p.last_journal();
    let planned: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "capability" && e["planned"] == true)
        .collect();
    assert_eq!(planned.len(), 2, "{planned:?}");
    assert_eq!(events[0]["mode"], "dry-run");
}

#[test]
fn offline_dry_run_performs_not_even_reads() {
    let p = Project::new();
    p.runbook("touchy", TOUCH);
    p.cairn(&["run", "touchy", "--dry-run", "--offline"])
        .success();
    assert!(!p.join("probe-ran").exists());
    assert!(!p.join("created").exists());
}

#[test]
fn apply_performs_the_writes() {
    let p = Project::new();
    p.runbook("touchy", TOUCH);
    p.file("keep-me", "x");
    p.cairn(&["run", "touchy"]).success();
    assert!(p.join("created").exists());
    assert!(!p.join("keep-me").exists());
}

#[test]
fn dry_run_of_http_writes_sends_nothing() {
    let server = crate::http_check::Server::start(200, "ok");
    let p = Project::new();
    p.runbook(
        "post",
        &format!(
            r#"
runbook post version=1 {{
    step hook uses=http-check {{
        url "{}/hook"
        method "POST"
    }}
}}
"#,
            server.url()
        ),
    );
    p.cairn(&["run", "post", "--dry-run"])
        .success()
        .stdout_has("would POST");
    assert_eq!(server.hits(), 0);
    p.cairn(&["run", "post"]).success();
    assert_eq!(server.hits(), 1);
}

/// A step whose write is only planned, steps that use its outputs, and the
/// failure lists.
const PLANNED: &str = r#"
runbook planned version=1 {
    step make uses=exec {
        run sh "-c" "echo real-value"
    }
    step use uses=exec {
        run echo "got:{{ steps.make.outputs.stdout }}"
    }
    step probe uses=exec {
        run sh "-c" "echo [{{ steps.make.outputs.stdout }}] > {{ project.root }}/probe-ran"
        effect read
    }
    on-failure {
        step rollback uses=exec {
            run touch "{{ project.root }}/rolled-back"
        }
    }
    finally {
        step cleanup uses=exec {
            run touch "{{ project.root }}/cleaned"
        }
    }
}
"#;

#[test]
fn a_value_from_a_planned_step_is_shown_as_unknown_never_guessed() {
    let p = Project::new();
    p.runbook("planned", PLANNED);
    let r = p.cairn(&["run", "planned", "--dry-run"]);
    r.success()
        .stdout_has("would run: echo 'got:(known after the step runs)'")
        .stdout_lacks("would run: echo got:");
    // A read that depends on a planned value is planned too, not performed
    // with a made-up value.
    assert!(
        !p.join("probe-ran").exists(),
        "a read fed by a planned step's output must not run"
    );
    let summaries: Vec<String> = p
        .last_journal()
        .iter()
        .filter(|e| e["event"] == "capability" && e["step"] == "probe")
        .map(|e| e["summary"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    assert!(
        summaries[0].contains("[(known after the step runs)]"),
        "{summaries:?}"
    );
}

#[test]
fn dry_run_shows_the_on_failure_and_finally_steps_that_would_run() {
    let p = Project::new();
    p.runbook("planned", PLANNED);
    let r = p.cairn(&["run", "planned", "--dry-run"]);
    r.success()
        .stdout_has("on-failure: would run if a step fails")
        .stdout_has("rolled-back")
        .stdout_has("finally: always runs")
        .stdout_has("cleaned");
    let out = &r.stdout;
    let on_failure = out.find("on-failure: would run if a step fails").unwrap();
    let rollback = out.find("rolled-back").unwrap();
    let finally = out.find("finally: always runs").unwrap();
    let cleanup = out.find("cleaned").unwrap();
    assert!(
        on_failure < rollback && rollback < finally && finally < cleanup,
        "{out}"
    );
    assert!(!p.join("rolled-back").exists());
    assert!(!p.join("cleaned").exists());
    // --json carries the same plan.
    let j = p.cairn(&["--json", "run", "planned", "--dry-run"]);
    j.success();
    let events: Vec<serde_json::Value> = j
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sections: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "plan-section")
        .map(|e| e["phase"].as_str().unwrap())
        .collect();
    assert_eq!(sections, ["on-failure", "finally"]);
    let rollback = events
        .iter()
        .find(|e| e["event"] == "capability" && e["step"] == "rollback")
        .expect("the rollback step is planned");
    assert_eq!(rollback["planned"], true);
}
