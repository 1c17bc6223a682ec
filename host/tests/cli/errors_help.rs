//! Errors that help: each one seen while trying cairn as a new user.

use crate::Project;

#[test]
fn an_argument_error_names_the_argument_once() {
    let p = Project::new();
    p.runbook(
        "bad",
        "runbook bad version=1 {\n    step check uses=http-check {\n        url \"ftp://example.test/\"\n    }\n    step typo uses=http-check {\n        url \"http://127.0.0.1:9/\"\n        expect stauts=200\n    }\n}\n",
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
