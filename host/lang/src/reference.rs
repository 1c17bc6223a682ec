//! References such as `params.branch` or `steps.plan.outputs.count`: their
//! syntax and the shape each scope allows.

use std::fmt;

use miette::SourceSpan;

use crate::diagnostics::Problem;
use crate::model::{Ref, Scope};

pub(crate) const SCOPES: [(&str, Scope); 6] = [
    ("params", Scope::Params),
    ("steps", Scope::Steps),
    ("secrets", Scope::Secrets),
    ("run", Scope::Run),
    ("target", Scope::Target),
    ("project", Scope::Project),
];

/// `run.*`: the run's id, its start time (RFC 3339), its mode and the runbook's name.
pub const RUN_KEYS: [&str; 4] = ["id", "started", "mode", "runbook"];
/// `target.*`: the step's target (the implicit `local` one when it names none).
pub const TARGET_KEYS: [&str; 6] = ["name", "kind", "destination", "port", "container", "host"];
/// `project.*`: the project's name and root directory.
pub const PROJECT_KEYS: [&str; 2] = ["name", "root"];

impl Scope {
    pub fn as_str(self) -> &'static str {
        SCOPES
            .iter()
            .find(|(_, s)| *s == self)
            .map(|(n, _)| *n)
            .expect("every scope is listed")
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scope.as_str())?;
        for p in &self.path {
            write!(f, ".{p}")?;
        }
        Ok(())
    }
}

impl Ref {
    /// For `steps.ID...`: the step id.
    pub fn step_id(&self) -> Option<&str> {
        match self.scope {
            Scope::Steps => self.path.first().map(String::as_str),
            _ => None,
        }
    }
}

/// A name as used for runbooks, params, steps, targets and path segments:
/// ASCII letters, digits, `-` and `_`.
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses the text of a reference (already trimmed); `span` is where it is written.
pub(crate) fn parse_ref(text: &str, span: SourceSpan) -> Result<Ref, Problem> {
    let mut segments = text.split('.');
    let scope_name = segments.next().unwrap_or_default();
    let path: Vec<String> = segments.map(str::to_owned).collect();
    let Some(&(_, scope)) = SCOPES.iter().find(|(n, _)| *n == scope_name) else {
        return Err(Problem::new(
            span,
            format!("unknown scope `{scope_name}` in reference `{text}`"),
        )
        .suggest(scope_name, SCOPES.iter().map(|(n, _)| *n))
        .or_help(
            "references start with `params`, `steps`, `secrets`, `run`, `target` or `project`",
        ));
    };
    if let Some(bad) = path.iter().find(|p| !is_name(p)) {
        let what = if bad.is_empty() {
            "an empty name".to_owned()
        } else {
            format!("`{bad}`")
        };
        return Err(Problem::new(
            span,
            format!("invalid reference `{text}`: {what} is not a name"),
        )
        .with_help("names are made of letters, digits, `-` and `_`, joined by `.`"));
    }
    let shape = |usage: &str| {
        Problem::new(span, format!("invalid reference `{text}`"))
            .with_help(format!("write {usage}"))
    };
    let keyed = |keys: &[&'static str]| -> Result<(), Problem> {
        match path.as_slice() {
            [k] if keys.contains(&k.as_str()) => Ok(()),
            [k] => Err(Problem::new(span, format!("unknown key `{k}` in `{text}`"))
                .suggest(k, keys.iter().copied())
                .or_help(format!("`{scope_name}` has {}", list(keys)))),
            _ => Err(shape(&format!(
                "`{scope_name}.KEY`, where KEY is {}",
                list(keys)
            ))),
        }
    };
    match scope {
        Scope::Params | Scope::Secrets if path.len() != 1 => {
            return Err(shape(&format!("`{scope_name}.NAME`")));
        }
        Scope::Steps => match path.as_slice() {
            [_, o, ..] if o == "outputs" => {}
            [_, s] if s == "status" => {}
            _ => return Err(shape("`steps.ID.outputs.KEY` or `steps.ID.status`")),
        },
        Scope::Run => keyed(&RUN_KEYS)?,
        Scope::Target => keyed(&TARGET_KEYS)?,
        Scope::Project => keyed(&PROJECT_KEYS)?,
        _ => {}
    }
    Ok(Ref { scope, path, span })
}

fn list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl Problem {
    fn or_help(self, help: impl Into<String>) -> Self {
        if self.help.is_some() {
            self
        } else {
            self.with_help(help)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Ref {
        parse_ref(text, (0, 0).into()).unwrap_or_else(|e| panic!("{text}: {}", e.message))
    }

    fn err(text: &str) -> Problem {
        parse_ref(text, (0, 0).into()).unwrap_err()
    }

    #[test]
    fn accepts_every_scope() {
        let r = ok("steps.plan-migrations.outputs.count");
        assert_eq!(r.scope, Scope::Steps);
        assert_eq!(r.path, ["plan-migrations", "outputs", "count"]);
        assert_eq!(r.to_string(), "steps.plan-migrations.outputs.count");
        assert_eq!(r.step_id(), Some("plan-migrations"));
        ok("steps.x.status");
        ok("steps.x.outputs");
        ok("steps.x.outputs.items.0");
        ok("params.site-url");
        ok("secrets.db_password");
        ok("run.id");
        ok("target.destination");
        ok("project.root");
    }

    #[test]
    fn rejects_bad_shapes_with_hints() {
        let e = err("param.x");
        assert_eq!(e.message, "unknown scope `param` in reference `param.x`");
        assert_eq!(e.help.as_deref(), Some("did you mean `params`?"));
        assert_eq!(err("run.idd").help.as_deref(), Some("did you mean `id`?"));
        assert!(err("steps.x").message.contains("invalid reference"));
        assert!(
            err("steps.x.output.a")
                .message
                .contains("invalid reference")
        );
        assert!(err("params.a.b").message.contains("invalid reference"));
        assert!(err("params..a").message.contains("not a name"));
        assert!(err("params.a b").message.contains("not a name"));
    }
}
