//! Builds a step's [`ArgSpans`]: where each argument is written (the span
//! of its key and of its value, by path), by the same rule as `args.rs`
//! builds the arguments, so that the host's check against a plugin's schema
//! points at the runbook.

use kdl::{KdlEntry, KdlNode};
#[cfg(test)]
use miette::SourceSpan;

use crate::decode::{args, children, name_span, prop_name, props, value_span};
use crate::model::ArgSpans;

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The spans of the arguments built from `nodes` (a step's non-reserved
/// children), by the same rule as the arguments themselves.
pub(crate) fn spans_of(nodes: &[&KdlNode]) -> ArgSpans {
    let mut out = ArgSpans::default();
    object(&mut out, "", &[], nodes);
    out
}

fn object(out: &mut ArgSpans, prefix: &str, named: &[&KdlEntry], kids: &[&KdlNode]) {
    for e in named {
        let path = join(prefix, prop_name(e));
        let key = e.name().map(|n| n.span()).unwrap_or(e.span());
        out.keys.entry(path.clone()).or_insert(key);
        out.values.entry(path).or_insert(value_span(e));
    }
    for (key, nodes) in crate::decode::group_by_name(kids) {
        let path = join(prefix, key);
        out.keys.entry(path.clone()).or_insert(name_span(nodes[0]));
        match nodes.as_slice() {
            [one] => node(out, &path, one),
            many => {
                for (i, n) in many.iter().enumerate() {
                    let item = format!("{path}[{i}]");
                    out.keys.insert(item.clone(), name_span(n));
                    node(out, &item, n);
                }
            }
        }
    }
}

fn node(out: &mut ArgSpans, path: &str, n: &KdlNode) {
    let positional: Vec<&KdlEntry> = args(n).collect();
    let named: Vec<&KdlEntry> = props(n).collect();
    let kids: Vec<&KdlNode> = children(n).iter().collect();
    let list = |out: &mut ArgSpans, at: &str| {
        for (i, e) in positional.iter().enumerate() {
            out.values.insert(format!("{at}[{i}]"), value_span(e));
        }
    };
    match (positional.as_slice(), named.is_empty() && kids.is_empty()) {
        ([], true) => {}
        ([one], true) => {
            out.values.insert(path.to_string(), value_span(one));
        }
        (_, true) => list(out, path),
        ([], false) => object(out, path, &named, &kids),
        (_, false) => {
            list(out, &join(path, "args"));
            object(out, path, &named, &kids);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(src: &str) -> ArgSpans {
        let doc: kdl::KdlDocument = src.parse().expect("valid KDL");
        let nodes: Vec<&KdlNode> = doc.nodes().iter().collect();
        spans_of(&nodes)
    }

    fn text(src: &str, s: Option<SourceSpan>) -> &str {
        let s = s.expect("a span");
        &src[s.offset()..s.offset() + s.len()]
    }

    #[test]
    fn keys_and_values_by_path() {
        let src = "url \"http://x/\"\nrun git pull\nexpect status=200 {\n  body \"ok\"\n}\nenv A=1\nenv B=2\n";
        let s = spans(src);
        assert_eq!(text(src, s.key("url")), "url");
        assert_eq!(text(src, s.value("url")), "\"http://x/\"");
        assert_eq!(text(src, s.value("run[1]")), "pull");
        assert_eq!(text(src, s.key("expect.status")), "status");
        assert_eq!(text(src, s.value("expect.status")), "200");
        assert_eq!(text(src, s.key("expect.body")), "body");
        assert_eq!(text(src, s.value("env[1].B")), "2");
        // Nothing closer: the enclosing key.
        assert_eq!(text(src, s.value("expect")), "expect");
        assert_eq!(text(src, s.key("expect.nope")), "expect");
        assert_eq!(s.key("nope"), None);
    }
}
