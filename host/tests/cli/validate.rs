//! Validation through the CLI: exit 2, file:line:col, everything before running.

use crate::Project;

#[test]
fn errors_name_file_line_and_column_and_nothing_runs() {
    let p = Project::new();
    p.runbook(
        "broken",
        r#"runbook broken version=1 {
    step first uses=exec { run touch "{{ project.root }}/ran"; }
    step second uses=exec tiemout="10s" { run "true"; }
    step third uses=nope { x 1; }
}
"#,
    );
    let r = p.cairn(&["run", "broken"]);
    r.code(2)
        .stderr_has("runbooks/broken.kdl:3")
        .stderr_has("tiemout")
        .stderr_has("timeout")
        .stderr_has("nope");
    assert!(
        !p.join("ran").exists(),
        "nothing runs until the whole runbook validates"
    );
}

#[test]
fn validate_checks_all_runbooks_and_exits_2_on_any_error() {
    let p = Project::new();
    p.runbook(
        "good",
        "runbook good version=1 {\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    p.runbook("bad", "runbook bad version=1 {\n    step a uses=exec { run \"true\"; }\n    step a uses=exec { run \"true\"; }\n}\n");
    p.cairn(&["validate"])
        .code(2)
        .stderr_has("bad.kdl")
        .stdout_has("good");
    p.cairn(&["validate", "good"]).success();
}

#[test]
fn unknown_or_ill_typed_params_are_refused_before_running() {
    let p = Project::new();
    p.runbook(
        "params",
        r#"runbook params version=1 {
    param keep type=int default=14
    param site-url required=#true
    step a uses=exec { run touch "{{ project.root }}/ran"; }
}
"#,
    );
    p.cairn(&["run", "params"]).code(2).stderr_has("site-url");
    p.cairn(&["run", "params", "-p", "site-url=x", "-p", "keep=many"])
        .code(2)
        .stderr_has("keep");
    p.cairn(&["run", "params", "-p", "site-url=x", "-p", "kepe=3"])
        .code(2)
        .stderr_has("keep");
    assert!(!p.join("ran").exists());
    p.cairn(&["run", "params", "-p", "site-url=x", "-p", "keep=3"])
        .success();
    assert!(p.join("ran").exists());
}

#[test]
fn a_bad_project_file_is_reported_with_its_location() {
    let p = Project::with_config("project x {\n    target app { locl }\n}\n");
    p.cairn(&["list"]).code(2).stderr_has("cairn.kdl:2");
}

#[test]
fn confirm_needs_a_terminal_or_yes() {
    let p = Project::new();
    p.runbook(
        "ask",
        r#"runbook ask version=1 {
    step careful uses=exec {
        run touch "{{ project.root }}/done"
        confirm "Really touch it?"
    }
}
"#,
    );
    p.cairn(&["run", "ask"]).code(3).stderr_has("--yes");
    assert!(!p.join("done").exists());
    p.cairn(&["run", "ask", "--dry-run"])
        .success()
        .stdout_has("Really touch it?");
    assert!(!p.join("done").exists());
    p.cairn(&["run", "ask", "--yes"]).success();
    assert!(p.join("done").exists());
}
