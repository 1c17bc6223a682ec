//! `limits { max-dns-changes 5; max-servers-down 1 }`: how much one run of
//! a runbook may change, counted across the whole run by the engine against
//! what each plugin action declares it counts (docs/runbook-language.md,
//! "Guardrails").

use kdl::{KdlNode, KdlValue};

use crate::decode::{
    args, check_arg_count, check_no_children, check_props, children, name, name_span, value_span,
};
use crate::diagnostics::Report;
use crate::model::{RunLimit, Spanned};

/// The limits a runbook may declare, each with the counter plugins count
/// against (`max-dns-changes` is counted as `dns-changes`).
pub const KNOWN_LIMITS: [(&str, &str); 2] = [
    (
        "max-dns-changes",
        "DNS records changed (dns-cutover switch and restore count the records they name)",
    ),
    (
        "max-servers-down",
        "load balancer servers taken out of service (haproxy drain and maint count one, ready gives one back)",
    ),
];

const USAGE: &str = "`limits { max-dns-changes 5; max-servers-down 1 }`";

/// Decodes a `limits` block; every mistake is reported with its span.
pub(crate) fn decode_limits(r: &mut Report, node: &KdlNode, out: &mut Vec<RunLimit>) {
    check_props(r, node, "`limits`", &[]);
    check_arg_count(r, node, "`limits`", 0, USAGE);
    let names: Vec<&str> = KNOWN_LIMITS.iter().map(|(n, _)| *n).collect();
    for child in children(node) {
        let n = name(child);
        if !names.contains(&n) {
            crate::decode::unknown_node(r, child, "`limits`", &names);
            continue;
        }
        let what = format!("limit `{n}`");
        check_props(r, child, &what, &[]);
        check_no_children(r, child, &what);
        check_arg_count(r, child, &what, 1, &format!("`{n} 5`"));
        let Some(e) = args(child).next() else {
            r.error(name_span(child), format!("{what} has no value"))
                .hint(format!("write `{n} 5`: the most the run may count"));
            continue;
        };
        let max = match e.value() {
            KdlValue::Integer(v) if (0..=i128::from(u32::MAX)).contains(v) => *v as u64,
            other => {
                r.error(
                    value_span(e),
                    format!(
                        "{what} must be a whole number from 0 to {}, not {}",
                        u32::MAX,
                        shown(other)
                    ),
                )
                .label("expected a count")
                .hint(format!("write it unquoted, e.g. `{n} 5`"));
                continue;
            }
        };
        if let Some(first) = out.iter().find(|l| l.name == n) {
            let _ = first;
            r.error(name_span(child), format!("{what} is given twice"))
                .hint("keep one value");
            continue;
        }
        out.push(RunLimit {
            name: n.to_string(),
            max: Spanned {
                value: max,
                span: value_span(e),
            },
            span: name_span(child),
        });
    }
}

fn shown(v: &KdlValue) -> String {
    match v {
        KdlValue::Integer(n) => n.to_string(),
        other => crate::decode::describe(other).to_string(),
    }
}

/// The counter a limit bounds: `max-dns-changes` → `dns-changes`.
pub fn counter_of(limit: &str) -> &str {
    limit.strip_prefix("max-").unwrap_or(limit)
}
