//! `undo { step ... }` inside a main step: the compensation steps that put
//! back what the step changed, run (in reverse order of the main list) when
//! a later main step fails. Decoding, and the rules of what an undo step may
//! refer to.

use kdl::KdlNode;

use crate::decode::{self, check_arg_count, check_props, children, name, name_span};
use crate::diagnostics::Report;
use crate::model::{Block, Section, Step, StepPlace};
use crate::step::decode_step;

/// Decodes the steps of an `undo` node written in `what` (`step \`x\``).
pub(crate) fn decode_undo(r: &mut Report, node: &KdlNode, what: &str) -> Vec<Step> {
    let here = format!("`undo` in {what}");
    check_props(r, node, &here, &[]);
    check_arg_count(r, node, &here, 0, "`undo { step ... }`");
    let mut steps = Vec::new();
    for child in children(node) {
        match name(child) {
            "step" => {
                let Some(s) = decode_step(r, child) else {
                    continue;
                };
                if let Some(span) = s.undo_span {
                    r.error(
                        span,
                        format!("`undo` inside undo step `{}` of {what}", s.id),
                    )
                    .label("an undo step is not undone")
                    .hint("put what the undo step needs in the same `undo` block, before it");
                }
                steps.push(s);
            }
            "parallel" => {
                r.error(name_span(child), format!("`parallel` in {here}"))
                    .hint(
                        "the steps of an `undo` block run one after the other: list them directly",
                    );
            }
            _ => decode::unknown_node(r, child, &here, &["step"]),
        }
    }
    if children(node).is_empty() {
        r.error(name_span(node), format!("{here} has no steps"))
            .hint("write `undo { step ID uses=PLUGIN { ... } }` with the steps that put back what this step changed, or remove it");
    }
    steps
}

/// Steps of `on-failure`, `finally` and `verify` are not undone: an `undo`
/// block there is reported.
pub(crate) fn refuse_outside_main(r: &mut Report, blocks: &[Block], section: &str) {
    for step in blocks.iter().flat_map(Block::steps) {
        if let Some(span) = step.undo_span {
            r.error(
                span,
                format!("`undo` in step `{}` of `{section}`", step.id),
            )
            .label("only main steps have an undo")
            .hint(format!(
                "an `undo` block runs when a later main step fails; the steps of `{section}` are not undone"
            ));
        }
    }
}

/// Whether undo step `at` may use the outputs of step `t` (named `name`):
/// its own main step and the main steps before it, and the earlier steps
/// of its own `undo` block. The problem and a hint when it may not.
pub(crate) fn undo_ref(
    name: &str,
    at: &StepPlace<'_>,
    t: &StepPlace<'_>,
) -> Option<(String, Option<String>)> {
    let owner = at.owner.map_or("", |o| o.id.as_str());
    let me = &at.step.id;
    let rule = format!(
        "an undo step can use the outputs of its own step (`{owner}`), of the main steps before it, and of the earlier steps of its `undo` block"
    );
    match t.section {
        Section::Main if t.step.id == owner || t.block < at.block => None,
        Section::Main if t.block == at.block => Some((
            format!("step `{name}` runs in parallel with `{owner}`, which undo step `{me}` undoes"),
            Some(rule),
        )),
        Section::Main => Some((
            format!("step `{name}` runs after `{owner}`, which undo step `{me}` undoes"),
            Some(rule),
        )),
        Section::Undo if t.owner.map(|o| &o.id) == at.owner.map(|o| &o.id) => (t.pos > at.pos)
            .then(|| {
                (
                    format!("undo step `{name}` runs after undo step `{me}`"),
                    Some(rule),
                )
            }),
        Section::Undo => Some((
            format!(
                "undo step `{name}` undoes `{}`, not `{owner}`",
                t.owner.map_or("", |o| o.id.as_str())
            ),
            Some(rule),
        )),
        other => Some((
            format!(
                "step `{name}` is in `{}` and can't be used from an undo step",
                other.as_str()
            ),
            Some(rule),
        )),
    }
}
