//! `target NAME { local }`, `{ ssh "user@host" port=22 option="..." }`,
//! `{ docker container=NAME host="unix://..." }`: in `cairn.kdl`, and in a
//! runbook's `rehearsal` block.

use kdl::KdlNode;

use crate::decode::{
    self, check_arg_count, check_no_children, check_props, children, name, name_span,
};
use crate::diagnostics::Report;
use crate::model::{Target, TargetKind};
use crate::reference::is_name;

pub(crate) const TARGET_KINDS: [&str; 3] = ["local", "ssh", "docker"];

/// Decodes a `target` node; `None` when it has errors (all reported).
pub(crate) fn decode_target(r: &mut Report, node: &KdlNode) -> Option<Target> {
    check_props(r, node, "`target`", &[]);
    check_arg_count(r, node, "`target`", 1, "`target NAME { local }`");
    let name_arg = decode::string_arg(r, node, "`target`", "`target NAME { local }`")?;
    let what = format!("target `{}`", name_arg.value);
    if !is_name(&name_arg.value) {
        bad_name(r, name_arg.span, "target", &name_arg.value);
    }
    let kinds = children(node);
    let Some(first) = kinds.first() else {
        r.error(name_span(node), format!("{what} has no kind"))
            .hint(format!("write `target {} {{ local }}`, `{{ ssh \"user@host\" }}` or `{{ docker container=NAME }}`", name_arg.value));
        return None;
    };
    for extra in &kinds[1..] {
        r.error(name_span(extra), format!("{what} has more than one kind"))
            .hint("a target is one of `local`, `ssh` or `docker`");
    }
    let kind = decode_kind(r, first, &what)?;
    (kinds.len() == 1).then_some(Target {
        name: name_arg.value,
        kind,
        span: name_arg.span,
    })
}

fn decode_kind(r: &mut Report, node: &KdlNode, what: &str) -> Option<TargetKind> {
    let kind = name(node);
    let here = format!("`{kind}` in {what}");
    check_no_children(r, node, &here);
    match kind {
        "local" => {
            check_props(r, node, &here, &[]);
            check_arg_count(r, node, &here, 0, "`local`");
            Some(TargetKind::Local)
        }
        "ssh" => {
            decode::check_props_repeatable(r, node, &here, &["port", "option"], &["option"]);
            check_arg_count(r, node, &here, 1, "`ssh \"user@host\" port=22`");
            let destination = decode::string_arg(r, node, &here, "`ssh \"user@host\"`");
            let port = decode::prop_int(r, node, "port", &here, 1..=65535).map(|p| p.value as u16);
            let mut options = Vec::new();
            for e in decode::props(node).filter(|e| decode::prop_name(e) == "option") {
                match e.value().as_string() {
                    Some(s) => options.push(s.to_owned()),
                    None => {
                        r.error(
                            decode::value_span(e),
                            format!("`option` on {here} must be a string"),
                        )
                        .hint("write `option=\"StrictHostKeyChecking=yes\"`");
                    }
                }
            }
            Some(TargetKind::Ssh {
                destination: destination?.value,
                port,
                options,
            })
        }
        "docker" => {
            check_props(r, node, &here, &["container", "host"]);
            check_arg_count(r, node, &here, 0, "`docker container=NAME`");
            let container = decode::prop_str(r, node, "container", &here);
            let host = decode::prop_str(r, node, "host", &here).map(|h| h.value);
            if decode::prop(node, "container").is_none() {
                r.error(
                    name_span(node),
                    format!("`docker` in {what} needs `container=`"),
                )
                .hint("write `docker container=NAME`");
            }
            Some(TargetKind::Docker {
                container: container?.value,
                host,
            })
        }
        _ => {
            decode::unknown_node(r, node, what, &TARGET_KINDS);
            None
        }
    }
}

/// Reports a name that can't be used in references or on the command line.
pub(crate) fn bad_name(r: &mut Report, span: miette::SourceSpan, kind: &str, name: &str) {
    r.error(span, format!("invalid {kind} name `{name}`"))
        .hint("names are made of ASCII letters, digits, `-` and `_`");
}
