//! Small helpers to decode KDL nodes: arguments, properties and children
//! kept distinct, every mistake reported with its span and a hint.

use kdl::{KdlEntry, KdlNode, KdlValue};
use miette::SourceSpan;

use crate::diagnostics::Report;
use crate::model::{Spanned, Template};
use crate::strspan::StrSpans;
use crate::template::parse_template;

/// The node's name.
pub(crate) fn name(node: &KdlNode) -> &str {
    node.name().value()
}

/// Child nodes grouped by name, in the order each name first appears.
pub(crate) fn group_by_name<'a>(kids: &[&'a KdlNode]) -> Vec<(&'a str, Vec<&'a KdlNode>)> {
    let mut groups: Vec<(&str, Vec<&KdlNode>)> = Vec::new();
    for k in kids {
        match groups.iter_mut().find(|(n, _)| *n == name(k)) {
            Some((_, g)) => g.push(k),
            None => groups.push((name(k), vec![k])),
        }
    }
    groups
}

/// Where the node's name is written: what errors about a node point at.
pub(crate) fn name_span(node: &KdlNode) -> SourceSpan {
    node.name().span()
}

pub(crate) fn args(node: &KdlNode) -> impl Iterator<Item = &KdlEntry> {
    node.entries().iter().filter(|e| e.name().is_none())
}

pub(crate) fn props(node: &KdlNode) -> impl Iterator<Item = &KdlEntry> {
    node.entries().iter().filter(|e| e.name().is_some())
}

pub(crate) fn prop_name(e: &KdlEntry) -> &str {
    e.name().map(|n| n.value()).unwrap_or_default()
}

pub(crate) fn children(node: &KdlNode) -> &[KdlNode] {
    node.children().map(|d| d.nodes()).unwrap_or_default()
}

/// The span of the entry's value alone (without `key=` or a type annotation).
pub(crate) fn value_span(e: &KdlEntry) -> SourceSpan {
    let span = e.span();
    match e.format() {
        Some(f) if f.value_repr.len() <= span.len() => {
            let start = span.offset() + span.len() - f.value_repr.len();
            SourceSpan::new(start.into(), f.value_repr.len())
        }
        _ => span,
    }
}

/// Maps the bytes of a string entry's value to the file.
pub(crate) fn str_spans(e: &KdlEntry) -> StrSpans {
    match (e.value().as_string(), e.format()) {
        (Some(v), Some(f)) => StrSpans::new(v, &f.value_repr, value_span(e).offset()),
        _ => StrSpans::opaque(value_span(e)),
    }
}

pub(crate) fn describe(v: &KdlValue) -> &'static str {
    match v {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) => "an integer",
        KdlValue::Float(_) => "a number",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "`#null`",
    }
}

/// Reports properties not in `known` (with a hint) and properties given twice.
pub(crate) fn check_props(r: &mut Report, node: &KdlNode, what: &str, known: &[&str]) {
    check_props_repeatable(r, node, what, known, &[]);
}

/// Like [`check_props`]; the properties in `repeatable` may be given more than once.
pub(crate) fn check_props_repeatable(
    r: &mut Report,
    node: &KdlNode,
    what: &str,
    known: &[&str],
    repeatable: &[&str],
) {
    let mut seen: Vec<&str> = Vec::new();
    for e in props(node) {
        let key = prop_name(e);
        let key_span = e.name().map(|n| n.span()).unwrap_or(e.span());
        if !known.contains(&key) {
            let d = r
                .error(key_span, format!("unknown property `{key}` on {what}"))
                .label("unknown property")
                .suggest(key, known.iter().copied());
            if d.help.is_none() {
                d.hint(match known {
                    [] => format!("{what} takes no properties"),
                    _ => format!("known properties: {}", known.join(", ")),
                });
            }
        } else if seen.contains(&key) && !repeatable.contains(&key) {
            r.error(
                key_span,
                format!("property `{key}` is given twice on {what}"),
            );
        }
        seen.push(key);
    }
}

/// Reports arguments beyond the first `max`.
pub(crate) fn check_arg_count(r: &mut Report, node: &KdlNode, what: &str, max: usize, usage: &str) {
    for e in args(node).skip(max) {
        r.error(e.span(), format!("unexpected argument on {what}"))
            .label("not expected")
            .hint(format!("write {usage}"));
    }
}

/// Reports a child block on a node that takes none.
pub(crate) fn check_no_children(r: &mut Report, node: &KdlNode, what: &str) {
    if let Some(c) = node.children() {
        r.error(c.span(), format!("{what} takes no children"))
            .label("not expected");
    }
}

/// Reports a node whose name is not one of `known` in `context`.
pub(crate) fn unknown_node(r: &mut Report, node: &KdlNode, context: &str, known: &[&str]) {
    let n = name(node);
    let d = r
        .error(name_span(node), format!("unknown node `{n}` in {context}"))
        .label("unknown node")
        .suggest(n, known.iter().copied());
    if d.help.is_none() {
        d.hint(match known {
            [one] => format!("expected `{one}`"),
            _ => format!("expected one of: {}", known.join(", ")),
        });
    }
}

/// The first argument as a string; reports it missing or of another type.
pub(crate) fn string_arg(
    r: &mut Report,
    node: &KdlNode,
    what: &str,
    usage: &str,
) -> Option<Spanned<String>> {
    let Some(e) = args(node).next() else {
        r.error(name_span(node), format!("{what} is missing its argument"))
            .hint(format!("write {usage}"));
        return None;
    };
    string_value(r, e, what)
}

fn string_value(r: &mut Report, e: &KdlEntry, what: &str) -> Option<Spanned<String>> {
    match e.value() {
        KdlValue::String(s) => Some(Spanned {
            value: s.clone(),
            span: value_span(e),
        }),
        other => {
            r.error(
                value_span(e),
                format!("{what} must be a string, not {}", describe(other)),
            )
            .label("expected a string")
            .hint("quote it");
            None
        }
    }
}

pub(crate) fn prop<'a>(node: &'a KdlNode, key: &str) -> Option<&'a KdlEntry> {
    props(node).find(|e| prop_name(e) == key)
}

/// `key="..."` as a string.
pub(crate) fn prop_str(
    r: &mut Report,
    node: &KdlNode,
    key: &str,
    what: &str,
) -> Option<Spanned<String>> {
    let e = prop(node, key)?;
    string_value(r, e, &format!("`{key}` on {what}"))
}

/// `key=#true|#false`.
pub(crate) fn prop_bool(r: &mut Report, node: &KdlNode, key: &str, what: &str) -> Option<bool> {
    let e = prop(node, key)?;
    match e.value() {
        KdlValue::Bool(b) => Some(*b),
        other => {
            r.error(
                value_span(e),
                format!(
                    "`{key}` on {what} must be `#true` or `#false`, not {}",
                    describe(other)
                ),
            )
            .label("expected a boolean");
            None
        }
    }
}

/// `key=N` as an integer within `range`.
pub(crate) fn prop_int(
    r: &mut Report,
    node: &KdlNode,
    key: &str,
    what: &str,
    range: std::ops::RangeInclusive<i128>,
) -> Option<Spanned<i128>> {
    let e = prop(node, key)?;
    let span = value_span(e);
    match e.value() {
        KdlValue::Integer(n) if range.contains(n) => Some(Spanned { value: *n, span }),
        KdlValue::Integer(n) => {
            r.error(span, format!("`{key}` on {what} is out of range: {n}"))
                .hint(format!(
                    "use a value from {} to {}",
                    range.start(),
                    range.end()
                ));
            None
        }
        other => {
            r.error(
                span,
                format!(
                    "`{key}` on {what} must be an integer, not {}",
                    describe(other)
                ),
            )
            .label("expected an integer")
            .hint(format!("write it unquoted, e.g. `{key}=1`"));
            None
        }
    }
}

/// A string entry parsed as a template; malformed references are reported
/// and the string is then kept as a literal.
pub(crate) fn template(r: &mut Report, e: &KdlEntry) -> Spanned<Template> {
    let span = value_span(e);
    let text = e.value().as_string().unwrap_or_default();
    let value = match parse_template(text, &str_spans(e)) {
        Ok(t) => t,
        Err(problems) => {
            for p in problems {
                r.problem(p);
            }
            Template::literal(text)
        }
    };
    Spanned { value, span }
}

/// The top-level nodes named `expected`; the others are reported.
pub(crate) fn top_nodes<'d>(
    r: &mut Report,
    doc: &'d kdl::KdlDocument,
    expected: &str,
    context: &str,
) -> Vec<&'d KdlNode> {
    let mut out = Vec::new();
    for n in doc.nodes() {
        if name(n) == expected {
            out.push(n);
        } else {
            unknown_node(r, n, context, &[expected]);
        }
    }
    out
}
