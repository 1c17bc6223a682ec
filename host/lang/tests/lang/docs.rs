//! Every ```kdl block of `docs/runbook-language.md` is a real file that
//! loads and validates: a runbook block must be the text of a
//! `tests/ui/valid/doc-*.kdl` file (checked in the UI project), a project
//! block is loaded as a `cairn.kdl`.

use std::path::{Path, PathBuf};

use crate::common::{load_and_validate, render, ui_project, ui_root};

fn kdl_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```kdl") => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_start().starts_with("```") => blocks.extend(current.take()),
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed ```kdl block");
    blocks
}

fn doc_files() -> Vec<(PathBuf, String)> {
    let dir = ui_root().join("valid");
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .expect("tests/ui/valid")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("doc-") && n.ends_with(".kdl"))
        })
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            (p, text)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_kdl_example_in_the_docs_loads_and_validates() {
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/runbook-language.md");
    let markdown = std::fs::read_to_string(&doc_path).expect("docs/runbook-language.md");
    let blocks = kdl_blocks(&markdown);
    assert!(blocks.len() >= 3, "the reference has examples");
    let files = doc_files();
    let mut used = vec![false; files.len()];
    let project = ui_project();
    for (i, block) in blocks.iter().enumerate() {
        let parsed: kdl::KdlDocument = block
            .parse()
            .unwrap_or_else(|e| panic!("example {} is not valid KDL: {e:?}\n{block}", i + 1));
        let top = parsed
            .nodes()
            .first()
            .map(|n| n.name().value().to_owned())
            .unwrap_or_default();
        match top.as_str() {
            "project" => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                std::fs::write(dir.path().join("cairn.kdl"), block).expect("writable");
                if let Err(d) = cairn_lang::load_project(dir.path()) {
                    panic!(
                        "example {} (a project) has errors:\n{}{block}",
                        i + 1,
                        render(&d)
                    );
                }
            }
            "runbook" => {
                let Some(at) = files.iter().position(|(_, t)| t.trim() == block.trim()) else {
                    panic!(
                        "example {} is not the text of any tests/ui/valid/doc-*.kdl file:\n{block}",
                        i + 1
                    );
                };
                used[at] = true;
                if let Err(d) = load_and_validate(&project, &files[at].0) {
                    panic!("example {} has errors:\n{}", i + 1, render(&d));
                }
            }
            other => panic!(
                "example {} starts with `{other}`, not `runbook` or `project`",
                i + 1
            ),
        }
    }
    for ((path, _), used) in files.iter().zip(used) {
        assert!(
            used,
            "{} is not shown in docs/runbook-language.md",
            path.display()
        );
    }
}
