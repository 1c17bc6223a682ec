//! `cairn plugin new NAME [--lang rust|python]`: a plugin that builds, with
//! one action, its args schema, unit tests against a mock host, a runbook
//! that uses it and the grant it needs in `cairn.kdl`.

use super::scaffold;
use super::{Lang, plugins_dir, rel};
use crate::cli::commands::print_json;
use crate::error::{Error, ExitCode, Result};
use crate::project::Workspace;

pub(in crate::cli::commands) fn plugin_new(
    ws: &Workspace,
    name: &str,
    lang: Lang,
    json_out: bool,
) -> Result<ExitCode> {
    ws.require_project("cairn plugin new")?;
    scaffold::check_name(name).map_err(Error::Usage)?;
    let root = &ws.project.root;
    let dir = plugins_dir(ws).join(name);
    if dir.exists() {
        return Err(Error::Usage(format!(
            "`{}` exists already; choose another name or remove it",
            rel(ws, &dir)
        )));
    }
    let runbook_dir = root.join(
        ws.project
            .runbook_dirs
            .first()
            .cloned()
            .unwrap_or_else(|| "runbooks".into()),
    );
    let runbook = runbook_dir.join(format!("{name}-hello.kdl"));
    if runbook.exists() {
        return Err(Error::Usage(format!(
            "`{}` exists already; choose another name or remove it",
            rel(ws, &runbook)
        )));
    }
    std::fs::create_dir_all(&dir).map_err(|e| write_error(ws, &dir, e))?;
    let sdk = scaffold::sdk_dependency(&dir);
    let mut written = Vec::new();
    for (path, text) in scaffold::files(lang, name, &sdk) {
        let p = dir.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_error(ws, parent, e))?;
        }
        std::fs::write(&p, text).map_err(|e| write_error(ws, &p, e))?;
        written.push(rel(ws, &p));
    }
    std::fs::create_dir_all(&runbook_dir).map_err(|e| write_error(ws, &runbook_dir, e))?;
    let text = scaffold::render(scaffold::runbook(lang), name, &sdk);
    std::fs::write(&runbook, text).map_err(|e| write_error(ws, &runbook, e))?;
    written.push(rel(ws, &runbook));
    let granted = grant(ws, name)?;
    if json_out {
        print_json(&serde_json::json!({
            "name": name, "lang": lang.name(), "dir": rel(ws, &dir),
            "files": written, "granted": granted,
        }));
        return Ok(ExitCode::Success);
    }
    println!("new {} plugin `{name}` in {}:", lang.name(), rel(ws, &dir));
    for w in &written {
        println!("  {w}");
    }
    match granted {
        Some(line) => println!("cairn.kdl: {line}"),
        None => println!("cairn.kdl grants `{name}` already; left as it is"),
    }
    println!(
        "next: `cairn plugin test {name}`, `cairn plugin build {name}`, `cairn run {name}-hello --dry-run`"
    );
    Ok(ExitCode::Success)
}

fn write_error(ws: &Workspace, p: &std::path::Path, e: std::io::Error) -> Error {
    Error::Other(anyhow::anyhow!("cannot write `{}`: {e}", rel(ws, p)))
}

/// Adds `grant plugin=NAME { exec "echo" }` to the project node of
/// `cairn.kdl` (what the scaffold's action calls), unless a grant for the
/// plugin is there, and `plugins { dir "plugins"; }` when the project has no
/// plugin directory. Returns what was added.
fn grant(ws: &Workspace, name: &str) -> Result<Option<String>> {
    let mut lines = Vec::new();
    if ws.project.plugin_dirs.is_empty() {
        lines.push("plugins { dir \"plugins\"; }".to_string());
    }
    if !ws.project.grants.iter().any(|g| g.plugin == name) {
        lines.push(format!("grant plugin={name} {{ exec \"echo\"; }}"));
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let path = ws.project.root.join("cairn.kdl");
    let mut text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Other(anyhow::anyhow!("cannot read `cairn.kdl`: {e}")))?;
    for line in &lines {
        text = insert_in_project(&text, line).ok_or_else(|| {
            Error::Usage(format!(
                "cannot find the end of the `project` node in `cairn.kdl`; add `{line}` inside it"
            ))
        })?;
    }
    std::fs::write(&path, text).map_err(|e| write_error(ws, &path, e))?;
    let added: Vec<String> = lines.iter().map(|l| format!("`{l}`")).collect();
    Ok(Some(format!("added {}", added.join(", "))))
}

/// `text` with `line` as the last child of its top-level `project` node
/// (found by its closing brace at the start of a line, or a `project`
/// node without children, which gets a block).
fn insert_in_project(text: &str, line: &str) -> Option<String> {
    let start = text
        .lines()
        .scan(0usize, |off, l| {
            let at = *off;
            *off += l.len() + 1;
            Some((at, l))
        })
        .find(|(_, l)| l.starts_with("project ") || *l == "project")
        .map(|(at, _)| at)?;
    let rest = &text[start..];
    let head_end = rest.find('\n').unwrap_or(rest.len());
    let head = &rest[..head_end];
    if !head.contains('{') {
        // `project NAME` alone: give it a block.
        let mut out = text[..start + head_end].trim_end().to_string();
        out.push_str(&format!(" {{\n    {line}\n}}"));
        out.push_str(&text[start + head_end..]);
        return Some(out);
    }
    if head.trim_end().ends_with('}') {
        // `project NAME { ... }` on one line.
        let close = start + head.rfind('}')?;
        return Some(format!(
            "{}\n    {line}\n{}",
            text[..close].trim_end(),
            &text[close..]
        ));
    }
    let close = start + rest.find("\n}").map(|i| i + 1)?;
    Some(format!("{}    {line}\n{}", &text[..close], &text[close..]))
}

#[cfg(test)]
mod tests {
    use super::insert_in_project;

    #[test]
    fn the_grant_goes_inside_the_project_node() {
        let g = "grant plugin=x { exec \"echo\"; }";
        assert_eq!(
            insert_in_project("// c\nproject a {\n    target t { local }\n}\n", g).unwrap(),
            format!("// c\nproject a {{\n    target t {{ local }}\n    {g}\n}}\n")
        );
        assert_eq!(
            insert_in_project("project a {\n}\n", g).unwrap(),
            format!("project a {{\n    {g}\n}}\n")
        );
        assert_eq!(
            insert_in_project("project a\n", g).unwrap(),
            format!("project a {{\n    {g}\n}}\n")
        );
        assert_eq!(
            insert_in_project("project a { }\n", g).unwrap(),
            format!("project a {{\n    {g}\n}}\n")
        );
        assert!(insert_in_project("runbook x {\n}\n", g).is_none());
    }
}
