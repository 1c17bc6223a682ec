//! Makes sure the Rust target the stock plugins are built for is installed,
//! adding it with rustup when it is missing and rustup is there.
//!
//! `rust-toolchain.toml` lists the target, but rustup applies that list only
//! when it installs the toolchain: a `stable` installed before the checkout
//! lacks it. Used by `build.rs` and by the test `host/tests/wasm_target.rs`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What [`ensure_target`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The target was installed already.
    Installed,
    /// It was missing and `rustup target add` added it; the command run.
    Added(String),
}

/// Whether `rustc` has the standard library of `target`.
pub fn installed(rustc: &Path, target: &str) -> bool {
    let output = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", target])
        .output();
    match output {
        Ok(out) if out.status.success() => {
            let libdir = String::from_utf8_lossy(&out.stdout);
            Path::new(libdir.trim()).is_dir()
        }
        _ => false,
    }
}

/// `rustup` on the search path `path` (the value of `PATH`), if any.
pub fn find_rustup(path: Option<&OsStr>) -> Option<PathBuf> {
    let name = if cfg!(windows) {
        "rustup.exe"
    } else {
        "rustup"
    };
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Checks `target` is installed for `rustc`; when it is not and `rustup` is
/// given, runs `rustup target add TARGET` (for `toolchain`, the
/// `RUSTUP_TOOLCHAIN` rustup set for this build, when known) and checks
/// again. The error is the message to print: what is missing and the fix.
pub fn ensure_target(
    rustc: &Path,
    target: &str,
    rustup: Option<&Path>,
    toolchain: Option<&str>,
    prebuilt_var: &str,
) -> Result<Outcome, String> {
    if installed(rustc, target) {
        return Ok(Outcome::Installed);
    }
    let fix = format!(
        "Run `rustup target add {target}`, or set {prebuilt_var}=DIR to a directory of prebuilt plugin components."
    );
    let Some(rustup) = rustup else {
        return Err(format!(
            "the Rust target `{target}` is not installed; the stock plugins are built for it.\n{fix}"
        ));
    };
    let mut cmd = Command::new(rustup);
    cmd.args(["target", "add", target]);
    let mut shown = format!("rustup target add {target}");
    if let Some(t) = toolchain.filter(|t| !t.is_empty()) {
        cmd.args(["--toolchain", t]);
        shown.push_str(&format!(" --toolchain {t}"));
    }
    let out = cmd.output().map_err(|e| {
        format!(
            "the Rust target `{target}` is not installed, and running `{shown}` failed: {e}\n{fix}"
        )
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "the Rust target `{target}` is not installed, and `{shown}` failed ({}):\n{}\n{fix}",
            out.status,
            stderr.trim_end()
        ));
    }
    if !installed(rustc, target) {
        return Err(format!(
            "the Rust target `{target}` is not installed: `{shown}` succeeded but `{}` still lacks it \
             (is this compiler managed by rustup?).\n{fix}",
            rustc.display()
        ));
    }
    Ok(Outcome::Added(shown))
}
