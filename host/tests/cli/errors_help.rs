//! Errors that help: each one seen while trying cairn as a new user.

use crate::Project;

#[test]
fn an_argument_error_names_the_argument_once() {
    let p = Project::new();
    p.runbook(
        "bad",
        "runbook bad version=1 {\n    step check uses=http-check {\n        url \"ftp://example.test/\"\n    }\n}\n",
    );
    let run = p.cairn(&["run", "bad"]);
    run.code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("argument `url`: `ftp://example.test/` is not an http:// or https:// URL"),
        "{all}"
    );
    assert!(
        !all.contains("argument `url`: argument `url`"),
        "doubled prefix: {all}"
    );
}

#[test]
fn an_unknown_argument_is_not_named_twice() {
    let p = Project::new();
    p.runbook(
        "typo",
        "runbook typo version=1 {\n    step check uses=http-check {\n        url \"http://127.0.0.1:9/\"\n        expect stauts=200\n    }\n}\n",
    );
    let run = p.cairn(&["run", "typo"]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("unknown argument `expect.stauts`"), "{all}");
    assert!(
        !all.contains("argument `expect.stauts`: unknown argument"),
        "doubled: {all}"
    );
}

#[test]
fn a_step_timeout_with_decimals_is_understood() {
    let p = Project::new();
    p.runbook(
        "t",
        "runbook t version=1 {\n    step quick uses=exec timeout=\"1.5s\" {\n        run sleep 5\n        effect read\n    }\n}\n",
    );
    let started = std::time::Instant::now();
    let run = p.cairn(&["run", "t"]);
    run.code(1);
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(4),
        "the 1.5s timeout stopped it: {took:?}"
    );
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains("a unit is missing"), "{all}");
}

fn cairn_in(dir: &std::path::Path, args: &[&str]) -> crate::Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    crate::Run::new(args, out)
}

#[test]
fn lock_outside_a_project_says_so_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = cairn_in(dir.path(), &["lock"]);
    run.code(2);
    assert!(run.stderr.contains("needs a project"), "{}", run.stderr);
    assert!(run.stderr.contains("no `cairn.kdl`"), "{}", run.stderr);
    assert!(
        !dir.path().join("cairn.lock").exists(),
        "cairn.lock written outside a project"
    );
}

#[test]
fn a_cairn_kdl_that_is_not_a_file_is_named_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cairn.kdl")).unwrap();
    let run = cairn_in(dir.path(), &["list"]);
    run.code(2);
    assert!(
        run.stderr.contains("cairn.kdl` is a directory"),
        "{}",
        run.stderr
    );

    let dangling = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("gone.kdl", dangling.path().join("cairn.kdl")).unwrap();
    let run = cairn_in(dangling.path(), &["list"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("a symbolic link to `gone.kdl`, which does not exist"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_broken_runbook_is_found_by_the_name_it_declares() {
    let p = Project::new();
    // Named `deploy.kdl`, declares `ship`, and a brace is missing.
    p.runbook(
        "deploy",
        "runbook ship version=1 {\n    step a uses=exec {\n        run \"true\"\n\n",
    );
    let run = p.cairn(&["validate", "ship"]);
    run.code(2);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains("no runbook named"), "{all}");
    assert!(
        all.contains("deploy.kdl"),
        "the error names the file: {all}"
    );
}
