//! The check of each step's arguments against the schema its plugin
//! declares for the action (`crate::schema`), part of the preflight and of
//! `cairn validate`: unknown, missing, ill-typed arguments and bad enum
//! values, each at its place in the runbook.

use std::collections::BTreeSet;

use cairn_lang::{ArgValue, Diagnostic, SourceFile, Step, Template, did_you_mean};
use serde_json::Value;

use super::Resolved;
use crate::schema::{self, Checked, Problem, ProblemKind};

/// The problems of `step`'s arguments as diagnostics. `render` gives a
/// template's value when it is known before the run.
pub(super) fn check_step(
    step: &Step,
    file: &SourceFile,
    resolved: &Resolved,
    render: &dyn Fn(&Template) -> Option<Value>,
) -> Vec<Diagnostic> {
    let d = &resolved.plugin.description;
    let Some(schema) = schema::for_action(&d.args_schema, &resolved.action) else {
        return Vec::new();
    };
    let mut args = Checked::default();
    args.value = known_value(&step.args, "", render, &mut args.unknown);
    let what = format!("`{} {}`", resolved.plugin.name, resolved.action);
    schema::check(&schema, &args)
        .into_iter()
        .map(|p| diagnostic(step, file, &what, p))
        .collect()
}

/// The arguments as JSON, each template rendered where it is known; the
/// paths of the others go to `unknown`.
fn known_value(
    v: &ArgValue,
    path: &str,
    render: &dyn Fn(&Template) -> Option<Value>,
    unknown: &mut BTreeSet<String>,
) -> Value {
    match v {
        ArgValue::String(t) => match render(&t.value) {
            // A param left empty stands for "not set" to the stock plugins
            // (`project "{{ params.project }}"`): not checked.
            Some(Value::String(s)) if s.is_empty() && t.value.refs().next().is_some() => {
                unknown.insert(path.to_string());
                Value::String(s)
            }
            // A literal renders to itself.
            Some(v) => v,
            None => {
                unknown.insert(path.to_string());
                Value::String(t.value.to_string())
            }
        },
        ArgValue::List(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| known_value(x, &format!("{path}[{i}]"), render, unknown))
                .collect(),
        ),
        ArgValue::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, x)| {
                    let at = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    (k.clone(), known_value(x, &at, render, unknown))
                })
                .collect(),
        ),
        other => other.as_written(),
    }
}

fn diagnostic(step: &Step, file: &SourceFile, what: &str, p: Problem) -> Diagnostic {
    let id = &step.id;
    let spans = &step.arg_spans;
    match p.kind {
        ProblemKind::Unknown { name, allowed } => {
            let span = spans.key(&p.path).unwrap_or(step.id_span);
            let d = Diagnostic::at(
                file,
                span,
                format!("step `{id}`: unknown argument `{}` for {what}", p.path),
            )
            .with_label("unknown argument");
            match did_you_mean(&name, allowed.iter().map(String::as_str)) {
                Some(best) => d.with_help(format!("did you mean `{best}`?")),
                None if allowed.is_empty() => {
                    d.with_help(format!("{what} takes no arguments here"))
                }
                None => d.with_help(format!("{what} takes: {}", quoted(&allowed))),
            }
        }
        ProblemKind::Missing { name, help } => {
            let full = if p.path.is_empty() {
                name.clone()
            } else {
                format!("{}.{name}", p.path)
            };
            let span = if p.path.is_empty() {
                step.id_span
            } else {
                spans.key(&p.path).unwrap_or(step.id_span)
            };
            let d = Diagnostic::at(
                file,
                span,
                format!("step `{id}` lacks the argument `{full}`, which {what} requires"),
            )
            .with_label(format!("`{name}` missing"));
            match help {
                Some(h) => d.with_help(format!(
                    "`{name}`: {}",
                    h.split_whitespace().collect::<Vec<_>>().join(" ")
                )),
                None => d,
            }
        }
        ProblemKind::Type { expected, got } => {
            let span = spans.value(&p.path).unwrap_or(step.id_span);
            Diagnostic::at(
                file,
                span,
                format!(
                    "step `{id}`: argument `{}` must be {expected}, not {got}",
                    p.path
                ),
            )
            .with_label("wrong type")
        }
        ProblemKind::Enum { got, allowed } => {
            let span = spans.value(&p.path).unwrap_or(step.id_span);
            let d = Diagnostic::at(
                file,
                span,
                format!(
                    "step `{id}`: argument `{}` is `{got}`; {what} takes {}",
                    p.path,
                    either(&allowed)
                ),
            )
            .with_label("not an allowed value");
            match did_you_mean(&got, allowed.iter().map(String::as_str)) {
                Some(best) => d.with_help(format!("did you mean `{best}`?")),
                None => d,
            }
        }
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn either(names: &[String]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match q.as_slice() {
        [] => "nothing".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
