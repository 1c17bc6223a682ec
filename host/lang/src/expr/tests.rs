//! Tests of `when` expressions.

use serde_json::json;

use super::*;
use crate::template::tests::map;

fn parse(s: &str) -> Result<Expr, Problem> {
    let quoted = format!("{s:?}");
    parse_expr(s, &StrSpans::new(s, &quoted, 0))
}

fn when(s: &str, vals: &[(&str, Value)]) -> bool {
    eval_when(
        &parse(s).unwrap_or_else(|e| panic!("{s}: {}", e.message)),
        &map(vals),
    )
}

#[test]
fn a_lone_reference_with_or_without_braces() {
    assert!(matches!(
        parse("{{ steps.a.outputs.count }}"),
        Ok(Expr::Ref(_))
    ));
    assert!(matches!(parse("steps.a.outputs.count"), Ok(Expr::Ref(_))));
    let v = [("steps.a.outputs.count", json!(2))];
    assert!(when("{{ steps.a.outputs.count }}", &v));
    assert!(!when(
        "{{ steps.a.outputs.count }}",
        &[("steps.a.outputs.count", json!(0))]
    ));
    assert!(!when("steps.missing.outputs.x", &[]));
}

#[test]
fn falsy_values() {
    for v in [
        json!(""),
        json!(0),
        json!(false),
        json!(null),
        json!([]),
        json!("0"),
        json!("false"),
    ] {
        assert!(!when("params.x", &[("params.x", v.clone())]), "{v} is true");
    }
    for v in [json!("no"), json!(1), json!(true), json!(["a"]), json!({})] {
        assert!(when("params.x", &[("params.x", v.clone())]), "{v} is false");
    }
}

#[test]
fn operators_and_precedence() {
    let v = [("params.env", json!("prod")), ("params.n", json!(3))];
    assert!(when("params.env == 'prod'", &v));
    assert!(when("{{ params.env }} != \"staging\"", &v));
    assert!(when("params.n == 3 && !(params.env == 'dev')", &v));
    assert!(when("params.n == '3'", &v));
    assert!(when("false || params.n == 3.0", &v));
    assert!(!when("!params.env || false", &v));
    assert!(when("true || false && false", &v));
    assert!(when("-1 != 1", &v));
    let e = parse("!{{ params.a }} || params.b == 'x' && true").unwrap();
    assert_eq!(e.to_string(), "(!params.a || ((params.b == 'x') && true))");
}

#[test]
fn errors_point_at_the_column() {
    let e = parse("params.a == ").unwrap_err();
    assert_eq!(
        e.message,
        "expected a value at the end of the `when` expression"
    );
    assert_eq!(e.span.offset(), 13);
    let e = parse("(params.a").unwrap_err();
    assert_eq!(e.message, "expected `)` in `when` expression");
    let e = parse("params.a = 1").unwrap_err();
    assert_eq!(
        (e.message.as_str(), e.span.offset()),
        ("unexpected `=` in `when` expression", 10)
    );
    assert!(parse("a == b == c").is_err());
    assert!(parse("params.a params.b").is_err());
    assert!(
        parse("par.a")
            .unwrap_err()
            .message
            .starts_with("unknown scope")
    );
    assert!(parse("'open").is_err());
    assert!(parse("").is_err());
}

#[test]
fn nesting_and_operators_are_bounded_before_recursion() {
    let nested = |n: usize| format!("{}true{}", "(".repeat(n), ")".repeat(n));
    assert!(when(&nested(MAX_EXPR_DEPTH), &[]));
    let e = parse(&nested(MAX_EXPR_DEPTH + 1)).unwrap_err();
    assert!(
        e.message.contains("nests more than 32 levels"),
        "{}",
        e.message
    );
    assert_eq!(e.span.offset(), 1 + MAX_EXPR_DEPTH, "at the 33rd `(`");
    // Far past the limit: an error, not a stack overflow.
    assert!(parse(&nested(100_000)).is_err());
    assert!(parse(&"!".repeat(100_000)).is_err());
    assert!(when(&format!("{}true", "!".repeat(MAX_EXPR_DEPTH)), &[]));
    let chain = |n: usize| vec!["true"; n + 1].join(" && ");
    assert!(when(&chain(MAX_EXPR_OPERATORS), &[]));
    let e = parse(&chain(100_000)).unwrap_err();
    assert!(
        e.message.contains("more than 256 operators"),
        "{}",
        e.message
    );
}
