//! `undo { step ... }` inside a main step: the compensation steps that put
//! back what the step changed, run (in reverse order of the main list) when
//! a later main step fails. The rules of where an `undo` may be and what an
//! undo step may refer to; the block itself is decoded with its step
//! (`step.rs`).

use crate::diagnostics::Report;
use crate::model::{Block, Section, StepPlace};

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
        // In a `rolling` block the steps run in order on each member.
        Section::Main if t.block == at.block && t.rolling_pos < at.rolling_pos => None,
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
