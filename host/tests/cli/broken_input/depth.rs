//! Nesting past the documented limits (64 levels of blocks, 32 of `(` and
//! `!` in a `when=` expression) is refused at its place before anything
//! recurses; far past them (2000 levels) it is the same error, not a stack
//! overflow.

use super::bounded;
use crate::Project;

/// A runbook whose step holds `levels` nested argument blocks, one per
/// line: the block opening level `k` (counting `runbook` as 1) is on line `k`.
fn nested_blocks(levels: usize) -> String {
    let mut s = String::from("runbook deep version=1 {\n    step s uses=exec {\n");
    for _ in 2..levels {
        s.push_str("a {\n");
    }
    s.push_str(&"}\n".repeat(levels));
    s
}

#[test]
fn blocks_nested_2000_deep_are_refused_where_level_65_opens() {
    let p = Project::new();
    p.runbook("deep", &nested_blocks(2000));
    for args in [&["validate", "deep"][..], &["run", "deep"]] {
        bounded(&p, args)
            .code(2)
            .stderr_has("blocks nest more than 64 levels deep")
            .stderr_has("runbooks/deep.kdl:65:3");
    }
}

#[test]
fn blocks_nested_64_deep_are_not_refused_for_their_depth() {
    let p = Project::new();
    p.runbook("deep", &nested_blocks(64));
    let r = bounded(&p, &["validate", "deep"]);
    assert!(!r.stderr.contains("nest more than"), "{}", r.stderr);
}

#[test]
fn a_project_file_nested_2000_deep_is_refused_with_its_place() {
    let mut config = String::from("project deep {\n");
    config.push_str(&"x {\n".repeat(2000));
    config.push_str(&"}\n".repeat(2001));
    let p = Project::with_config(&config);
    bounded(&p, &["list"])
        .code(2)
        .stderr_has("blocks nest more than 64 levels deep")
        .stderr_has("cairn.kdl:65:3");
}

#[test]
fn when_expressions_nested_2000_deep_are_refused_where_level_33_opens() {
    let p = Project::new();
    let when = format!("{}true{}", "(".repeat(2000), ")".repeat(2000));
    p.runbook(
        "deep",
        &format!(
            "runbook deep version=1 {{\nstep s uses=exec when=\"{when}\" {{ run \"true\"; }}\n}}\n"
        ),
    );
    // `step s uses=exec when="` is 24 columns; the 33rd `(` is column 56.
    bounded(&p, &["validate", "deep"])
        .code(2)
        .stderr_has("nests more than 32 levels of `(` and `!`")
        .stderr_has("runbooks/deep.kdl:2:56");
    let nots = format!("{}true", "!".repeat(100_000));
    p.runbook(
        "deep",
        &format!(
            "runbook deep version=1 {{\nstep s uses=exec when=\"{nots}\" {{ run \"true\"; }}\n}}\n"
        ),
    );
    bounded(&p, &["validate", "deep"])
        .code(2)
        .stderr_has("nests more than 32 levels");
}

#[test]
fn a_when_expression_of_100000_operators_is_refused() {
    let p = Project::new();
    let when = vec!["true"; 100_001].join(" && ");
    p.runbook(
        "long",
        &format!(
            "runbook long version=1 {{\nstep s uses=exec when=\"{when}\" {{ run \"true\"; }}\n}}\n"
        ),
    );
    bounded(&p, &["validate", "long"])
        .code(2)
        .stderr_has("more than 256 operators");
}

#[test]
fn references_nested_2000_deep_in_a_string_are_an_error() {
    let p = Project::new();
    let text = format!("{}params.x{}", "{{ ".repeat(2000), " }}".repeat(2000));
    p.runbook(
        "refs",
        &format!(
            "runbook refs version=1 {{\nstep s uses=exec {{ run \"echo\" \"{text}\"; }}\n}}\n"
        ),
    );
    bounded(&p, &["validate", "refs"])
        .code(2)
        .stderr_has("runbooks/refs.kdl:2:");
}

#[test]
fn an_error_past_column_65535_is_shown_around_its_place() {
    let p = Project::new();
    let long = "x".repeat(70_000);
    p.runbook(
        "long",
        &format!(
            "runbook long version=1 {{\n    step a uses=exec description=\"{long}\" tiemout=\"1s\" {{ run \"true\"; }}\n}}\n"
        ),
    );
    // The 4 spaces, `step a uses=exec description="`, the text, `" `.
    let col = 4 + 30 + 70_000 + 2 + 1;
    let r = bounded(&p, &["validate", "long"]);
    r.code(2)
        .stderr_has(&format!("runbooks/long.kdl:2:{col}"))
        .stderr_has("tiemout")
        .stderr_has("…");
    assert!(
        r.stderr.len() < 4000,
        "the long line is cut around the error:\n{}",
        r.stderr
    );
}
