//! The arguments of a plugin's actions as text (`cairn plugin show`) and
//! as Markdown tables (the generated part of docs/stock-plugins.md).

use std::fmt::Write as _;

use super::{ArgHelp, arguments, for_action};

/// One action as the renderers need it.
#[derive(Debug, Clone)]
pub struct ActionDoc<'a> {
    pub name: &'a str,
    pub summary: &'a str,
    pub is_default: bool,
}

/// Each action's arguments, indented, for a terminal.
pub fn text(actions: &[ActionDoc], args_schema: &str) -> String {
    let mut out = String::new();
    for a in actions {
        let def = if a.is_default { " (default)" } else { "" };
        let _ = writeln!(out, "  {}{def}: {}", a.name, a.summary);
        let Some(schema) = for_action(args_schema, a.name) else {
            let _ = writeln!(out, "    (arguments not declared)");
            continue;
        };
        let args = arguments(&schema);
        if args.is_empty() {
            let _ = writeln!(out, "    (no arguments)");
        }
        for arg in args {
            let _ = writeln!(out, "    {}  {}", arg.name, kind(&arg));
            if !arg.help.is_empty() {
                let _ = writeln!(out, "        {}", arg.help);
            }
        }
    }
    out
}

/// `a string, required` / `an integer, default 3`.
fn kind(a: &ArgHelp) -> String {
    match (&a.default, a.required) {
        (_, true) => format!("{}, required", a.ty),
        (Some(d), false) => format!("{}, default {d}", a.ty),
        (None, false) => a.ty.clone(),
    }
}

/// The Markdown of one plugin: a `###` heading, then per action a table of
/// its arguments.
pub fn markdown(plugin: &str, actions: &[ActionDoc], args_schema: &str) -> String {
    let mut out = format!("### {plugin}\n");
    for a in actions {
        let def = if a.is_default { " (default)" } else { "" };
        let _ = write!(out, "\n`{plugin} {}`{def}: {}\n\n", a.name, cell(a.summary));
        let Some(schema) = for_action(args_schema, a.name) else {
            out.push_str("Arguments not declared.\n");
            continue;
        };
        let args = arguments(&schema);
        if args.is_empty() {
            out.push_str("No arguments.\n");
            continue;
        }
        out.push_str("| argument | type | help |\n| --- | --- | --- |\n");
        for arg in args {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                arg.name,
                cell(&kind(&arg)),
                cell(&arg.help)
            );
        }
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_arguments() {
        let schema = r#"{"actions": {"run": {"type": "object", "required": ["run"],
            "properties": {"run": {"type": "string", "description": "The program."},
                           "tries": {"type": "integer", "default": 3}}}}}"#;
        let actions = [
            ActionDoc {
                name: "run",
                summary: "Run it",
                is_default: true,
            },
            ActionDoc {
                name: "other",
                summary: "a|b",
                is_default: false,
            },
        ];
        assert_eq!(
            text(&actions, schema),
            "  run (default): Run it\n    run  a string, required\n        The program.\n    tries  an integer, default 3\n  other: a|b\n    (arguments not declared)\n"
        );
        let md = markdown("x", &actions, schema);
        assert!(
            md.contains("| `run` | a string, required | The program. |"),
            "{md}"
        );
        assert!(md.contains("`x other`: a\\|b"), "{md}");
    }
}
