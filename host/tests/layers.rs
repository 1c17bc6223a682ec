//! No import circles between the modules of the host, the SDK and the
//! language crate.
//!
//! The test reads the sources (no build-time tooling): every `crate::…`,
//! `super::…` and `self::…` path, in `use` items and in fully qualified
//! paths alike, becomes an edge between the top-level modules of a crate,
//! and, inside the host's `capabilities`, between its second-level modules
//! (one per capability). A circle in either graph fails the test and is
//! named, e.g. `runtime -> capabilities -> runtime`.
//!
//! Not counted: the crate root (`lib.rs` declares and re-exports every
//! module; a path through a root re-export counts as the module it comes
//! from) and `capabilities/mod.rs` in the second-level graph (the shared
//! core every capability is handed, see docs/architecture.md).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Crates whose circles are known and scheduled for removal. Each entry is
/// a crate that is still checked and reported but does not fail the test.
/// Remove an entry as soon as its crate is clean; add none.
const KNOWN_CIRCLES_TO_REMOVE: &[&str] = &["cairn-lang (include <-> rehearsal <-> runbook)"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

#[test]
fn host_has_no_import_circle() {
    let cycles = crate_cycles(&root().join("src"), &["capabilities"]);
    assert!(
        cycles.is_empty(),
        "import circles in the host crate (host/src):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn sdk_has_no_import_circle() {
    let cycles = crate_cycles(&root().join("../sdk/src"), &[]);
    assert!(
        cycles.is_empty(),
        "import circles in the SDK (sdk/src):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn lang_has_no_import_circle() {
    let cycles = crate_cycles(&root().join("lang/src"), &[]);
    let allowed = KNOWN_CIRCLES_TO_REMOVE
        .iter()
        .any(|c| c.starts_with("cairn-lang "));
    if allowed {
        if cycles.is_empty() {
            panic!(
                "cairn-lang has no import circle any more: remove its entry from KNOWN_CIRCLES_TO_REMOVE"
            );
        }
        eprintln!(
            "known import circles in cairn-lang (allow-listed, to remove):\n{}",
            cycles.join("\n")
        );
        return;
    }
    assert!(
        cycles.is_empty(),
        "import circles in cairn-lang (host/lang/src):\n{}",
        cycles.join("\n")
    );
}

/// The test's own reader: a known circle is found and named.
#[test]
fn a_circle_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    fs::write(
        src.join("lib.rs"),
        "pub mod a;\npub mod b;\npub mod c;\npub use c::Thing;\n",
    )
    .unwrap();
    // a -> b via a group, b -> c via a root re-export, c -> a via super.
    fs::write(
        src.join("a.rs"),
        "use crate::{b::{self, X}, c as _};\n// crate::zz::ignored\n",
    )
    .unwrap();
    fs::write(src.join("b.rs"), "fn f() -> crate::Thing { todo!() }\n").unwrap();
    fs::create_dir(src.join("c")).unwrap();
    fs::write(src.join("c.rs"), "mod inner;\n").unwrap();
    fs::write(
        src.join("c/inner.rs"),
        "use super::super::a::Y;\n#[cfg(test)]\nmod tests { use super::*; const S: &str = \"crate::b\"; }\n",
    )
    .unwrap();
    let cycles = crate_cycles(src, &[]);
    assert_eq!(
        cycles,
        vec!["a -> b -> c -> a".to_string(), "a -> c -> a".to_string()]
    );

    // Without the edge back, no circle.
    fs::write(src.join("c/inner.rs"), "use super::Thing;\n").unwrap();
    assert!(crate_cycles(src, &[]).is_empty());
}

/// The circles between the modules of the crate whose sources are in
/// `src`, each named as `a -> b -> a`. `nested` lists the top-level
/// modules whose children are also nodes of their own.
fn crate_cycles(src: &Path, nested: &[&str]) -> Vec<String> {
    let files = rust_files(src);
    assert!(!files.is_empty(), "no sources under {}", src.display());
    let modules: Vec<(Vec<String>, PathBuf)> = files
        .iter()
        .filter_map(|f| module_path(src, f).map(|m| (m, f.clone())))
        .collect();
    let known: BTreeSet<Vec<String>> = modules.iter().map(|(m, _)| m.clone()).collect();

    // `pub use child::{Item}` in a module file: `parent::Item` is `parent::child`.
    let mut aliases: BTreeMap<(Vec<String>, String), String> = BTreeMap::new();
    for (module, file) in &modules {
        let tokens = tokenize(&fs::read_to_string(file).unwrap());
        for (name, child) in reexports(&tokens) {
            let mut as_child = module.clone();
            as_child.push(child.clone());
            if known.contains(&as_child) {
                aliases.insert((module.clone(), name), child);
            }
        }
    }

    let node_of = |path: &[String]| -> Option<String> {
        // Resolve one root or nested re-export, then keep one or two levels.
        let mut path = path.to_vec();
        for depth in 0..path.len().min(2) {
            let parent = path[..depth].to_vec();
            let mut child = parent.clone();
            child.push(path[depth].clone());
            if known.contains(&child) {
                continue;
            }
            if let Some(real) = aliases.get(&(parent, path[depth].clone())) {
                path[depth] = real.clone();
                continue;
            }
            path.truncate(depth);
            break;
        }
        let first = path.first()?;
        if nested.contains(&first.as_str()) && path.len() >= 2 {
            Some(format!("{}::{}", path[0], path[1]))
        } else {
            Some(first.clone())
        }
    };

    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, file) in &modules {
        let tokens = tokenize(&fs::read_to_string(file).unwrap());
        let Some(from) = node_of(module) else {
            continue;
        };
        for target in references(module, &tokens) {
            let Some(to) = node_of(&target) else { continue };
            if to == from {
                continue;
            }
            // Two graphs: top level, and the children of a nested module.
            let (f_top, t_top) = (top(&from), top(&to));
            if f_top != t_top {
                edges
                    .entry(f_top.to_string())
                    .or_default()
                    .insert(t_top.to_string());
            } else if from.contains("::") && to.contains("::") {
                edges.entry(from.clone()).or_default().insert(to.clone());
            }
        }
    }
    cycles(&edges)
}

fn top(node: &str) -> &str {
    node.split("::").next().unwrap()
}

/// Every elementary circle, each once (rotated to start at its least node).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found = BTreeSet::new();
    for start in edges.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((node, path)) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if next == start {
                    found.insert(format!("{} -> {start}", path.join(" -> ")));
                } else if next > start && !path.contains(next) && path.len() < 8 {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    found.into_iter().collect()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `a/b.rs` and `a/b/mod.rs` are `[a, b]`; `lib.rs` is `[]`; `main.rs` is
/// a crate of its own (`None`).
fn module_path(src: &Path, file: &Path) -> Option<Vec<String>> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if parts.is_empty() && stem == "main" {
        return None;
    }
    if !(parts.is_empty() && stem == "lib") && stem != "mod" {
        parts.push(stem.to_string());
    }
    Some(parts)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Path, // `::`
    Open,
    Close,
    Other(char),
}

/// Identifiers and punctuation, without comments, strings and chars.
fn tokenize(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == 'r'
            && (c.get(i + 1) == Some(&'#') || c.get(i + 1) == Some(&'"'))
            && !prev_ident(&c, i)
        {
            // raw string r"…" / r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(Tok::Ident("r".into()));
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < c.len() {
                if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            i = j;
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if ch == '\'' {
            // char literal ('x', '\n', '\u{..}') or lifetime ('a)
            if c.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let s = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[s..i].iter().collect()));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Tok::Path);
            i += 2;
        } else if ch == '{' {
            out.push(Tok::Open);
            i += 1;
        } else if ch == '}' {
            out.push(Tok::Close);
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else {
            out.push(Tok::Other(ch));
            i += 1;
        }
    }
    out
}

fn prev_ident(c: &[char], i: usize) -> bool {
    i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')
}

fn ident(t: Option<&Tok>) -> Option<&str> {
    match t {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

/// The module paths (absolute, from the crate root) a file refers to.
fn references(module: &[String], tokens: &[Tok]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // Inline modules (`mod tests { … }`) shift what `super` means.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                while inline.last().is_some_and(|(_, d)| *d > depth) {
                    inline.pop();
                }
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some(name), Some(Tok::Open)) = (ident(tokens.get(i + 1)), tokens.get(i + 2))
                {
                    inline.push((name.to_string(), depth + 1));
                }
            }
            Tok::Ident(kw) if matches!(kw.as_str(), "crate" | "super" | "self") => {
                let after_dollar = i > 0 && tokens[i - 1] == Tok::Other('$');
                let qualified = i > 0 && tokens[i - 1] == Tok::Path;
                if !after_dollar && !qualified && tokens.get(i + 1) == Some(&Tok::Path) {
                    let mut here: Vec<String> = module.to_vec();
                    here.extend(inline.iter().map(|(n, _)| n.clone()));
                    let mut base = match kw.as_str() {
                        "crate" => Vec::new(),
                        _ => here,
                    };
                    let mut j = i;
                    if kw == "super" {
                        base.pop();
                        j += 2;
                        while ident(tokens.get(j)) == Some("super")
                            && tokens.get(j + 1) == Some(&Tok::Path)
                        {
                            base.pop();
                            j += 2;
                        }
                    } else {
                        j += 2;
                    }
                    let end = tree(tokens, j, &base, &mut out);
                    i = end.max(i + 1);
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Reads a use-tree (or a plain path) at `i` under `prefix`; records each
/// path (two segments deep at most); returns where it ended.
fn tree(tokens: &[Tok], mut i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix.to_vec();
    loop {
        match tokens.get(i) {
            Some(Tok::Ident(s)) if s == "self" => {
                i += 1;
                break;
            }
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                i += 1;
                if tokens.get(i) == Some(&Tok::Path) {
                    i += 1;
                    continue;
                }
                break;
            }
            Some(Tok::Open) => {
                i += 1;
                loop {
                    match tokens.get(i) {
                        Some(Tok::Close) => return i + 1,
                        None => return i,
                        Some(Tok::Other(',')) => i += 1,
                        _ => {
                            let before = i;
                            i = tree(tokens, i, &path, out);
                            // skip `as name` and anything unexpected
                            while !matches!(
                                tokens.get(i),
                                Some(Tok::Other(',')) | Some(Tok::Close) | None
                            ) {
                                i += 1;
                            }
                            if i == before {
                                i += 1;
                            }
                        }
                    }
                }
            }
            _ => break,
        }
    }
    if !path.is_empty() {
        path.truncate(3);
        out.push(path);
    }
    i
}

/// `pub use child::{A, B as C}` / `pub use child::A;` in a module file:
/// (visible name, child).
fn reexports(tokens: &[Tok]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    for i in 0..tokens.len() {
        match &tokens[i] {
            Tok::Open => depth += 1,
            Tok::Close => depth = depth.saturating_sub(1),
            Tok::Ident(kw) if kw == "use" && depth == 0 => {
                let public = (i > 0 && ident(tokens.get(i - 1)) == Some("pub"))
                    || (i > 3
                        && tokens[i - 1] == Tok::Other(')')
                        && ident(tokens.get(i - 4)) == Some("pub"));
                let Some(child) = ident(tokens.get(i + 1)) else {
                    continue;
                };
                if !public
                    || matches!(child, "crate" | "super" | "self")
                    || tokens.get(i + 2) != Some(&Tok::Path)
                {
                    continue;
                }
                // names up to `;`: the last identifier of each leaf (after `as`).
                let mut j = i + 3;
                let mut last: Option<String> = None;
                while j < tokens.len() && tokens[j] != Tok::Other(';') {
                    match &tokens[j] {
                        Tok::Ident(s) if s != "as" => last = Some(s.clone()),
                        Tok::Other(',') | Tok::Close => {
                            if let Some(n) = last.take() {
                                out.push((n, child.to_string()));
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                if let Some(n) = last {
                    out.push((n, child.to_string()));
                }
            }
            _ => {}
        }
    }
    out
}
