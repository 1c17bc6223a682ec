//! `param NAME type= default= required= help=`, and binding `-p key=value`.

use std::collections::BTreeMap;

use kdl::{KdlEntry, KdlNode, KdlValue};
use serde_json::Value;

use crate::decode::{self, check_arg_count, check_no_children, check_props, describe, value_span};
use crate::diagnostics::{Diagnostic, Diagnostics, Report, did_you_mean};
use crate::duration::duration_or_reason;
use crate::model::{Param, ParamType, Runbook};
use crate::reference::is_name;
use crate::target::bad_name;

const PARAM_PROPS: [&str; 4] = ["type", "default", "required", "help"];
const TYPES: [(&str, ParamType); 5] = [
    ("string", ParamType::String),
    ("int", ParamType::Int),
    ("bool", ParamType::Bool),
    ("duration", ParamType::Duration),
    ("list", ParamType::List),
];

impl ParamType {
    pub fn as_str(self) -> &'static str {
        TYPES
            .iter()
            .find(|(_, t)| *t == self)
            .map(|(n, _)| *n)
            .expect("listed")
    }

    fn expected(self) -> &'static str {
        match self {
            ParamType::String => "a string",
            ParamType::Int => "an integer",
            ParamType::Bool => "`true` or `false` (also `yes`/`no`, `1`/`0`)",
            ParamType::Duration => "a duration such as `30s`, `10m` or `1h30m`",
            ParamType::List => "a comma-separated list",
        }
    }
}

/// Decodes a `param` node of a runbook.
pub(crate) fn decode_param(r: &mut Report, node: &KdlNode) -> Option<Param> {
    let usage = "`param NAME type=string default=VALUE`";
    check_props(r, node, "`param`", &PARAM_PROPS);
    check_arg_count(r, node, "`param`", 1, usage);
    check_no_children(r, node, "`param`");
    let name = decode::string_arg(r, node, "`param`", usage)?;
    if !is_name(&name.value) {
        bad_name(r, name.span, "param", &name.value);
    }
    let what = format!("param `{}`", name.value);
    let default = decode::prop(node, "default");
    let ty = match decode::prop_str(r, node, "type", &what) {
        Some(t) => match TYPES.iter().find(|(n, _)| *n == t.value) {
            Some((_, ty)) => *ty,
            None => {
                let d = r
                    .error(t.span, format!("unknown type `{}` for {what}", t.value))
                    .suggest(&t.value, TYPES.iter().map(|(n, _)| *n));
                if d.help.is_none() {
                    d.hint("types: string, int, bool, duration, list");
                }
                return None;
            }
        },
        // Without `type=`, an integer or boolean default gives the type.
        None => match default.map(|e| e.value()) {
            Some(KdlValue::Integer(_)) => ParamType::Int,
            Some(KdlValue::Bool(_)) => ParamType::Bool,
            _ => ParamType::String,
        },
    };
    let required = decode::prop_bool(r, node, "required", &what).unwrap_or(false);
    let help = decode::prop_str(r, node, "help", &what).map(|h| h.value);
    let default = default.and_then(|e| typed_value(r, e, ty, &format!("default of {what}")));
    if required && default.is_some() {
        r.error(name.span, format!("{what} is required and has a default"))
            .hint("a param with a default is optional: drop `required=#true` or the default");
    }
    Some(Param {
        name: name.value,
        ty,
        default,
        required,
        help,
        span: name.span,
    })
}

/// A value written in a runbook (a default, a rehearsal value), checked
/// against `ty` and converted.
pub(crate) fn typed_value(
    r: &mut Report,
    e: &KdlEntry,
    ty: ParamType,
    what: &str,
) -> Option<Value> {
    let span = value_span(e);
    let result = match (ty, e.value()) {
        (ParamType::Int, KdlValue::Integer(n)) => i64::try_from(*n)
            .map(Value::from)
            .map_err(|_| "it is too large".to_owned()),
        (ParamType::Bool, KdlValue::Bool(b)) => Ok(Value::Bool(*b)),
        (ParamType::String | ParamType::Duration | ParamType::List, KdlValue::String(s)) => {
            parse_param_value(ty, s)
        }
        (_, other) => {
            let hint = match ty {
                ParamType::Int => "write it unquoted, e.g. `14`",
                ParamType::Bool => "write `#true` or `#false`",
                ParamType::Duration => "write it quoted, e.g. `\"30s\"`",
                ParamType::List => "write the items in one string: `\"a,b,c\"`",
                ParamType::String => "quote it, or declare the param's `type=`",
            };
            r.error(
                span,
                format!("{what} must be {}, not {}", ty_noun(ty), describe(other)),
            )
            .label(format!("not {}", ty_noun(ty)))
            .hint(hint);
            return None;
        }
    };
    match result {
        Ok(v) => Some(v),
        Err(why) => {
            r.error(span, format!("invalid {what}: {why}"))
                .label("invalid value");
            None
        }
    }
}

fn ty_noun(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String => "a string",
        ParamType::Int => "an integer",
        ParamType::Bool => "a boolean",
        ParamType::Duration => "a duration",
        ParamType::List => "a list",
    }
}

/// Parses a value as given with `-p` (or as a quoted default) by type.
/// Durations keep their text; lists split on `,`, trimming each item and
/// dropping empty ones.
pub fn parse_param_value(ty: ParamType, text: &str) -> Result<Value, String> {
    match ty {
        ParamType::String => Ok(Value::String(text.to_owned())),
        ParamType::Int => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("expected {}", ty.expected())),
        ParamType::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(format!("expected {}", ty.expected())),
        },
        ParamType::Duration => {
            duration_or_reason(text.trim()).map(|_| Value::String(text.trim().to_owned()))
        }
        ParamType::List => Ok(Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        )),
    }
}

/// Binds the runbook's params: `-p` overrides (the last one wins for a name
/// given twice) over defaults. Unknown names, ill-typed values and missing
/// required params are all reported. A param that is neither set nor
/// defaulted has no entry in the map.
pub fn bind_params(
    runbook: &Runbook,
    overrides: &[(String, String)],
) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut out = BTreeMap::new();
    for p in &runbook.params {
        if let Some(d) = &p.default {
            out.insert(p.name.clone(), d.clone());
        }
    }
    for (key, text) in overrides {
        let Some(p) = runbook.params.iter().find(|p| &p.name == key) else {
            let mut d = Diagnostic::new(format!(
                "unknown param `{key}` for runbook `{}`",
                runbook.name
            ));
            let names = runbook.params.iter().map(|p| p.name.as_str());
            d.help = Some(match did_you_mean(key, names.clone()) {
                Some(best) => format!("did you mean `{best}`?"),
                None if runbook.params.is_empty() => "this runbook takes no params".to_owned(),
                None => format!("its params: {}", names.collect::<Vec<_>>().join(", ")),
            });
            diags.push(d);
            continue;
        };
        match parse_param_value(p.ty, text) {
            Ok(v) => {
                out.insert(key.clone(), v);
            }
            Err(why) => diags.push(
                Diagnostic::new(format!("invalid value `{text}` for param `{key}`: {why}"))
                    .with_help(format!("`{key}` is of type `{}`", p.ty.as_str())),
            ),
        }
    }
    for p in &runbook.params {
        if p.required && !out.contains_key(&p.name) {
            let mut d = Diagnostic::new(format!("missing required param `{}`", p.name))
                .with_help(format!("set it with `-p {}=VALUE`", p.name));
            if let Some(h) = &p.help {
                d.help = Some(format!("set it with `-p {}=VALUE` ({h})", p.name));
            }
            diags.push(d);
        }
    }
    diags.into_result(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_parse_by_type() {
        use ParamType::*;
        assert_eq!(parse_param_value(Int, "14"), Ok(json!(14)));
        assert!(parse_param_value(Int, "x").is_err());
        for (t, v) in [
            ("yes", true),
            ("1", true),
            ("TRUE", true),
            ("no", false),
            ("0", false),
            ("false", false),
        ] {
            assert_eq!(parse_param_value(Bool, t), Ok(json!(v)));
        }
        assert!(parse_param_value(Bool, "maybe").is_err());
        assert_eq!(parse_param_value(Duration, "1h30m"), Ok(json!("1h30m")));
        assert!(parse_param_value(Duration, "soon").is_err());
        assert_eq!(
            parse_param_value(List, "a, b,,c "),
            Ok(json!(["a", "b", "c"]))
        );
        assert_eq!(parse_param_value(List, ""), Ok(json!([])));
        assert_eq!(parse_param_value(String, " x "), Ok(json!(" x ")));
    }
}
