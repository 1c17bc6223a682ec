//! A step's children become its plugin's arguments by one rule (documented
//! in `docs/runbook-language.md`, "Step arguments"):
//!
//! 1. every child node is a key of the arguments object, its name the key;
//! 2. its value: nothing → `true`; one argument → that value; several
//!    arguments → an array; properties and/or children → an object
//!    (properties, then children by this same rule); arguments together with
//!    properties or children → an object whose `"args"` is the array of the
//!    arguments, plus the properties and children;
//! 3. a name repeated → an array of each occurrence's value, in order;
//! 4. strings are templates; numbers, booleans and `#null` are kept as is;
//!    type annotations are ignored.

use kdl::{KdlEntry, KdlNode, KdlValue};
use serde_json::Value;

use crate::Resolver;
use crate::decode::{self, args, children, name, name_span, prop_name, props};
use crate::diagnostics::Report;
use crate::model::ArgValue;
use crate::model::{Spanned, Template};
use crate::template::{RenderError, render_template};

/// The arguments object built from `nodes` (a step's non-reserved children).
pub(crate) fn object_of(r: &mut Report, nodes: &[&KdlNode], what: &str) -> ArgValue {
    build_object(r, &[], nodes, what)
}

fn node_value(r: &mut Report, node: &KdlNode) -> ArgValue {
    let positional: Vec<&KdlEntry> = args(node).collect();
    let named: Vec<&KdlEntry> = props(node).collect();
    let kids: Vec<&KdlNode> = children(node).iter().collect();
    let what = format!("`{}`", name(node));
    match (positional.as_slice(), named.is_empty() && kids.is_empty()) {
        ([], true) => ArgValue::Bool(true),
        ([one], true) => scalar(r, one),
        (many, true) => ArgValue::List(many.iter().map(|e| scalar(r, e)).collect()),
        ([], false) => build_object(r, &named, &kids, &what),
        (many, false) => {
            if let Some(e) = named.iter().find(|e| prop_name(e) == "args") {
                let span = e.name().map(|n| n.span()).unwrap_or(e.span());
                r.error(span, format!("key `args` is given twice in {what}"))
                    .hint("a node with arguments and properties keeps its arguments under `args`");
            }
            let list = ArgValue::List(many.iter().map(|e| scalar(r, e)).collect());
            match build_object(r, &named, &kids, &what) {
                ArgValue::Object(mut fields) => {
                    fields.insert(0, ("args".to_owned(), list));
                    ArgValue::Object(fields)
                }
                _ => unreachable!("build_object returns an object"),
            }
        }
    }
}

fn build_object(r: &mut Report, named: &[&KdlEntry], kids: &[&KdlNode], what: &str) -> ArgValue {
    let mut fields: Vec<(String, ArgValue)> = Vec::new();
    for e in named {
        let key = prop_name(e);
        if fields.iter().any(|(k, _)| k == key) {
            let span = e.name().map(|n| n.span()).unwrap_or(e.span());
            r.error(span, format!("key `{key}` is given twice in {what}"));
            continue;
        }
        fields.push((key.to_owned(), scalar(r, e)));
    }
    let prop_count = fields.len();
    for (key, nodes) in crate::decode::group_by_name(kids) {
        if fields[..prop_count].iter().any(|(k, _)| k == key) {
            r.error(
                name_span(nodes[0]),
                format!("key `{key}` is given twice in {what}"),
            )
            .hint("a key is either a property or a child node, not both");
            continue;
        }
        let value = match nodes.as_slice() {
            [one] => node_value(r, one),
            many => ArgValue::List(many.iter().map(|n| node_value(r, n)).collect()),
        };
        fields.push((key.to_owned(), value));
    }
    ArgValue::Object(fields)
}

fn scalar(r: &mut Report, e: &KdlEntry) -> ArgValue {
    match e.value() {
        KdlValue::String(_) => ArgValue::String(decode::template(r, e)),
        KdlValue::Integer(n) => match i64::try_from(*n) {
            Ok(n) => ArgValue::Int(n),
            Err(_) => {
                r.error(decode::value_span(e), format!("integer `{n}` is too large"))
                    .hint("integers are 64-bit; quote it to pass it as a string");
                ArgValue::Null
            }
        },
        KdlValue::Float(f) => ArgValue::Float(*f),
        KdlValue::Bool(b) => ArgValue::Bool(*b),
        KdlValue::Null => ArgValue::Null,
    }
}

impl ArgValue {
    /// Every template in the value, depth first.
    pub fn templates(&self) -> Vec<&Spanned<Template>> {
        let mut out = Vec::new();
        self.collect_templates(&mut out);
        out
    }

    fn collect_templates<'a>(&'a self, out: &mut Vec<&'a Spanned<Template>>) {
        match self {
            ArgValue::String(t) => out.push(t),
            ArgValue::List(items) => items.iter().for_each(|i| i.collect_templates(out)),
            ArgValue::Object(fields) => fields.iter().for_each(|(_, v)| v.collect_templates(out)),
            _ => {}
        }
    }

    /// The value as JSON with each template written as in the file
    /// (`"{{ params.branch }}"`), for display and plans.
    pub fn as_written(&self) -> Value {
        match self {
            ArgValue::Null => Value::Null,
            ArgValue::Bool(b) => Value::Bool(*b),
            ArgValue::Int(n) => Value::from(*n),
            ArgValue::Float(f) => float(*f),
            ArgValue::String(t) => Value::String(t.value.to_string()),
            ArgValue::List(items) => Value::Array(items.iter().map(ArgValue::as_written).collect()),
            ArgValue::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_written()))
                    .collect(),
            ),
        }
    }
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Renders arguments: every template through [`render_template`].
pub fn render_args(a: &ArgValue, r: &dyn Resolver) -> Result<Value, RenderError> {
    Ok(match a {
        ArgValue::String(t) => render_template(&t.value, r)?,
        ArgValue::List(items) => Value::Array(
            items
                .iter()
                .map(|i| render_args(i, r))
                .collect::<Result<_, _>>()?,
        ),
        ArgValue::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), render_args(v, r)?)))
                .collect::<Result<_, RenderError>>()?,
        ),
        other => other.as_written(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::model::SourceFile;
    use crate::template::tests::map;

    fn convert(src: &str) -> (Value, Vec<String>) {
        let doc: kdl::KdlDocument = src.parse().expect("valid KDL");
        let file = Arc::new(SourceFile {
            name: "t.kdl".into(),
            path: "t.kdl".into(),
            text: src.into(),
        });
        let mut r = Report::new(file);
        let nodes: Vec<&KdlNode> = doc.nodes().iter().collect();
        let v = object_of(&mut r, &nodes, "step `t`");
        (
            v.as_written(),
            r.diags.iter().map(|d| d.message.clone()).collect(),
        )
    }

    #[test]
    fn the_documented_examples() {
        let (v, errs) = convert(
            r#"run git "-C" "/srv/hello" pull
               expect status=200 body-contains="ok"
               effect read
               env FOO="bar" PATH="/bin"
               dry"#,
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            v,
            json!({
                "run": ["git", "-C", "/srv/hello", "pull"],
                "expect": {"status": 200, "body-contains": "ok"},
                "effect": "read",
                "env": {"FOO": "bar", "PATH": "/bin"},
                "dry": true,
            })
        );
    }

    #[test]
    fn mixed_nested_and_repeated() {
        let (v, errs) = convert(
            r#"header "X-A" "1"
               header "X-B" "2"
               source cmd="pg_dump" (ty)1.5 #null { transform zstd; transform sha256 }
               limits { memory "64MiB" }"#,
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            v,
            json!({
                "header": [["X-A", "1"], ["X-B", "2"]],
                "source": {"args": [1.5, null], "cmd": "pg_dump", "transform": ["zstd", "sha256"]},
                "limits": {"memory": "64MiB"},
            })
        );
    }

    #[test]
    fn conflicting_keys_are_errors() {
        let (_, errs) = convert("a x=1 x=2\nb x=1 { x 2 }\nc 1 args=2");
        assert_eq!(
            errs,
            [
                "key `x` is given twice in `a`",
                "key `x` is given twice in `b`",
                "key `args` is given twice in `c`"
            ]
        );
    }

    #[test]
    fn rendering_keeps_types_and_fills_templates() {
        let (_, _) = convert("x 1");
        let doc: kdl::KdlDocument = r#"run echo "{{ params.who }}"; n "{{ params.n }}""#
            .parse()
            .unwrap();
        let file = Arc::new(SourceFile {
            name: "t".into(),
            path: "t".into(),
            text: "".into(),
        });
        let mut r = Report::new(file);
        let nodes: Vec<&KdlNode> = doc.nodes().iter().collect();
        let a = object_of(&mut r, &nodes, "step");
        let vals = map(&[("params.who", json!("world")), ("params.n", json!(3))]);
        assert_eq!(
            render_args(&a, &vals),
            Ok(json!({"run": ["echo", "world"], "n": 3}))
        );
        assert!(render_args(&a, &map(&[])).is_err());
    }
}
