//! Strings with `{{ ref }}` references: parsing (with spans into the file)
//! and rendering against a [`Resolver`].

use std::fmt;

use serde_json::Value;

use crate::Resolver;
use crate::diagnostics::Problem;
use crate::model::{Part, Ref, Scope, Template};
use crate::reference::parse_ref;
use crate::strspan::StrSpans;

/// A reference had no value when a template was rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    #[error("`{reference}` has no value: {reason}")]
    NoValue { reference: String, reason: String },
}

impl RenderError {
    pub(crate) fn no_value(r: &Ref) -> Self {
        let name = r.path.first().map(String::as_str).unwrap_or_default();
        let reason = match r.scope {
            Scope::Params => format!("param `{name}` was not set and has no default"),
            Scope::Steps if r.path.get(1).is_some_and(|p| p == "status") => {
                format!("step `{name}` has not run")
            }
            Scope::Steps => match r.path.get(2..).filter(|k| !k.is_empty()) {
                Some(key) => format!(
                    "step `{name}` did not run or returned no `{}`",
                    key.join(".")
                ),
                None => format!("step `{name}` did not run"),
            },
            Scope::Secrets => format!("secret `{name}` is not set in any secrets source"),
            Scope::Run | Scope::Target | Scope::Project => {
                format!("`{r}` is not known in this run")
            }
        };
        RenderError::NoValue {
            reference: r.to_string(),
            reason,
        }
    }
}

impl Template {
    /// A template with no references.
    pub fn literal(s: impl Into<String>) -> Self {
        let s = s.into();
        Template {
            parts: if s.is_empty() {
                vec![]
            } else {
                vec![Part::Lit(s)]
            },
        }
    }

    /// The references it holds, in order.
    pub fn refs(&self) -> impl Iterator<Item = &Ref> {
        self.parts.iter().filter_map(|p| match p {
            Part::Ref(r) => Some(r),
            Part::Lit(_) => None,
        })
    }

    /// The text when the template holds no reference.
    pub fn as_literal(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => s.push_str(l),
                Part::Ref(_) => return None,
            }
        }
        Some(s)
    }
}

/// Writes the template back in the syntax it was parsed from.
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.parts {
            match p {
                Part::Lit(l) => f.write_str(&l.replace("{{", "{{ '{{' }}"))?,
                Part::Ref(r) => write!(f, "{{{{ {r} }}}}")?,
            }
        }
        Ok(())
    }
}

/// Parses `value`; `spans` places its bytes in the file. Every malformed
/// reference is reported, not only the first.
pub(crate) fn parse_template(value: &str, spans: &StrSpans) -> Result<Template, Vec<Problem>> {
    let mut parts: Vec<Part> = Vec::new();
    let mut problems = Vec::new();
    let mut lit = String::new();
    let mut rest_at = 0;
    while let Some(found) = value[rest_at..].find("{{") {
        let open = rest_at + found;
        lit.push_str(&value[rest_at..open]);
        let inner_at = open + 2;
        let inner = &value[inner_at..];
        let lead = inner.len() - inner.trim_start().len();
        let body_at = inner_at + lead;
        // `{{ '{{' }}` writes a literal: a quoted string inside the braces.
        if let Some(q) = value[body_at..]
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
        {
            let closing = value[body_at + 1..].find(q).map(|i| body_at + 1 + i);
            let after =
                closing.map(|c| c + 1 + value[c + 1..].len() - value[c + 1..].trim_start().len());
            if let (Some(c), Some(a)) = (closing, after)
                && value[a..].starts_with("}}")
            {
                lit.push_str(&value[body_at + 1..c]);
                rest_at = a + 2;
                continue;
            }
        }
        let Some(close) = value[inner_at..].find("}}").map(|i| inner_at + i) else {
            problems.push(
                Problem::new(spans.span(open..open + 2), "unclosed `{{` in string").with_help(
                    "close the reference with `}}`, or write a literal `{{` as `{{ '{{' }}`",
                ),
            );
            rest_at = value.len();
            break;
        };
        let text = value[inner_at..close].trim();
        if text.is_empty() {
            problems.push(
                Problem::new(spans.span(open..close + 2), "empty reference `{{ }}`")
                    .with_help("write a reference such as `{{ params.NAME }}`"),
            );
        } else {
            let span = spans.span(body_at..body_at + text.len());
            match parse_ref(text, span) {
                Ok(r) => {
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Ref(r));
                }
                Err(p) => problems.push(p),
            }
        }
        rest_at = close + 2;
    }
    lit.push_str(&value[rest_at..]);
    if !lit.is_empty() {
        parts.push(Part::Lit(lit));
    }
    if problems.is_empty() {
        Ok(Template { parts })
    } else {
        Err(problems)
    }
}

/// Renders a template. One that is exactly one `{{ ref }}` keeps the JSON
/// type of the value; otherwise the result is a string in which strings are
/// inserted raw and other values as JSON.
pub fn render_template(t: &Template, r: &dyn crate::Resolver) -> Result<Value, RenderError> {
    if let [Part::Ref(one)] = t.parts.as_slice() {
        return lookup(one, r);
    }
    let mut out = String::new();
    for p in &t.parts {
        match p {
            Part::Lit(l) => out.push_str(l),
            Part::Ref(reference) => out.push_str(&stringify(&lookup(reference, r)?)),
        }
    }
    Ok(Value::String(out))
}

fn lookup(reference: &Ref, r: &dyn Resolver) -> Result<Value, RenderError> {
    r.lookup(reference)
        .ok_or_else(|| RenderError::no_value(reference))
}

/// A value as text: strings raw, everything else as JSON.
pub(crate) fn stringify(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    /// A resolver over `dotted.name -> value`.
    pub(crate) struct Map(pub BTreeMap<String, Value>);

    impl Resolver for Map {
        fn lookup(&self, r: &Ref) -> Option<Value> {
            self.0.get(&r.to_string()).cloned()
        }
    }

    pub(crate) fn map(pairs: &[(&str, Value)]) -> Map {
        Map(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect())
    }

    fn parse(s: &str) -> Template {
        let quoted = format!("{s:?}");
        parse_template(s, &StrSpans::new(s, &quoted, 0)).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    fn problems(s: &str) -> Vec<Problem> {
        let quoted = format!("{s:?}");
        parse_template(s, &StrSpans::new(s, &quoted, 0)).unwrap_err()
    }

    #[test]
    fn splits_literals_and_references() {
        let t = parse("pull origin {{ params.branch }}!");
        assert_eq!(t.parts.len(), 3);
        assert_eq!(t.to_string(), "pull origin {{ params.branch }}!");
        let Part::Ref(r) = &t.parts[1] else { panic!() };
        // `"pull origin {{ params.branch }}!"`: the name starts at 16.
        assert_eq!((r.span.offset(), r.span.len()), (16, 13));
        assert_eq!(parse("{{params.a}}").refs().count(), 1);
        assert_eq!(
            parse("no refs }} here").as_literal().as_deref(),
            Some("no refs }} here")
        );
    }

    #[test]
    fn quoted_braces_are_literal() {
        let t = parse("docker ps --format {{ '{{' }}.Names}}");
        assert_eq!(
            t.as_literal().as_deref(),
            Some("docker ps --format {{.Names}}")
        );
        assert_eq!(t.to_string(), "docker ps --format {{ '{{' }}.Names}}");
    }

    #[test]
    fn reports_every_malformed_reference() {
        let p = problems("{{ }} and {{ nope.x }} and {{ params.a");
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].message, "empty reference `{{ }}`");
        assert!(p[1].message.starts_with("unknown scope `nope`"));
        assert_eq!(p[2].message, "unclosed `{{` in string");
        assert_eq!((p[2].span.offset(), p[2].span.len()), (28, 2));
    }

    #[test]
    fn a_lone_reference_keeps_its_type() {
        let r = map(&[("steps.a.outputs.n", json!(3)), ("params.b", json!("main"))]);
        assert_eq!(
            render_template(&parse("{{ steps.a.outputs.n }}"), &r),
            Ok(json!(3))
        );
        assert_eq!(
            render_template(&parse("n={{ steps.a.outputs.n }}"), &r),
            Ok(json!("n=3"))
        );
        assert_eq!(
            render_template(&parse("{{params.b}}/x"), &r),
            Ok(json!("main/x"))
        );
        assert_eq!(render_template(&parse(""), &r), Ok(json!("")));
    }

    #[test]
    fn a_missing_value_is_an_error_naming_it() {
        let e =
            render_template(&parse("{{ steps.revision.outputs.stdout }}"), &map(&[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`steps.revision.outputs.stdout` has no value: step `revision` did not run or returned no `stdout`"
        );
        let e = render_template(&parse("x {{ params.a }}"), &map(&[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`params.a` has no value: param `a` was not set and has no default"
        );
    }
}
