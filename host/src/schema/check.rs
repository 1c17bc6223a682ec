//! Checks a step's arguments (JSON, with the places of unknown template
//! values) against a JSON Schema.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::describe::describe_type;

/// Arguments to check: the JSON value and the paths whose value is a
/// template not known before the run (checked by nothing).
#[derive(Debug, Default)]
pub struct Checked {
    pub value: Value,
    pub unknown: BTreeSet<String>,
}

/// One thing wrong with the arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The argument's path: `expect.status`, `run[1]`; for `Missing`, the
    /// object lacking it (`""` at the top).
    pub path: String,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ProblemKind {
    /// A key the schema does not allow; the keys it does.
    Unknown { name: String, allowed: Vec<String> },
    /// A required key is absent; its help, if any.
    Missing { name: String, help: Option<String> },
    /// The value has the wrong type or shape.
    Type { expected: String, got: String },
    /// The value is not one of the allowed ones.
    Enum { got: String, allowed: Vec<String> },
}

/// Every problem of `args` against `schema`, in the order met.
pub fn check(schema: &Value, args: &Checked) -> Vec<Problem> {
    let mut cx = Cx {
        root: schema,
        unknown: &args.unknown,
        out: Vec::new(),
    };
    cx.value(schema, &args.value, "");
    cx.out
}

struct Cx<'a> {
    root: &'a Value,
    unknown: &'a BTreeSet<String>,
    out: Vec<Problem>,
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The value as written in a message.
pub(super) fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object (properties or children)".into(),
        other => other.to_string(),
    }
}

impl<'a> Cx<'a> {
    fn resolve(&self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        for _ in 0..16 {
            match s.get("$ref").and_then(Value::as_str) {
                Some(r) => match r.strip_prefix('#').and_then(|p| self.root.pointer(p)) {
                    Some(target) => s = target,
                    None => return s,
                },
                None => return s,
            }
        }
        s
    }

    /// Whether `v` fits `schema`, with no problem recorded.
    fn fits(&self, schema: &'a Value, v: &Value, path: &str) -> bool {
        let mut probe = Cx {
            root: self.root,
            unknown: self.unknown,
            out: Vec::new(),
        };
        probe.value(schema, v, path);
        probe.out.is_empty()
    }

    fn push(&mut self, path: &str, kind: ProblemKind) {
        self.out.push(Problem {
            path: path.to_string(),
            kind,
        });
    }

    fn value(&mut self, schema: &'a Value, v: &Value, path: &str) {
        let schema = self.resolve(schema);
        if schema == &Value::Bool(false) {
            self.push(
                path,
                ProblemKind::Type {
                    expected: "nothing (this argument is not allowed)".into(),
                    got: shown(v),
                },
            );
            return;
        }
        let Some(s) = schema.as_object() else {
            return;
        };
        if self.unknown.contains(path) {
            return;
        }
        for sub in s
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.value(sub, v, path);
        }
        let branches = s
            .get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(Value::as_array);
        if let Some(branches) = branches
            && !branches.iter().any(|b| self.fits(b, v, path))
        {
            self.no_branch(schema, branches, v, path);
            return;
        }
        if let Some(allowed) = choices(s)
            && !allowed.iter().any(|a| same(a, v))
        {
            self.push(
                path,
                ProblemKind::Enum {
                    got: text(v),
                    allowed: allowed.iter().map(|a| text(a)).collect(),
                },
            );
            return;
        }
        if let Some(types) = types(s)
            && !types.iter().any(|t| has_type(t, v))
        {
            self.push(
                path,
                ProblemKind::Type {
                    expected: describe_type(schema),
                    got: shown(v),
                },
            );
            return;
        }
        // The SDK reads a number as its text, and a bare number is no
        // duration.
        if s.get("format").and_then(Value::as_str) == Some("duration")
            && let Some(t) = match v {
                Value::String(t) => Some(t.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
            && !is_duration(&t)
        {
            self.push(
                path,
                ProblemKind::Type {
                    expected: describe_type(schema),
                    got: shown(v),
                },
            );
            return;
        }
        if let Some(n) = number(v) {
            let low = s.get("minimum").and_then(Value::as_f64);
            let high = s.get("maximum").and_then(Value::as_f64);
            if low.is_some_and(|l| n < l) || high.is_some_and(|h| n > h) {
                self.push(
                    path,
                    ProblemKind::Type {
                        expected: describe_type(schema),
                        got: shown(v),
                    },
                );
                return;
            }
        }
        match v {
            Value::Object(fields) => self.object(s, fields, path),
            Value::Array(items) => {
                if let Some(item) = s.get("items") {
                    for (i, x) in items.iter().enumerate() {
                        self.value(item, x, &format!("{path}[{i}]"));
                    }
                }
            }
            _ => {}
        }
    }

    /// No branch of an `anyOf` fits: the problems of the branch of the
    /// value's own kind when one is, else one type problem.
    fn no_branch(&mut self, schema: &'a Value, branches: &'a [Value], v: &Value, path: &str) {
        let consts: Option<Vec<&Value>> = branches
            .iter()
            .map(|b| {
                let c = choices(self.resolve(b).as_object()?)?;
                (c.len() == 1).then(|| c[0])
            })
            .collect();
        if let Some(allowed) = consts {
            self.push(
                path,
                ProblemKind::Enum {
                    got: text(v),
                    allowed: allowed.iter().map(|a| text(a)).collect(),
                },
            );
            return;
        }
        let same_kind = branches.iter().find(|b| {
            self.resolve(b)
                .as_object()
                .and_then(types)
                .is_some_and(|ts| {
                    ts.iter()
                        .any(|t| has_type(t, v) && (t != "string" || v.is_string()))
                })
        });
        match same_kind {
            Some(b) => self.value(b, v, path),
            None => self.push(
                path,
                ProblemKind::Type {
                    expected: describe_type(schema),
                    got: shown(v),
                },
            ),
        }
    }

    fn object(&mut self, s: &'a Map<String, Value>, fields: &Map<String, Value>, path: &str) {
        let props: &'a Map<String, Value> = match s.get("properties") {
            Some(Value::Object(p)) => p,
            _ => &EMPTY,
        };
        let extra = s.get("additionalProperties");
        for (k, v) in fields {
            let at = join(path, k);
            if let Some(p) = props.get(k).or_else(|| alias_of(props, k)) {
                self.value(p, v, &at);
                continue;
            }
            match extra {
                Some(Value::Bool(false)) => self.push(
                    &at,
                    ProblemKind::Unknown {
                        name: k.clone(),
                        allowed: props.keys().cloned().collect(),
                    },
                ),
                Some(schema @ Value::Object(_)) => self.value(schema, v, &at),
                _ => {}
            }
        }
        for name in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let given = fields.contains_key(name)
                || props
                    .get(name)
                    .and_then(|p| p.get("x-aliases"))
                    .and_then(Value::as_array)
                    .is_some_and(|a| {
                        a.iter()
                            .any(|x| x.as_str().is_some_and(|x| fields.contains_key(x)))
                    });
            if !given {
                let help = props
                    .get(name)
                    .and_then(|p| p.get("description"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                self.push(
                    path,
                    ProblemKind::Missing {
                        name: name.to_string(),
                        help,
                    },
                );
            }
        }
    }
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// The property that lists `key` among its `x-aliases`.
fn alias_of<'a>(props: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    props.values().find(|p| {
        p.get("x-aliases")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x == key))
    })
}

/// The allowed values of an `enum` or `const`.
fn choices(s: &Map<String, Value>) -> Option<Vec<&Value>> {
    if let Some(c) = s.get("const") {
        return Some(vec![c]);
    }
    s.get("enum")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
}

fn types(s: &Map<String, Value>) -> Option<Vec<String>> {
    match s.get("type")? {
        Value::String(t) => Some(vec![t.clone()]),
        Value::Array(ts) => Some(
            ts.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
        ),
        _ => None,
    }
}

/// A number, or a string the SDK would read as one.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether `v` is of JSON Schema type `t`, with the SDK's leniency.
fn has_type(t: &str, v: &Value) -> bool {
    match (t, v) {
        ("string", Value::String(_) | Value::Number(_)) => true,
        ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
        ("integer", Value::String(s)) => {
            let s = s.trim();
            s.parse::<i64>().is_ok() || s.parse::<u64>().is_ok()
        }
        ("number", Value::Number(_)) => true,
        ("number", Value::String(s)) => s.trim().parse::<f64>().is_ok(),
        ("boolean", Value::Bool(_)) => true,
        ("boolean", Value::String(s)) => matches!(s.trim(), "true" | "false"),
        ("array", Value::Array(_)) => true,
        ("object", Value::Object(_)) => true,
        ("null", Value::Null) => true,
        _ => false,
    }
}

/// `v` equals the allowed value `a`, a number given as a string included.
fn same(a: &Value, v: &Value) -> bool {
    a == v
        || matches!((a, v), (Value::Number(_), Value::String(s)) if s.trim() == written(a))
        || matches!((a, v), (Value::String(s), Value::Number(_)) if *s == written(v))
        || matches!((a, v), (Value::Bool(_), Value::String(s)) if s.trim() == written(a))
}

/// A number or boolean as JSON writes it.
fn written(v: &Value) -> String {
    v.to_string()
}

/// The SDK's duration syntax (`cairn_sdk::args::parse_duration`): numbers,
/// each followed by a unit (`ms`, `s`, `m`, `h`, `d`), spaces allowed
/// between the parts.
fn is_duration(text: &str) -> bool {
    let mut rest = text.trim();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 || rest[..n].parse::<f64>().is_err() {
            return false;
        }
        let tail = &rest[n..];
        let u = tail
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(tail.len());
        if !matches!(&tail[..u], "ms" | "s" | "m" | "h" | "d") {
            return false;
        }
        rest = tail[u..].trim_start();
    }
    true
}

/// A value as its text: strings without quotes.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
