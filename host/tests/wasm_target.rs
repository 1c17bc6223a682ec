//! The build script's handling of a missing wasm32-wasip2 target
//! (`host/build/wasm_target.rs`), run against a fake `rustc` that lacks the
//! target until a fake `rustup` on the search path adds it. The real path
//! (a toolchain without the target, real rustup) is checked by hand: see
//! `docs/decisions.md`, "The quick start adds the wasm target".

#![cfg(unix)]

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

#[path = "../build/wasm_target.rs"]
#[allow(dead_code)]
mod wasm_target;
use wasm_target::{Outcome, ensure_target, find_rustup};

const TARGET: &str = "wasm32-wasip2";

fn script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A fake toolchain in `dir`: `rustc` prints `dir/lib/TARGET` as the
/// target's libdir (present only once added); with `rustup`, a `bin/rustup`
/// that records its arguments in `dir/rustup-calls` and, unless `broken`,
/// creates the libdir.
fn toolchain(dir: &Path, rustup: bool, broken: bool) -> OsString {
    let lib = dir.join("lib");
    fs::create_dir_all(&lib).unwrap();
    script(
        &dir.join("rustc"),
        &format!("echo \"{}/$4\"", lib.display()),
    );
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    if rustup {
        let calls = dir.join("rustup-calls");
        let add = if broken {
            "echo 'error: could not download' >&2; exit 1".to_string()
        } else {
            format!("mkdir -p \"{}/$3\"", lib.display())
        };
        script(
            &bin.join("rustup"),
            &format!("echo \"$@\" >> \"{}\"\n{add}", calls.display()),
        );
    }
    std::env::join_paths([bin, "/nonexistent-dir".into()]).unwrap()
}

fn calls(dir: &Path) -> String {
    fs::read_to_string(dir.join("rustup-calls")).unwrap_or_default()
}

#[test]
fn a_missing_target_is_added_with_rustup_for_the_build_s_toolchain() {
    let dir = tempfile::tempdir().unwrap();
    let path = toolchain(dir.path(), true, false);
    let rustup = find_rustup(Some(path.as_os_str()));
    assert_eq!(rustup, Some(dir.path().join("bin/rustup")));
    let rustc = dir.path().join("rustc");
    let got = ensure_target(
        &rustc,
        TARGET,
        rustup.as_deref(),
        Some("nightly"),
        "PREBUILT",
    );
    assert_eq!(
        got,
        Ok(Outcome::Added(
            "rustup target add wasm32-wasip2 --toolchain nightly".into()
        ))
    );
    assert_eq!(
        calls(dir.path()),
        "target add wasm32-wasip2 --toolchain nightly\n"
    );

    // Once added, nothing more is run.
    let again = ensure_target(
        &rustc,
        TARGET,
        rustup.as_deref(),
        Some("nightly"),
        "PREBUILT",
    );
    assert_eq!(again, Ok(Outcome::Installed));
    assert_eq!(calls(dir.path()).lines().count(), 1);
}

#[test]
fn without_rustup_the_build_stops_and_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = toolchain(dir.path(), false, false);
    let rustup = find_rustup(Some(path.as_os_str()));
    assert_eq!(rustup, None);
    let err = ensure_target(&dir.path().join("rustc"), TARGET, None, None, "PREBUILT").unwrap_err();
    assert_eq!(
        err,
        "the Rust target `wasm32-wasip2` is not installed; the stock plugins are built for it.\n\
         Run `rustup target add wasm32-wasip2`, or set PREBUILT=DIR to a directory of prebuilt plugin components."
    );
}

#[test]
fn a_failing_rustup_is_quoted_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = toolchain(dir.path(), true, true);
    let rustup = find_rustup(Some(path.as_os_str()));
    let err = ensure_target(
        &dir.path().join("rustc"),
        TARGET,
        rustup.as_deref(),
        None,
        "PREBUILT",
    )
    .unwrap_err();
    assert_eq!(calls(dir.path()), "target add wasm32-wasip2\n");
    assert!(
        err.contains("`rustup target add wasm32-wasip2` failed"),
        "{err}"
    );
    assert!(err.contains("error: could not download"), "{err}");
    assert!(err.contains("set PREBUILT=DIR"), "{err}");
}
