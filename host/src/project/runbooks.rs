//! The runbooks of a project: its own files and the stock runbooks built
//! into the binary, listed ([`Workspace::runbooks`]) or found by name
//! ([`Workspace::runbook`]) parsing only the files that can declare it.

use std::path::{Path, PathBuf};

use cairn_lang::{Diagnostics, Runbook};

use super::Workspace;
use crate::error::{Error, Result};

/// The stock runbooks built into the binary: name and text.
pub const STOCK_RUNBOOKS: &[(&str, &str)] = &[
    (
        "disk-triage",
        include_str!("../../../runbooks/disk-triage.kdl"),
    ),
    ("backup", include_str!("../../../runbooks/backup.kdl")),
    ("restore", include_str!("../../../runbooks/restore.kdl")),
    (
        "dr-rehearsal",
        include_str!("../../../runbooks/dr-rehearsal.kdl"),
    ),
    (
        "deploy-update",
        include_str!("../../../runbooks/deploy-update.kdl"),
    ),
    ("move-site", include_str!("../../../runbooks/move-site.kdl")),
];

/// A runbook file of the project, or a stock one.
#[derive(Debug, Clone)]
pub struct RunbookRef {
    pub path: PathBuf,
    pub stock: bool,
}

impl Workspace {
    /// Every runbook: the project's files, then stock ones whose names the
    /// project does not use. Each is parsed; errors are returned per file.
    pub fn runbooks(&self) -> Vec<(RunbookRef, std::result::Result<Runbook, Diagnostics>)> {
        let mut out: Vec<(RunbookRef, std::result::Result<Runbook, Diagnostics>)> = Vec::new();
        for path in cairn_lang::discover_runbooks(&self.project) {
            let mut rb = cairn_lang::load_runbook(&self.project, &path);
            if let Ok(second) = &rb
                && let Some(first) = out
                    .iter()
                    .filter_map(|(_, r)| r.as_ref().ok())
                    .find(|r| r.name == second.name && !same_file(&r.file.path, &second.file.path))
            {
                rb = Err(twice(first, second));
            }
            out.push((RunbookRef { path, stock: false }, rb));
        }
        let taken: Vec<String> = out
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok().map(|r| r.name.clone()))
            .collect();
        for (name, text) in STOCK_RUNBOOKS {
            if taken.iter().any(|t| t == name) {
                continue;
            }
            let path = PathBuf::from(format!("stock/{name}.kdl"));
            let rb = cairn_lang::load_runbook_source(&self.project, &path, text);
            out.push((RunbookRef { path, stock: true }, rb));
        }
        out
    }

    /// The runbook named `name` (its declared name, or a file path).
    ///
    /// The first of [`Workspace::runbooks`] that declares `name`, or whose
    /// file is named after it and does not load (its errors are returned),
    /// without parsing every runbook: see [`Workspace::find_runbook`]. Only
    /// when there is none is every runbook parsed, for the names a "did you
    /// mean" picks from.
    pub fn runbook(&self, name: &str) -> Result<Runbook> {
        let as_path = self.project.root.join(name);
        if name.ends_with(".kdl") && as_path.is_file() {
            return Ok(cairn_lang::load_runbook(&self.project, &as_path)?);
        }
        if let Some(found) = self.find_runbook(name) {
            return found;
        }
        let mut names = Vec::new();
        for (r, rb) in self.runbooks() {
            match rb {
                Ok(rb) => names.push(rb.name),
                Err(_) => names.push(stem(&r.path)),
            }
        }
        let hint = names
            .iter()
            .filter(|n| strsim::jaro_winkler(n, name) > 0.8)
            .max_by(|a, b| strsim::jaro_winkler(a, name).total_cmp(&strsim::jaro_winkler(b, name)))
            .map(|n| format!(" (did you mean `{n}`?)"))
            .unwrap_or_default();
        Err(Error::Usage(format!(
            "no runbook named `{name}`{hint}; `cairn list` shows them"
        )))
    }

    /// What a scan of [`Workspace::runbooks`] in order finds for `name`: the
    /// first runbook that declares `name`, or the errors of the first file
    /// named `NAME.kdl` that does not load. `None` when there is neither.
    ///
    /// It parses only the files that can be that runbook: those named
    /// `NAME.kdl`, those whose text holds `name` (a runbook's declared name
    /// is a KDL string, which appears verbatim in the text unless written
    /// with an escape, so those with a `\` are parsed too), and the stock
    /// runbook `name` (the stock runbooks declare the names they are listed
    /// under, which a test checks). The others are read, not parsed: KDL
    /// parsing is most of the fixed cost of a `cairn run`.
    fn find_runbook(&self, name: &str) -> Option<Result<Runbook>> {
        let paths = cairn_lang::discover_runbooks(&self.project);
        for (i, path) in paths.iter().enumerate() {
            let named_after = stem(path) == name;
            // Read once: the text that is searched is the text parsed. A
            // file that cannot be read as text (or is not a regular file,
            // or too large) declares nothing; named after `name`, it is
            // loaded anyway for its errors.
            let text = cairn_lang::limits::read_text_bounded(path).ok();
            let may = text.as_deref().is_some_and(|t| may_declare(t, name));
            if !named_after && !may {
                continue;
            }
            let loaded = match &text {
                Some(t) => cairn_lang::load_runbook_source(&self.project, path, t),
                None => cairn_lang::load_runbook(&self.project, path),
            };
            match loaded {
                Ok(rb) if rb.name == name => {
                    return Some(match self.declared_again(&rb, &paths[i + 1..]) {
                        Some(other) => Err(twice(&rb, &other).into()),
                        None => Ok(rb),
                    });
                }
                Err(d) if named_after || text.as_deref().is_some_and(|t| declares(t, name)) => {
                    return Some(Err(d.into()));
                }
                _ => {}
            }
        }
        // No project runbook declares `name`, so the stock one of that name,
        // if any, is not shadowed.
        let (stock, text) = STOCK_RUNBOOKS.iter().find(|(n, _)| *n == name)?;
        let path = PathBuf::from(format!("stock/{stock}.kdl"));
        match cairn_lang::load_runbook_source(&self.project, &path, text) {
            Ok(rb) if rb.name == name => Some(Ok(rb)),
            Ok(_) => None,
            Err(d) => Some(Err(d.into())),
        }
    }

    /// Another of `paths` that declares the runbook name `rb` has.
    fn declared_again(&self, rb: &Runbook, paths: &[PathBuf]) -> Option<Runbook> {
        paths.iter().find_map(|path| {
            if same_file(path, &rb.file.path) {
                return None;
            }
            let text = cairn_lang::limits::read_text_bounded(path).ok()?;
            if !may_declare(&text, &rb.name) {
                return None;
            }
            cairn_lang::load_runbook_source(&self.project, path, &text)
                .ok()
                .filter(|other| other.name == rb.name)
        })
    }
}

/// Two paths of one file (a link to another runbook file).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Two files declare the same runbook name: neither is run.
fn twice(first: &Runbook, second: &Runbook) -> Diagnostics {
    let d = cairn_lang::Diagnostic::at(
        &second.file,
        second.span,
        format!(
            "runbook `{}` is declared twice: in `{}` and in `{}`",
            first.name, first.file.name, second.file.name
        ),
    )
    .with_label("declared again here")
    .with_help("a runbook's name is unique in a project: rename one of them");
    d.into()
}

/// The file name of a runbook without `.kdl`.
fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

/// Whether a runbook file's `text` may declare the name `name`: it holds
/// `name`, or an escape that could spell it.
fn may_declare(text: &str, name: &str) -> bool {
    text.contains('\\') || text.contains(name)
}

/// Whether a line of `text` starts the declaration of runbook `name`
/// (`runbook NAME` or `runbook "NAME"`): a file that declares it but does
/// not load is reported with its own errors, whatever the file is named.
fn declares(text: &str, name: &str) -> bool {
    text.lines().any(|l| {
        let Some(rest) = l.trim_start().strip_prefix("runbook") else {
            return false;
        };
        let word = rest.trim_start();
        rest.len() > word.len()
            && (word.strip_prefix(name).is_some_and(|t| {
                t.is_empty() || t.starts_with(|c: char| c.is_whitespace() || c == '{')
            }) || word.strip_prefix(&format!("\"{name}\"")).is_some())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Workspace::runbook` takes the stock runbook listed under NAME as the
    /// runbook NAME without parsing the others, and no run parses a stock
    /// runbook it does not run: each must load under its name and validate.
    #[test]
    fn every_stock_runbook_loads_under_its_name_and_validates() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(Some(dir.path())).unwrap();
        assert!(!ws.has_file);
        for (name, _) in STOCK_RUNBOOKS {
            let rb = ws
                .runbook(name)
                .unwrap_or_else(|e| panic!("stock runbook `{name}`: {e}"));
            assert_eq!(rb.name, *name);
            assert_eq!(rb.file.name, format!("stock/{name}.kdl"));
            ws.validate(&rb, false)
                .unwrap_or_else(|e| panic!("stock runbook `{name}`: {e}"));
        }
        let listed: Vec<String> = ws
            .runbooks()
            .into_iter()
            .map(|(r, rb)| {
                assert!(r.stock);
                rb.expect("a stock runbook loads").name
            })
            .collect();
        let names: Vec<String> = STOCK_RUNBOOKS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(listed, names);
    }

    #[test]
    fn a_file_that_may_declare_a_name_holds_it_or_an_escape() {
        assert!(may_declare("runbook deploy version=1 {}", "deploy"));
        assert!(may_declare("runbook #\"deploy\"# version=1 {}", "deploy"));
        assert!(may_declare(
            "runbook \"dep\\u{6c}oy\" version=1 {}",
            "deploy"
        ));
        assert!(!may_declare("runbook other version=1 {}", "deploy"));
    }

    #[test]
    fn a_file_that_is_not_text_declares_nothing_unless_named_after_the_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("runbooks")).unwrap();
        let ws = Workspace::open(Some(dir.path())).unwrap();
        let not_text = b"runbook deploy version=1 {}\n\xff\xfe";
        std::fs::write(dir.path().join("runbooks/other.kdl"), not_text).unwrap();
        assert!(ws.find_runbook("deploy").is_none());
        std::fs::write(dir.path().join("runbooks/deploy.kdl"), not_text).unwrap();
        let err = ws.find_runbook("deploy").unwrap().unwrap_err().to_string();
        assert!(err.contains("not valid UTF-8"), "{err}");
    }
}
