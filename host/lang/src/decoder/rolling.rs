//! Decoding `rolling group=NAME batch=N max-failures=N min-healthy=N { ... }`:
//! its steps, `once { ... }`, `before { ... }` and `after { ... }`.

use kdl::{KdlEntry, KdlNode, KdlValue};

use super::Decoder;
use crate::decode::{
    self, check_arg_count, check_props, children, describe, name, name_span, value_span,
};
use crate::model::Spanned;
use crate::model::{Amount, RollPart, Rolling};
use crate::step::decode_step;

const PROPS: [&str; 4] = ["group", "batch", "max-failures", "min-healthy"];
const NODES: [&str; 4] = ["step", "once", "before", "after"];

pub(crate) fn decode_rolling(d: &mut Decoder<'_>, node: &KdlNode) -> Option<Rolling> {
    let what = "`rolling`";
    check_props(&mut d.r, node, what, &PROPS);
    check_arg_count(
        &mut d.r,
        node,
        what,
        0,
        "`rolling group=NAME batch=1 { step ... }`",
    );
    let group = decode::prop_str(&mut d.r, node, "group", what);
    if decode::prop(node, "group").is_none() {
        d.r.error(name_span(node), "`rolling` has no `group`").hint(
            "name the group of `cairn.kdl` it rolls over: `rolling group=app batch=1 { ... }`",
        );
    }
    let batch = amount(d, node, "batch", 1);
    let max_failures = amount(d, node, "max-failures", 0);
    let min_healthy =
        decode::prop_int(&mut d.r, node, "min-healthy", what, 0..=100_000).map(|m| Spanned {
            value: m.value as u64,
            span: m.span,
        });
    let mut written = Vec::new();
    let mut steps = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for child in children(node) {
        let kind = name(child);
        let part = match kind {
            "step" => RollPart::Body,
            "once" => RollPart::Once,
            "before" => RollPart::Before,
            "after" => RollPart::After,
            "parallel" | "rolling" => {
                d.r.error(name_span(child), format!("`{kind}` inside `rolling`"))
                    .hint("the members of a batch run at once already; list the steps directly");
                continue;
            }
            _ => {
                decode::unknown_node(&mut d.r, child, what, &NODES);
                continue;
            }
        };
        let nodes: Vec<&KdlNode> = if kind == "step" {
            vec![child]
        } else {
            if matches!(kind, "before" | "after") {
                if seen.contains(&kind) {
                    d.r.error(
                        name_span(child),
                        format!("`{kind}` is given twice in `rolling`"),
                    );
                }
                seen.push(kind);
            }
            let here = format!("`{kind}` in `rolling`");
            check_props(&mut d.r, child, &here, &[]);
            check_arg_count(
                &mut d.r,
                child,
                &here,
                0,
                &format!("`{kind} {{ step ... }}`"),
            );
            let inner = children(child);
            if inner.is_empty() {
                d.r.error(name_span(child), format!("{here} has no steps"));
            }
            inner.iter().collect()
        };
        for n in nodes {
            if name(n) != "step" {
                decode::unknown_node(&mut d.r, n, &format!("`{kind}`"), &["step"]);
                continue;
            }
            if let Some(s) = decode_step(&mut d.r, n) {
                d.claim(&s);
                written.push((s.id.clone(), part));
                steps.push(s);
            }
        }
    }
    if steps.is_empty() && children(node).is_empty() {
        d.r.error(name_span(node), "`rolling` block has no steps")
            .hint("write `rolling group=app batch=1 { step ... }`");
    }
    // `before` steps first, `after` steps last, whatever order they are written in.
    let rank = |p: RollPart| match p {
        RollPart::Before => 0,
        RollPart::Body | RollPart::Once => 1,
        RollPart::After => 2,
    };
    let mut order: Vec<usize> = (0..steps.len()).collect();
    order.sort_by_key(|&i| rank(written[i].1));
    let written = order.iter().map(|&i| written[i].clone()).collect();
    let mut slots: Vec<Option<_>> = steps.into_iter().map(Some).collect();
    let steps = order.iter().filter_map(|&i| slots[i].take()).collect();
    Some(Rolling {
        group: group?,
        batch,
        max_failures,
        min_healthy,
        written,
        steps,
        batches: Vec::new(),
        span: name_span(node),
    })
}

/// `key=N` or `key="N%"`.
fn amount(d: &mut Decoder<'_>, node: &KdlNode, key: &str, default: u64) -> Spanned<Amount> {
    let Some(e) = decode::prop(node, key) else {
        return Spanned {
            value: Amount::Count(default),
            span: name_span(node),
        };
    };
    let span = value_span(e);
    match amount_of(e) {
        Some(value) => Spanned { value, span },
        None => {
            let given = match e.value() {
                KdlValue::String(s) => format!("`\"{s}\"`"),
                KdlValue::Integer(n) => format!("`{n}`"),
                other => describe(other).to_owned(),
            };
            d.r.error(
                span,
                format!("`{key}` on `rolling` must be a count or a percentage from 1% to 100%, not {given}"),
            )
            .hint(format!("write `{key}=1` or `{key}=\"25%\"` (a percentage of the group's members, 1 to 100)"));
            Spanned {
                value: Amount::Count(default),
                span,
            }
        }
    }
}

fn amount_of(e: &KdlEntry) -> Option<Amount> {
    match e.value() {
        KdlValue::Integer(n) => u64::try_from(*n).ok().map(Amount::Count),
        KdlValue::String(s) => {
            let p: u8 = s.strip_suffix('%')?.trim().parse().ok()?;
            (1..=100).contains(&p).then_some(Amount::Percent(p))
        }
        _ => None,
    }
}
