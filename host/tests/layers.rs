//! No import circles between the modules of the host, the SDK and the
//! language crate.
//!
//! The test reads the sources (no build-time tooling): every `crate::…`,
//! `super::…` and `self::…` path, in `use` items and in fully qualified
//! paths alike, becomes an edge between the top-level modules of a crate,
//! and, inside the host's `capabilities` and the SDK's `caps`, between
//! their second-level modules (one per capability). A circle in either graph fails the test and is
//! named, e.g. `runtime -> capabilities -> runtime`.
//!
//! Not counted: the crate root (`lib.rs` declares and re-exports every
//! module; a path through a root re-export counts as the module it comes
//! from) and `capabilities/mod.rs` / `caps/mod.rs` in the second-level
//! graph (the shared core every capability is handed, and the one list of
//! capabilities, see docs/architecture.md).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

#[path = "layers/source.rs"]
mod source;
use source::{reexports, references, tokenize};

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
    let cycles = crate_cycles(&root().join("../sdk/src"), &["caps"]);
    assert!(
        cycles.is_empty(),
        "import circles in the SDK (sdk/src):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn lang_has_no_import_circle() {
    let cycles = crate_cycles(&root().join("lang/src"), &[]);
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
