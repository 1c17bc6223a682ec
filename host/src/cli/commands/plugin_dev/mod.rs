//! A project's own plugins, from source: `cairn plugin new`, `build` and
//! `test`. A plugin's sources live in `plugins/NAME/` (the project's first
//! plugin directory), its component beside them as `plugins/NAME.wasm`,
//! where the catalog finds it.

mod compile;
mod new;
mod scaffold;
mod unit_tests;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::project::Workspace;

pub(super) use compile::plugin_build;
pub(super) use new::plugin_new;
pub(super) use unit_tests::plugin_test;

/// The language of a plugin's sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
}

impl Lang {
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
        }
    }
}

/// A plugin's source directory in the project.
#[derive(Debug)]
pub(super) struct Source {
    pub name: String,
    pub dir: PathBuf,
    pub lang: Lang,
}

/// The directory the plugins' sources and components live in.
pub(super) fn plugins_dir(ws: &Workspace) -> PathBuf {
    let first = ws
        .project
        .plugin_dirs
        .first()
        .cloned()
        .unwrap_or_else(|| "plugins".into());
    ws.project.root.join(first)
}

/// Rust when the directory has a `Cargo.toml`, Python when it has `app.py`.
fn lang_of(dir: &Path) -> Option<Lang> {
    if dir.join("Cargo.toml").is_file() {
        Some(Lang::Rust)
    } else if dir.join("app.py").is_file() {
        Some(Lang::Python)
    } else {
        None
    }
}

/// The plugin named `name`, or every plugin with sources when `None`.
pub(super) fn sources(ws: &Workspace, name: Option<&str>) -> Result<Vec<Source>> {
    ws.require_project("cairn plugin")?;
    let dir = plugins_dir(ws);
    if let Some(name) = name {
        let d = dir.join(name);
        let lang = lang_of(&d).ok_or_else(|| {
            Error::Usage(format!(
                "no plugin sources in `{}` (a `Cargo.toml` or an `app.py`); \
                 `cairn plugin new {name}` makes one",
                rel(ws, &d)
            ))
        })?;
        return Ok(vec![Source {
            name: name.to_string(),
            dir: d,
            lang,
        }]);
    }
    let mut found = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let d = e.path();
            let Some(lang) = lang_of(&d) else { continue };
            let Some(name) = d.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            found.push(Source {
                name: name.to_string(),
                dir: d.clone(),
                lang,
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    if found.is_empty() {
        return Err(Error::Usage(format!(
            "no plugin sources under `{}`; `cairn plugin new NAME` makes one",
            rel(ws, &dir)
        )));
    }
    Ok(found)
}

/// Where Rust plugins build: `CAIRN_PLUGIN_TARGET_DIR`, else one target
/// directory for all of the project's plugins, `plugins/target`.
pub(super) fn target_dir(ws: &Workspace) -> PathBuf {
    std::env::var_os("CAIRN_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| plugins_dir(ws).join("target"))
}

pub(super) fn rel(ws: &Workspace, p: &Path) -> String {
    p.strip_prefix(&ws.project.root)
        .unwrap_or(p)
        .display()
        .to_string()
}

/// Runs a build or test tool, its output going to the terminal; an error
/// that names the command when it cannot start or fails.
pub(super) fn run_tool(mut cmd: std::process::Command, what: &str, fix: &str) -> Result<()> {
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    // The tools' own output goes to stderr: stdout stays for cairn's answer.
    cmd.stdout(std::process::Stdio::from(
        std::io::stderr().as_fd().try_clone_to_owned().map_err(io)?,
    ));
    let status = cmd
        .status()
        .map_err(|e| Error::Usage(format!("{what}: cannot start `{shown}`: {e}; {fix}")))?;
    if !status.success() {
        return Err(Error::Failed(format!(
            "{what}: `{shown}` failed ({status})"
        )));
    }
    Ok(())
}

use std::os::fd::AsFd;

fn io(e: std::io::Error) -> Error {
    Error::Other(anyhow::anyhow!("{e}"))
}
