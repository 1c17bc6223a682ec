//! Step arguments checked against the schemas of the stock plugins by
//! `cairn validate` (and the preflight of a run): one case per file in
//! `arg-schema/`, its `cairn validate` errors snapshotted.

use crate::Project;

fn validate(case: &str) -> String {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("tests/cli/arg-schema/{case}.kdl")),
    )
    .expect("readable case");
    let p = Project::new();
    p.runbook(case, &text);
    let r = p.cairn(&["validate", case]);
    r.code(2);
    r.stderr
        .replace(&p.path().display().to_string(), "[PROJECT]")
}

#[test]
fn an_unknown_argument_is_named_with_a_suggestion() {
    insta::assert_snapshot!(validate("unknown-argument"));
}

#[test]
fn a_missing_required_argument_is_named() {
    insta::assert_snapshot!(validate("missing-required"));
}

#[test]
fn a_value_of_the_wrong_type_is_refused() {
    insta::assert_snapshot!(validate("wrong-type"));
}

#[test]
fn a_value_outside_an_enum_is_refused() {
    insta::assert_snapshot!(validate("bad-enum"));
}

#[test]
fn templates_are_checked_once_rendered_when_known() {
    let out = validate("templates");
    insta::assert_snapshot!(out);
}

#[test]
fn a_run_checks_arguments_before_the_first_step() {
    let p = Project::new();
    p.runbook(
        "typo",
        r#"runbook typo version=1 {
    step first uses=exec { run touch "{{ project.root }}/ran"; }
    step second uses=exec { run "true"; efect read; }
}
"#,
    );
    p.cairn(&["run", "typo"])
        .code(2)
        .stderr_has("unknown argument `efect`")
        .stderr_has("did you mean `effect`?")
        .stderr_has("typo.kdl:3:");
    assert!(!p.join("ran").exists(), "nothing ran");
}
