//! `step ID uses=PLUGIN[@REQ] action= target= when= timeout=
//! continue-on-error=`, its reserved children `retry` and `confirm`, and the
//! rest as the plugin's arguments.

use std::time::Duration;

use crate::args::object_of;
use crate::decode::{
    self, check_arg_count, check_no_children, check_props, children, describe, name, name_span,
    value_span,
};
use crate::diagnostics::Report;
use crate::duration::duration_or_reason;
use crate::expr::parse_expr;
use crate::model::{Expr, Retry, Spanned, Step, Template};
use crate::reference::is_name;
use crate::target::bad_name;
use kdl::{KdlEntry, KdlNode, KdlValue};

pub(crate) const STEP_PROPS: [&str; 7] = [
    "uses",
    "action",
    "target",
    "parallel",
    "when",
    "timeout",
    "continue-on-error",
];
/// Children of a step that are not plugin arguments; `undo` holds the
/// compensation steps (decoded here by [`decode_undo`]; the rules are in `crate::undo`).
pub(crate) const RESERVED: [&str; 3] = ["retry", "confirm", "undo"];

const USAGE: &str = "`step ID uses=PLUGIN`";

/// Decodes a `step` node; `None` when it can't be built (errors reported).
pub(crate) fn decode_step(r: &mut Report, node: &KdlNode) -> Option<Step> {
    let id = decode::string_arg(r, node, "`step`", USAGE);
    let what = match &id {
        Some(id) => format!("step `{}`", id.value),
        None => "`step`".to_owned(),
    };
    check_props(r, node, &what, &STEP_PROPS);
    check_arg_count(r, node, &what, 1, USAGE);
    let id = id?;
    if !is_name(&id.value) {
        bad_name(r, id.span, "step", &id.value);
    }
    let uses = decode::prop_str(r, node, "uses", &what);
    if decode::prop(node, "uses").is_none() {
        r.error(id.span, format!("{what} has no `uses`"))
            .hint("name the plugin it calls, e.g. `uses=exec`");
    }
    let (plugin, version_req) = match &uses {
        Some(u) => split_uses(r, u),
        None => (String::new(), None),
    };
    let action = decode::prop_str(r, node, "action", &what);
    let target = decode::prop_str(r, node, "target", &what);
    let parallel = decode::prop_int(r, node, "parallel", &what, 1..=1024).map(|p| Spanned {
        value: p.value as u32,
        span: p.span,
    });
    let when = decode::prop(node, "when").and_then(|e| decode_when(r, e, &what));
    let timeout = decode::prop(node, "timeout")
        .and_then(|e| duration_of(r, e, &format!("`timeout` of {what}")));
    let continue_on_error = decode::prop_bool(r, node, "continue-on-error", &what).unwrap_or(false);

    let mut retry = None;
    let mut confirm = None;
    let mut undo = (Vec::new(), None);
    let mut arg_nodes = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for child in children(node) {
        let n = name(child);
        if RESERVED.contains(&n) {
            if seen.contains(&n) {
                r.error(name_span(child), format!("`{n}` is given twice in {what}"));
                continue;
            }
            seen.push(n);
        }
        match n {
            "retry" => retry = decode_retry(r, child, &what),
            "confirm" => {
                let here = format!("`confirm` in {what}");
                check_props(r, child, &here, &[]);
                check_no_children(r, child, &here);
                check_arg_count(r, child, &here, 1, "`confirm \"question?\"`");
                confirm = confirm_of(r, child, &here);
            }
            "undo" => undo = (decode_undo(r, child, &what), Some(name_span(child))),
            _ => arg_nodes.push(child),
        }
    }
    let args = object_of(r, &arg_nodes, &what);
    let arg_spans = crate::arg_spans::spans_of(&arg_nodes);
    let uses_span = uses.map(|u| u.span).unwrap_or(id.span);
    Some(Step {
        id: id.value,
        id_span: id.span,
        plugin,
        version_req,
        uses_span,
        action,
        target,
        parallel,
        member: None,
        when,
        timeout,
        continue_on_error,
        retry,
        confirm,
        args,
        arg_spans,
        undo: undo.0,
        undo_span: undo.1,
        span: node.span(),
    })
}

/// `exec` or `exec@^0.2`.
fn split_uses(r: &mut Report, u: &Spanned<String>) -> (String, Option<semver::VersionReq>) {
    let (name, req) = match u.value.split_once('@') {
        Some((n, q)) => (n, Some(q)),
        None => (u.value.as_str(), None),
    };
    if !is_name(name) {
        r.error(u.span, format!("invalid plugin name `{name}` in `uses`"))
            .hint("write `uses=NAME` or `uses=NAME@VERSION-REQ`, e.g. `uses=exec@^0.1`");
    }
    let req = req.and_then(|q| match semver::VersionReq::parse(q) {
        Ok(v) => Some(v),
        Err(e) => {
            r.error(
                u.span,
                format!("invalid version requirement `{q}` in `uses`: {e}"),
            )
            .hint("write a semver requirement, e.g. `uses=exec@^0.1` or `uses=exec@>=1.2`");
            None
        }
    });
    (name.to_owned(), req)
}

fn decode_when(r: &mut Report, e: &KdlEntry, what: &str) -> Option<Spanned<Expr>> {
    let span = value_span(e);
    match e.value() {
        KdlValue::String(s) => match parse_expr(s, &decode::str_spans(e)) {
            Ok(x) => Some(Spanned { value: x, span }),
            Err(p) => {
                r.problem(p);
                None
            }
        },
        KdlValue::Bool(b) => Some(Spanned {
            value: Expr::Lit((*b).into()),
            span,
        }),
        other => {
            r.error(span, format!("`when` of {what} must be a string, not {}", describe(other)))
                .hint("write a reference or an expression in quotes, e.g. `when=\"{{ params.migrate }}\"`");
            None
        }
    }
}

/// A duration written as a string property value.
pub(crate) fn duration_of(r: &mut Report, e: &KdlEntry, what: &str) -> Option<Duration> {
    let span = value_span(e);
    match e.value() {
        KdlValue::String(s) => match duration_or_reason(s) {
            Ok(d) => Some(d),
            Err(why) => {
                r.error(span, format!("invalid duration `{s}` for {what}: {why}"))
                    .label("not a duration")
                    .hint("write a number and a unit: `500ms`, `30s`, `10m`, `1h30m`, `2d`");
                None
            }
        },
        other => {
            r.error(
                span,
                format!("{what} must be a duration string, not {}", describe(other)),
            )
            .label("expected a quoted duration")
            .hint("quote it, e.g. `\"30s\"`");
            None
        }
    }
}

fn decode_retry(r: &mut Report, node: &KdlNode, what: &str) -> Option<Retry> {
    let here = format!("`retry` in {what}");
    check_props(r, node, &here, &["attempts", "delay", "backoff"]);
    check_arg_count(
        r,
        node,
        &here,
        0,
        "`retry attempts=3 delay=\"5s\" backoff=2.0`",
    );
    check_no_children(r, node, &here);
    if decode::prop(node, "attempts").is_none() {
        r.error(name_span(node), format!("{here} needs `attempts=`"))
            .hint("write `retry attempts=3`: the number of tries, the first included");
    }
    let attempts = decode::prop_int(r, node, "attempts", &here, 1..=i128::from(u32::MAX));
    let delay = match decode::prop(node, "delay") {
        Some(e) => duration_of(r, e, &format!("`delay` of {here}"))?,
        None => Duration::from_secs(1),
    };
    let backoff = match decode::prop(node, "backoff") {
        Some(e) => backoff_of(r, e, &here)?,
        None => 1.0,
    };
    Some(Retry {
        attempts: attempts?.value as u32,
        delay,
        backoff,
    })
}

fn backoff_of(r: &mut Report, e: &KdlEntry, here: &str) -> Option<f64> {
    let f = match e.value() {
        KdlValue::Float(f) => *f,
        KdlValue::Integer(n) => *n as f64,
        other => {
            r.error(
                value_span(e),
                format!(
                    "`backoff` of {here} must be a number, not {}",
                    describe(other)
                ),
            )
            .hint("write it unquoted, e.g. `backoff=2.0`");
            return None;
        }
    };
    if !(1.0..=100.0).contains(&f) {
        r.error(
            value_span(e),
            format!("`backoff` of {here} must be between 1.0 and 100.0"),
        )
        .hint("1.0 keeps the delay constant, 2.0 doubles it after each failed try");
        return None;
    }
    Some(f)
}

fn confirm_of(r: &mut Report, node: &KdlNode, here: &str) -> Option<Spanned<Template>> {
    let Some(e) = decode::args(node).next() else {
        r.error(name_span(node), format!("{here} is missing its question"))
            .hint("write `confirm \"Apply the migrations?\"`");
        return None;
    };
    if !e.value().is_string() {
        r.error(
            value_span(e),
            format!("{here} must be a string, not {}", describe(e.value())),
        )
        .hint("quote it");
        return None;
    }
    Some(decode::template(r, e))
}

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
