//! `cairn plugin build [NAME]`: a plugin's sources to a component,
//! `plugins/NAME.wasm`, then its pin in `cairn.lock` renewed.
//!
//! Rust: `cargo build --release --target wasm32-wasip2`, with one target
//! directory for all the project's plugins (`plugins/target`), so a second
//! plugin reuses the first one's dependencies. Python: `componentize-py`
//! (`CAIRN_COMPONENTIZE_PY`, else on `PATH`) against the plugin's `wit/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::{Lang, Source, plugins_dir, rel, run_tool, sources, target_dir};
use crate::error::{Error, ExitCode, Result};
use crate::project::Workspace;

/// The componentize-py release the guide and CI use.
pub const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

pub(in crate::cli::commands) fn plugin_build(
    ws: &Workspace,
    name: Option<&str>,
    json_out: bool,
) -> Result<ExitCode> {
    let mut built = Vec::new();
    for src in sources(ws, name)? {
        let started = Instant::now();
        let out = plugins_dir(ws).join(format!("{}.wasm", src.name));
        match src.lang {
            Lang::Rust => build_rust(ws, &src, &out)?,
            Lang::Python => build_python(&src, &out)?,
        }
        let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "built {} ({} KiB) in {:.1}s",
            rel(ws, &out),
            size / 1024,
            started.elapsed().as_secs_f64()
        );
        built.push(src.name);
    }
    // A fresh workspace sees the new components; their pins follow them.
    let ws = Workspace::open(Some(&ws.project.root))?;
    super::super::lock::lock_plugins(&ws, Some(&built), json_out)
}

fn build_rust(ws: &Workspace, src: &Source, out: &Path) -> Result<()> {
    let target_dir = target_dir(ws);
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(src.dir.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(&target_dir);
    run_tool(
        cmd,
        &format!("building plugin `{}`", src.name),
        "install Rust (https://rustup.rs) and `rustup target add wasm32-wasip2`",
    )?;
    let artefact = target_dir
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", src.name.replace('-', "_")));
    copy(&artefact, out)
}

fn build_python(src: &Source, out: &Path) -> Result<()> {
    let tmp = out.with_extension("wasm.tmp");
    let mut cmd = Command::new(componentize_py());
    cmd.arg("-d")
        .arg(src.dir.join("wit"))
        .args(["-w", "plugin", "componentize", "-p"])
        .arg(&src.dir)
        .arg("app")
        .arg("-o")
        .arg(&tmp);
    run_tool(
        cmd,
        &format!("building plugin `{}`", src.name),
        &format!(
            "install it with `python3 -m pip install {COMPONENTIZE_PY}` (in a venv) or name it with CAIRN_COMPONENTIZE_PY"
        ),
    )?;
    std::fs::rename(&tmp, out)
        .map_err(|e| Error::Other(anyhow::anyhow!("cannot write `{}`: {e}", out.display())))
}

/// `cargo` of the toolchain that runs cairn's tests, or of `PATH`.
pub(super) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // An outer cargo's settings are not the plugin's.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MAKEFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn componentize_py() -> PathBuf {
    std::env::var_os("CAIRN_COMPONENTIZE_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| "componentize-py".into())
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    // Written beside, then renamed: a catalog never reads half a component.
    let tmp = to.with_extension("wasm.tmp");
    std::fs::copy(from, &tmp)
        .and_then(|_| std::fs::rename(&tmp, to))
        .map_err(|e| {
            Error::Other(anyhow::anyhow!(
                "cannot copy `{}` to `{}`: {e}",
                from.display(),
                to.display()
            ))
        })?;
    Ok(())
}
