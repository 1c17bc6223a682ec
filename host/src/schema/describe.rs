//! Schemas described for people: the type of an argument in a few words,
//! and the table of an action's arguments (`cairn plugin show`, the
//! generated tables of docs/stock-plugins.md).

use serde_json::Value;

/// One argument of an action, as shown to people.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgHelp {
    pub name: String,
    /// Its type in words (`a string or a list of strings`).
    pub ty: String,
    pub required: bool,
    /// The default, as JSON text, when the schema gives one.
    pub default: Option<String>,
    /// The help text (the doc comment of the field).
    pub help: String,
}

/// The arguments of an object schema: the required ones first, each group
/// by name.
pub fn arguments(schema: &Value) -> Vec<ArgHelp> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut all: Vec<ArgHelp> = props
        .iter()
        .map(|(name, p)| ArgHelp {
            name: name.clone(),
            ty: describe_type(p),
            required: required.contains(&name.as_str()),
            default: p
                .get("default")
                .filter(|d| !d.is_null())
                .map(Value::to_string),
            help: p
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    all.sort_by(|a, b| (!a.required, &a.name).cmp(&(!b.required, &b.name)));
    all
}

/// The type of a schema in words: `a string`, `an integer from 0 to 65535`,
/// `` `read` or `write` ``, `a string or a list of strings`.
pub fn describe_type(schema: &Value) -> String {
    let Some(s) = schema.as_object() else {
        return "anything".into();
    };
    let values: Option<Vec<&Value>> = s.get("const").map(|c| vec![c]).or_else(|| {
        s.get("enum")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
    });
    if let Some(values) = values {
        let shown: Vec<String> = values.iter().map(|v| format!("`{}`", text(v))).collect();
        return either(&shown);
    }
    if let Some(branches) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        let mut words: Vec<String> = Vec::new();
        for b in branches {
            let w = describe_type(b);
            if !words.contains(&w) {
                words.push(w);
            }
        }
        return either(&words);
    }
    if s.get("format").and_then(Value::as_str) == Some("duration") {
        return "a duration (`30s`, `1500ms`, `1h30m`)".into();
    }
    let types: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => return "anything".into(),
    };
    let words: Vec<String> = types.iter().map(|t| one_type(t, s)).collect();
    either(&words)
}

fn one_type(t: &str, s: &serde_json::Map<String, Value>) -> String {
    match t {
        "string" => "a string".into(),
        "boolean" => "`#true` or `#false`".into(),
        "integer" | "number" => {
            let word = if t == "integer" {
                "an integer"
            } else {
                "a number"
            };
            let low = s.get("minimum").and_then(Value::as_f64);
            let high = s.get("maximum").and_then(Value::as_f64);
            match (low, high) {
                (Some(l), Some(h)) => format!("{word} from {l} to {h}"),
                (Some(l), None) => format!("{word} ≥ {l}"),
                (None, Some(h)) => format!("{word} ≤ {h}"),
                (None, None) => word.into(),
            }
        }
        "array" => match s.get("items") {
            Some(item) => format!("a list of {}", plural(&describe_type(item))),
            None => "a list".into(),
        },
        "object" => match s.get("additionalProperties") {
            Some(extra @ Value::Object(_)) if s.get("properties").is_none() => {
                format!("`NAME=VALUE` pairs (each {})", describe_type(extra))
            }
            _ => "an object".into(),
        },
        "null" => "`#null`".into(),
        other => other.into(),
    }
}

/// `a string` → `strings`, `an integer from 0 to 9` → `integers from 0
/// to 9`, for `a list of ...`.
fn plural(words: &str) -> String {
    for (one, many) in [
        ("a string", "strings"),
        ("an integer", "integers"),
        ("a number", "numbers"),
        ("an object", "objects"),
        ("a duration", "durations"),
    ] {
        if let Some(rest) = words.strip_prefix(one) {
            return format!("{many}{rest}");
        }
    }
    words.to_string()
}

fn either(words: &[String]) -> String {
    match words {
        [] => "nothing".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_in_words() {
        let d = |v: Value| describe_type(&v);
        assert_eq!(d(json!({"type": "string"})), "a string");
        assert_eq!(d(json!({"type": ["string", "null"]})), "a string");
        assert_eq!(d(json!({"enum": ["read", "write"]})), "`read` or `write`");
        assert_eq!(
            d(
                json!({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
            ),
            "a string or a list of strings"
        );
        assert_eq!(
            d(json!({"type": "integer", "minimum": 0, "maximum": 65535})),
            "an integer from 0 to 65535"
        );
        assert_eq!(
            d(json!({"type": "string", "format": "duration"})),
            "a duration (`30s`, `1500ms`, `1h30m`)"
        );
    }

    #[test]
    fn the_arguments_of_an_object() {
        let s = json!({
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "description": "The URL\nto fetch."},
                "tries": {"type": "integer", "default": 3},
                "a": {"type": "string"}
            }
        });
        let a = arguments(&s);
        assert_eq!(a[0].name, "url");
        assert!(a[0].required);
        assert_eq!(a[0].help, "The URL to fetch.");
        assert_eq!(a[1].name, "a");
        assert_eq!(a[2].default.as_deref(), Some("3"));
    }
}
