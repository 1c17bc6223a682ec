//! Property tests of what the fuzz targets (`fuzz/`) exercise, on stable in
//! every `cargo test`: whatever text a runbook, a `when=` expression, a
//! string with references or a `cairn.kdl` holds, loading it returns `Ok` or
//! diagnostics: no panic, no stack overflow, in bounded time.

use std::path::Path;

use cairn_lang::{Block, Project, Ref, Resolver, ValidationContext};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::{TestCatalog, ui_project};

struct Anything;

impl Resolver for Anything {
    fn lookup(&self, r: &Ref) -> Option<Value> {
        Some(json!({"path": r.path, "n": 0}))
    }
}

fn load(p: &Project, text: &str) -> Option<cairn_lang::Runbook> {
    let rb = cairn_lang::load_runbook_source(p, Path::new("runbooks/prop.kdl"), text).ok()?;
    let cx = ValidationContext {
        project: p,
        plugins: &TestCatalog::new(),
        secret_names: None,
    };
    let _ = cairn_lang::validate(&rb, &cx);
    Some(rb)
}

/// Pieces of KDL and of the expression and template syntax, so that random
/// sequences reach far into the parsers, nesting included.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("\"".to_owned()),
        Just("#\"".to_owned()),
        Just("\"#".to_owned()),
        Just("\"\"\"\n".to_owned()),
        Just("/*".to_owned()),
        Just("*/".to_owned()),
        Just("//".to_owned()),
        Just("/-".to_owned()),
        Just("\n".to_owned()),
        Just(";".to_owned()),
        Just("=".to_owned()),
        Just("{{ ".to_owned()),
        Just(" }}".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("!".to_owned()),
        Just(" && ".to_owned()),
        Just(" == ".to_owned()),
        Just("runbook r version=1 ".to_owned()),
        Just("step s uses=exec ".to_owned()),
        Just("when=".to_owned()),
        Just("run ".to_owned()),
        Just("params.a".to_owned()),
        Just("steps.s.outputs.x".to_owned()),
        Just("parallel ".to_owned()),
        Just("undo ".to_owned()),
        Just("use ".to_owned()),
        "[a-z0-9 .'\\\\]{0,6}",
        any::<char>().prop_map(String::from),
    ]
}

fn soup(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..max).prop_map(|v| v.concat())
}

/// A stock runbook with random bytes spliced in or cut out.
fn mangled_stock() -> impl Strategy<Value = String> {
    let stock = [
        include_str!("../../../../runbooks/backup.kdl"),
        include_str!("../../../../runbooks/deploy-update.kdl"),
        include_str!("../../../../runbooks/disk-triage.kdl"),
    ];
    (
        0..stock.len(),
        any::<prop::sample::Index>(),
        soup(8),
        0..40usize,
    )
        .prop_map(move |(which, at, insert, cut)| {
            let text = stock[which];
            let mut at = at.index(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + cut).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}{insert}{}", &text[..at], &text[end..])
        })
}

/// `s` as a quoted string (Rust's escapes, which KDL mostly shares).
fn quoted(s: &str) -> String {
    format!("{s:?}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_runbook_text_loads_or_is_diagnosed(text in soup(120)) {
        let _ = load(&ui_project(), &text);
    }

    #[test]
    fn a_mangled_stock_runbook_loads_or_is_diagnosed(text in mangled_stock()) {
        let _ = load(&ui_project(), &text);
    }

    #[test]
    fn any_when_expression_parses_and_evaluates_or_is_diagnosed(expr in soup(60)) {
        let text = format!(
            "runbook r version=1 {{\n    step s uses=exec when={} {{ run \"true\"; }}\n}}\n",
            quoted(&expr)
        );
        if let Some(rb) = load(&ui_project(), &text)
            && let Some(Block::Step(step)) = rb.steps.first()
            && let Some(when) = &step.when
        {
            let _ = cairn_lang::eval_when(&when.value, &Anything);
        }
    }

    #[test]
    fn any_string_with_references_renders_or_is_diagnosed(value in soup(60)) {
        let text = format!(
            "runbook r version=1 {{\n    step s uses=exec {{ run \"echo\" {}; }}\n}}\n",
            quoted(&value)
        );
        if let Some(rb) = load(&ui_project(), &text)
            && let Some(Block::Step(step)) = rb.steps.first()
        {
            let _ = cairn_lang::render_args(&step.args, &Anything);
        }
    }

    #[test]
    fn any_project_file_loads_or_is_diagnosed(text in soup(120)) {
        let _ = cairn_lang::load_project_source(Path::new("prop-root"), &format!("project p {{\n{text}\n}}\n"));
        let _ = cairn_lang::load_project_source(Path::new("prop-root"), &text);
    }

    #[test]
    fn nesting_of_any_depth_is_diagnosed_not_overflowed(depth in 0usize..5000, kind in 0..3usize) {
        let text = match kind {
            0 => format!("runbook r version=1 {{\nstep s uses=exec {{\n{}{}\n}}\n}}\n", "a {".repeat(depth), "}".repeat(depth)),
            1 => format!("runbook r version=1 {{\nstep s uses=exec when=\"{}true{}\" {{ run \"true\"; }}\n}}\n", "(".repeat(depth), ")".repeat(depth)),
            _ => format!("runbook r version=1 {{\nstep s uses=exec when=\"{}true\" {{ run \"true\"; }}\n}}\n", "!".repeat(depth)),
        };
        let _ = load(&ui_project(), &text);
    }
}
