//! The project a command works on: found like git finds a repository (`-C
//! DIR`, else the nearest `cairn.kdl` upward), or the embedded defaults when
//! there is none. Holds the plugin catalog; its runbooks are found by
//! `project/runbooks.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cairn_lang::{Project, Runbook, SourceFile, Storage, StorageKind};

use crate::capabilities::{SecretStore, Targets};
use crate::error::{Error, Result};
use crate::runtime::{Catalog, Runtime};

mod runbooks;

pub use runbooks::{RunbookRef, STOCK_RUNBOOKS};

pub struct Workspace {
    pub project: Project,
    /// False when no `cairn.kdl` was found and the embedded defaults apply.
    pub has_file: bool,
    /// `.cairn/` under the project root.
    pub state_dir: PathBuf,
    pub catalog: Catalog,
    pub secrets: Arc<SecretStore>,
    /// Where runs, journals and the lock live, opened on first use and kept
    /// here so that a command opens it once. The engine owns its type
    /// (`engine::state::of`); the project keeps it without naming it, so
    /// that the project does not depend on the engine.
    pub(crate) state: std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>,
}

impl Workspace {
    /// Opens the project at `dir` (`-C`), or the nearest one upward of the
    /// working directory, or the embedded defaults rooted at the working directory.
    pub fn open(dir: Option<&Path>) -> Result<Self> {
        let start = match dir {
            Some(d) => {
                if !d.is_dir() {
                    return Err(Error::Usage(format!(
                        "`{}` is not a directory",
                        d.display()
                    )));
                }
                d.to_path_buf()
            }
            None => std::env::current_dir().map_err(|e| Error::Other(e.into()))?,
        };
        let start = start.canonicalize().unwrap_or(start);
        // The first directory (only `start` with `-C`) holding something
        // named `cairn.kdl`; it must then be a readable file, not a
        // directory or a link to nothing, else cairn says so and stops
        // instead of quietly using another project or the defaults.
        let candidates: Vec<&Path> = if dir.is_some() {
            vec![start.as_path()]
        } else {
            start.ancestors().collect()
        };
        let found = candidates
            .into_iter()
            .find(|a| std::fs::symlink_metadata(a.join("cairn.kdl")).is_ok())
            .map(Path::to_path_buf);
        if let Some(root) = &found {
            let file = root.join("cairn.kdl");
            if !file.is_file() {
                let what = match std::fs::metadata(&file) {
                    Ok(m) if m.is_dir() => "a directory".to_string(),
                    Ok(_) => "not a regular file".to_string(),
                    Err(_) => match std::fs::read_link(&file) {
                        Ok(to) => format!(
                            "a symbolic link to `{}`, which does not exist",
                            to.display()
                        ),
                        Err(e) => format!("unreadable ({e})"),
                    },
                };
                return Err(Error::Usage(format!(
                    "`{}` is {what}: a project's `cairn.kdl` must be a file",
                    file.display()
                )));
            }
        }
        let (project, has_file) = match found {
            Some(root) => (cairn_lang::load_project(&root)?, true),
            None => (default_project(&start), false),
        };
        let state_dir = project.root.join(".cairn");
        let runtime = Runtime::new(Some(state_dir.join("cache")))?;
        let dirs = project
            .plugin_dirs
            .iter()
            .map(|d| project.root.join(d))
            .collect();
        let catalog = Catalog::new(Arc::new(runtime), dirs);
        let secrets = Arc::new(SecretStore::new(project.secrets.clone(), &project.root));
        Ok(Self {
            project,
            has_file,
            state_dir,
            catalog,
            secrets,
            state: std::sync::OnceLock::new(),
        })
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.state_dir.join("runs")
    }

    pub fn targets(&self) -> Targets {
        Targets::new(
            self.project
                .targets
                .iter()
                .map(|(k, t)| (k.clone(), t.kind.clone()))
                .collect(),
        )
    }

    /// Fails for a command that needs a project (`cairn lock`) when none was
    /// found, saying where cairn looked.
    pub fn require_project(&self, command: &str) -> Result<()> {
        if self.has_file {
            return Ok(());
        }
        Err(Error::Usage(format!(
            "`{command}` needs a project, and there is no `cairn.kdl` in `{}` or any directory above it; \
             run it in a project (or give one with `-C DIR`)",
            self.project.root.display()
        )))
    }

    /// Validates a runbook completely: language rules, plugins, actions,
    /// targets, references; secrets when `check_secrets`.
    pub fn validate(&self, rb: &Runbook, check_secrets: bool) -> Result<()> {
        let names = if check_secrets && !self.project.secrets.is_empty() {
            Some(
                self.secrets
                    .names()
                    .map_err(|e| Error::Usage(format!("secrets: {e}")))?,
            )
        } else if check_secrets {
            Some(Default::default())
        } else {
            None
        };
        let cx = cairn_lang::ValidationContext {
            project: &self.project,
            plugins: &self.catalog,
            secret_names: names.as_ref(),
        };
        cairn_lang::validate(rb, &cx)?;
        Ok(())
    }
}

/// The embedded defaults: a project rooted at `dir` with the `local` target
/// and a `local` storage under `.cairn/objects`.
fn default_project(dir: &Path) -> Project {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("default")
        .to_string();
    let mut storages = BTreeMap::new();
    storages.insert(
        "local".to_string(),
        Storage {
            name: "local".into(),
            kind: StorageKind::Dir {
                path: ".cairn/objects".into(),
            },
            span: (0, 0).into(),
        },
    );
    Project {
        name,
        root: dir.to_path_buf(),
        file: Arc::new(SourceFile {
            name: "(embedded defaults)".into(),
            path: dir.join("cairn.kdl"),
            text: "".into(),
        }),
        targets: BTreeMap::new(),
        groups: BTreeMap::new(),
        storages,
        secrets: Vec::new(),
        plugin_dirs: vec!["plugins".into()],
        grants: Vec::new(),
        runbook_dirs: vec!["runbooks".into()],
        state: Default::default(),
    }
}
