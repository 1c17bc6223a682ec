use serde_json::json;

use super::*;

fn problems(schema: Value, value: Value) -> Vec<Problem> {
    check(
        &schema,
        &Checked {
            value,
            unknown: BTreeSet::new(),
        },
    )
}

fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "description": "The URL."},
            "effect": {"type": "string", "enum": ["read", "write"]},
            "timeout": {"type": ["string", "null"], "format": "duration"},
            "status": {"anyOf": [
                {"type": "integer", "minimum": 0, "maximum": 65535},
                {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 65535}}
            ]},
            "verbose": {"type": "boolean"},
            "expect": {
                "type": "object",
                "additionalProperties": false,
                "properties": {"body": {"type": "string"}}
            },
            "env": {"type": "object", "additionalProperties": {"type": "string"}},
            "database-url": {"type": "string", "x-aliases": ["database"]}
        }
    })
}

#[test]
fn a_good_step_has_no_problem_with_the_sdk_s_leniency() {
    let p = problems(
        schema(),
        json!({
            "url": "http://x/", "effect": "read", "timeout": "1h 30m",
            "status": ["200", 204], "verbose": "true", "expect": {"body": "ok"},
            "env": {"PORT": 8080}, "database": "db"
        }),
    );
    assert_eq!(p, []);
}

#[test]
fn unknown_missing_type_and_enum_problems() {
    let p = problems(
        schema(),
        json!({"stauts": 200, "effect": "wirte", "timeout": "soon", "status": [200, "x"], "expect": {"bdy": "x"}}),
    );
    let at = |path: &str| {
        &p.iter()
            .find(|p| p.path == path)
            .unwrap_or_else(|| panic!("no problem at `{path}`: {p:?}"))
            .kind
    };
    assert!(matches!(at("stauts"), ProblemKind::Unknown { name, .. } if name == "stauts"));
    assert!(
        matches!(at("effect"), ProblemKind::Enum { got, allowed } if got == "wirte" && allowed.len() == 2)
    );
    assert!(matches!(at("timeout"), ProblemKind::Type { got, .. } if got == "\"soon\""));
    assert!(
        matches!(at("status[1]"), ProblemKind::Type { expected, .. } if expected == "an integer from 0 to 65535")
    );
    assert!(matches!(at("expect.bdy"), ProblemKind::Unknown { .. }));
    assert!(
        matches!(at(""), ProblemKind::Missing { name, help } if name == "url" && help.as_deref() == Some("The URL."))
    );
    assert_eq!(p.len(), 6, "{p:?}");
}

#[test]
fn template_values_not_known_yet_are_not_checked() {
    let mut unknown = BTreeSet::new();
    unknown.insert("status".to_string());
    let p = check(
        &schema(),
        &Checked {
            value: json!({"url": "u", "status": "{{ steps.a.outputs.code }}"}),
            unknown,
        },
    );
    assert_eq!(p, []);
}

#[test]
fn out_of_range_and_wrong_shapes() {
    let p = problems(
        schema(),
        json!({"url": ["a", "b"], "status": 70000, "verbose": "yes", "timeout": 5}),
    );
    assert_eq!(p.len(), 4, "{p:?}");
    let url = p.iter().find(|p| p.path == "url").expect("url");
    assert!(
        matches!(&url.kind, ProblemKind::Type { expected, got } if expected == "a string" && got == "a list")
    );
    assert!(
        p.iter().any(|p| p.path == "timeout"),
        "a bare number is no duration"
    );
}

#[test]
fn an_empty_or_unknown_schema_accepts_anything() {
    assert_eq!(problems(json!({}), json!({"a": 1})), []);
    assert_eq!(problems(json!({"x-other": 1}), json!({"a": 1})), []);
}
