//! `cairn plugin test [NAME]`: a plugin's unit tests, natively, against the
//! SDK's mock host: `cargo test` for Rust (in the plugins' shared target
//! directory), `python3 -m unittest` for Python.

use std::process::Command;
use std::time::Instant;

use super::compile::cargo;
use super::{Lang, run_tool, sources, target_dir};
use crate::error::{ExitCode, Result};
use crate::project::Workspace;

pub(in crate::cli::commands) fn plugin_test(
    ws: &Workspace,
    name: Option<&str>,
) -> Result<ExitCode> {
    for src in sources(ws, name)? {
        let started = Instant::now();
        let cmd = match src.lang {
            Lang::Rust => {
                let mut cmd = cargo();
                cmd.args(["test", "--manifest-path"])
                    .arg(src.dir.join("Cargo.toml"))
                    .arg("--target-dir")
                    .arg(target_dir(ws));
                cmd
            }
            Lang::Python => {
                let mut cmd = Command::new(python());
                cmd.args(["-m", "unittest", "discover", "-s", "."])
                    .current_dir(&src.dir)
                    // No bytecode left beside the sources.
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                cmd
            }
        };
        run_tool(
            cmd,
            &format!("testing plugin `{}`", src.name),
            match src.lang {
                Lang::Rust => "install Rust (https://rustup.rs)",
                Lang::Python => "install Python 3 or name it with CAIRN_PYTHON",
            },
        )?;
        println!(
            "plugin `{}`: tests passed in {:.1}s",
            src.name,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::Success)
}

fn python() -> std::ffi::OsString {
    std::env::var_os("CAIRN_PYTHON").unwrap_or_else(|| "python3".into())
}
