//! Finding a project's runbook files under its runbook directories.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::model::Project;

/// The runbook files of the project: every `*.kdl` under its runbook
/// directories (recursively, following symbolic links), sorted. Missing
/// directories are skipped; a directory reached again through a link (a
/// loop) is walked once.
pub fn discover_runbooks(project: &Project) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for dir in &project.runbook_dirs {
        collect_kdl(&project.root.join(dir), &mut out, &mut seen);
    }
    out.sort();
    out.dedup();
    out
}

fn collect_kdl(dir: &Path, out: &mut Vec<PathBuf>, seen: &mut BTreeSet<PathBuf>) {
    let Ok(canonical) = std::fs::canonicalize(dir) else {
        return;
    };
    if !seen.insert(canonical) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_kdl(&path, out, seen);
        } else if path.extension().is_some_and(|e| e == "kdl") {
            out.push(path);
        }
    }
}
