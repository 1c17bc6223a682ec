//! `group NAME { target a; group b }` in `cairn.kdl`: decoding, then the
//! checks that need the whole project (members exist, no cycle, no name
//! both a target and a group).

use kdl::KdlNode;

use crate::decode::{
    self, check_arg_count, check_no_children, check_props, children, name, name_span,
};
use crate::diagnostics::Report;
use crate::model::Project;
use crate::model::{Group, GroupEntry};
use crate::reference::is_name;
use crate::target::bad_name;

const USAGE: &str = "`group NAME { target a; target b }`";

/// Decodes a `group` node; `None` when it has errors (all reported).
pub(crate) fn decode_group(r: &mut Report, node: &KdlNode) -> Option<Group> {
    check_props(r, node, "`group`", &[]);
    check_arg_count(r, node, "`group`", 1, USAGE);
    let n = decode::string_arg(r, node, "`group`", USAGE)?;
    if !is_name(&n.value) {
        bad_name(r, n.span, "group", &n.value);
    }
    let what = format!("group `{}`", n.value);
    let mut entries = Vec::new();
    for child in children(node) {
        let kind = name(child);
        if !matches!(kind, "target" | "group") {
            decode::unknown_node(r, child, &what, &["target", "group"]);
            continue;
        }
        let here = format!("`{kind}` in {what}");
        check_props(r, child, &here, &[]);
        check_no_children(r, child, &here);
        check_arg_count(r, child, &here, 1, &format!("`{kind} NAME`"));
        if let Some(m) = decode::string_arg(r, child, &here, &format!("`{kind} NAME`")) {
            if entries.iter().any(|e: &GroupEntry| e.name == m.value) {
                r.error(m.span, format!("`{}` is listed twice in {what}", m.value));
                continue;
            }
            entries.push(GroupEntry {
                name: m.value,
                is_group: kind == "group",
                span: m.span,
            });
        }
    }
    if entries.is_empty() {
        r.error(name_span(node), format!("{what} has no members"))
            .hint(format!(
                "write `group {} {{ target app1; target app2 }}`",
                n.value
            ));
    }
    Some(Group {
        name: n.value,
        entries,
        span: n.span,
    })
}

/// Members name targets and groups of the project; no name is both; a
/// group does not contain itself.
pub(crate) fn check_groups(r: &mut Report, p: &Project) {
    for g in p.groups.values() {
        if p.targets.contains_key(&g.name) {
            r.error(g.span, format!("`{}` is both a target and a group", g.name))
                .label("group")
                .hint("give the group another name: a step's `target=` names one or the other");
        }
        for e in &g.entries {
            let known = if e.is_group {
                p.groups.contains_key(&e.name)
            } else {
                p.targets.contains_key(&e.name)
            };
            if !known {
                let kind = if e.is_group { "group" } else { "target" };
                let names: Vec<&str> = if e.is_group {
                    p.groups.keys().map(String::as_str).collect()
                } else {
                    p.targets.keys().map(String::as_str).collect()
                };
                r.error(
                    e.span,
                    format!(
                        "group `{}` lists {kind} `{}`, which the project does not define",
                        g.name, e.name
                    ),
                )
                .suggest(&e.name, names);
            }
        }
        if let Some(path) = cycle_from(p, &g.name, &mut Vec::new()) {
            r.error(
                g.span,
                format!("group `{}` contains itself: {}", g.name, path.join(" → ")),
            )
            .hint("a group may list other groups, but not one that lists it back");
        }
    }
}

/// A path of groups from `name` back to the group `stack` starts with.
fn cycle_from<'a>(p: &'a Project, name: &'a str, stack: &mut Vec<&'a str>) -> Option<Vec<String>> {
    if stack.first() == Some(&name) {
        let mut path: Vec<String> = stack.iter().map(|s| (*s).to_owned()).collect();
        path.push(name.to_owned());
        return Some(path);
    }
    if stack.contains(&name) {
        return None; // a cycle that does not pass through the first group
    }
    let g = p.groups.get(name)?;
    stack.push(name);
    for e in g.entries.iter().filter(|e| e.is_group) {
        if let Some(path) = cycle_from(p, &e.name, stack) {
            return Some(path);
        }
    }
    stack.pop();
    None
}
