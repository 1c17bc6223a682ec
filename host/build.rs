//! Builds the stock plugins and embeds them in the `cairn` binary.
//!
//! Runs `cargo build --release --target wasm32-wasip2` on the plugins
//! workspace (`plugins/Cargo.toml`) with a target directory of its own, then
//! writes `$OUT_DIR/stock_plugins.rs`:
//!
//! ```ignore
//! pub static STOCK_PLUGINS: &[super::StockPlugin] = &[
//!     super::StockPlugin {
//!         name: "exec",
//!         wasm: include_bytes!(...),
//!         sha256: "...",
//!         precompiled: Some(include_bytes!(...)),
//!     },
//!     ...
//! ];
//! ```
//!
//! which the host includes with
//! `include!(concat!(env!("OUT_DIR"), "/stock_plugins.rs"))`.
//!
//! Each component's sha256 is computed here, and each component is compiled
//! here to native code by wasmtime (`Engine::precompile_component`) with the
//! runtime's own engine configuration (`src/runtime/engine_config.rs`,
//! included below), so a first run of cairn loads the stock plugins without
//! running Cranelift. The artefact is built for the CPU of the building
//! machine; the runtime checks it fits the running one and compiles the
//! component itself when it does not. When cross-compiling (`TARGET` is not
//! `HOST`) nothing is precompiled.
//!
//! A plugin lives in `plugins/NAME/` and its library is named NAME with `-`
//! turned into `_` (`plugins/http-check` builds `http_check.wasm`); NAME is
//! the name it is embedded under.
//!
//! When the wasm32-wasip2 target is missing and `rustup` is on the PATH,
//! it is added with `rustup target add` (a one-line cargo warning says so);
//! without rustup the build stops and names the fix (`build/wasm_target.rs`).
//!
//! `CAIRN_PLUGINS_PREBUILT=DIR` skips the build and takes the components
//! from DIR (`NAME.wasm` or `LIB_NAME.wasm`), for machines without the
//! wasm32-wasip2 target.
//!
//! It also builds the test-only plugins of `tests/plugins/` (a workspace of
//! its own, laid out like `plugins/`: `tests/plugins/NAME/`, library NAME
//! with `-` turned into `_`) the same way and into the same target
//! directory, copies each component to `$OUT_DIR/test-plugins/NAME.wasm` and
//! sets `CAIRN_TEST_PLUGINS` to that directory for the integration tests
//! (`env!("CAIRN_TEST_PLUGINS")`). They are never embedded. With
//! `CAIRN_PLUGINS_PREBUILT` set, or without `tests/plugins/` (a packaged
//! crate), they are not built: the directory is left empty and the tests
//! that need them say so and pass.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, exit};
use std::time::Instant;

use sha2::{Digest, Sha256};

/// The runtime's engine configuration: the precompiled components must be
/// built by an engine configured exactly like the one that loads them.
#[path = "src/runtime/engine_config.rs"]
mod engine_config;

/// Adds the wasm32-wasip2 target with rustup when it is missing.
#[path = "build/wasm_target.rs"]
mod wasm_target;

const WASM_TARGET: &str = "wasm32-wasip2";
const PREBUILT_VAR: &str = "CAIRN_PLUGINS_PREBUILT";
/// The workspace of test-only plugins, relative to the repository root.
const TEST_PLUGINS: &str = "tests/plugins";

/// Variables the outer cargo sets (or the user set for the outer build) that
/// would change or break the nested build: flags and wrappers meant for the
/// host target, the outer target and target dir (a nested cargo on the outer
/// target dir waits forever on its lock), the outer jobserver.
const CLEARED_VARS: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_BUILD_DIR",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_LLVM_COV",
];

/// Prefixes of the same kind: per-target settings (`CARGO_TARGET_<TRIPLE>_*`)
/// and profile overrides meant for the host build.
const CLEARED_PREFIXES: &[&str] = &["CARGO_TARGET_", "CARGO_PROFILE_"];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("host/ has a parent")
        .to_path_buf();
    let plugins_dir = root.join("plugins");
    let test_plugins_dir = root.join(TEST_PLUGINS);
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    let names = plugin_names(&plugins_dir);
    let test_names = if test_plugins_dir.join("Cargo.toml").is_file() {
        plugin_names(&test_plugins_dir)
    } else {
        Vec::new()
    };
    watch(&root, &names, &test_names);

    let prebuilt = env::var_os(PREBUILT_VAR);
    let wasm_dir = match &prebuilt {
        Some(dir) => PathBuf::from(dir),
        None => build_plugins(&plugins_dir, &root, &out_dir),
    };
    embed(&wasm_dir, &names, &out_dir);

    let test_dest = out_dir.join("test-plugins");
    fs::create_dir_all(&test_dest)
        .unwrap_or_else(|e| fail(&format!("cannot create `{}`: {e}", test_dest.display())));
    if prebuilt.is_none() && !test_names.is_empty() {
        let wasm_dir = build_plugins(&test_plugins_dir, &root, &out_dir);
        for name in &test_names {
            let bytes = read_component(&wasm_dir, name);
            write_if_changed(&test_dest.join(format!("{name}.wasm")), &bytes);
        }
    }
    println!("cargo:rustc-env=CAIRN_TEST_PLUGINS={}", test_dest.display());
}

/// The plugin crates: directories of `plugins/` holding a `Cargo.toml`.
fn plugin_names(plugins_dir: &Path) -> Vec<String> {
    let entries = fs::read_dir(plugins_dir)
        .unwrap_or_else(|e| fail(&format!("cannot read `{}`: {e}", plugins_dir.display())));
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    if names.is_empty() {
        fail(&format!("no plugin crates in `{}`", plugins_dir.display()));
    }
    names
}

/// Reruns when a plugin (stock or test), the SDK or the WIT changes.
/// Directories are scanned whole by cargo, so `plugins/` and `tests/plugins/`
/// themselves are not listed (their `target/` would count).
fn watch(root: &Path, names: &[String], test_names: &[String]) {
    let mut paths = vec![
        root.join("Cargo.toml"),
        root.join("wit"),
        root.join("sdk/Cargo.toml"),
        root.join("sdk/src"),
        root.join("plugins/Cargo.toml"),
        root.join("plugins/Cargo.lock"),
        root.join("host/src/runtime/engine_config.rs"),
    ];
    for name in names {
        paths.push(root.join("plugins").join(name).join("Cargo.toml"));
        paths.push(root.join("plugins").join(name).join("src"));
    }
    // Listed even when absent, so creating the workspace triggers a rerun.
    let tests = root.join(TEST_PLUGINS);
    paths.push(tests.join("Cargo.toml"));
    if !test_names.is_empty() {
        paths.push(tests.join("Cargo.lock"));
    }
    for name in test_names {
        paths.push(tests.join(name).join("Cargo.toml"));
        paths.push(tests.join(name).join("src"));
    }
    for path in paths {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-env-changed={PREBUILT_VAR}");
}

/// Builds a plugins workspace (`plugins/` or `tests/plugins/`, both into the
/// same target directory with the same flags, so shared dependencies build
/// once); returns the directory holding the `.wasm` files.
fn build_plugins(plugins_dir: &Path, root: &Path, out_dir: &Path) -> PathBuf {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    check_target_installed(Path::new(&rustc));

    let target_dir = wasm_target_dir(out_dir);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(WASM_TARGET)
        .arg("--manifest-path")
        .arg(plugins_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for var in CLEARED_VARS {
        cmd.env_remove(var);
    }
    for (var, _) in env::vars_os() {
        if let Some(var) = var.to_str()
            && CLEARED_PREFIXES.iter().any(|p| var.starts_with(p))
        {
            cmd.env_remove(var);
        }
    }
    // The same compiler as the outer build.
    cmd.env("RUSTC", &rustc);
    // Components built from the same sources are the same bytes wherever the
    // checkout and the cargo home are (paths end up in panic locations).
    let mut flags = vec![remap(root, "/cairn")];
    if let Some(cargo_home) = cargo_home() {
        flags.push(remap(&cargo_home, "/cargo"));
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"));

    eprintln!("running: {cmd:?}");
    let rel = plugins_dir
        .strip_prefix(root)
        .unwrap_or(plugins_dir)
        .display()
        .to_string();
    let what = if rel == "plugins" {
        "the stock plugins"
    } else {
        "the test plugins"
    };
    let status = cmd
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run cargo to build {what}: {e}")));
    if !status.success() {
        fail(&format!(
            "building {what} failed ({status}); the cargo output is above. \
             Reproduce with `cargo build --release --target {WASM_TARGET} --manifest-path {rel}/Cargo.toml`"
        ));
    }
    target_dir.join(WASM_TARGET).join("release")
}

fn remap(from: &Path, to: &str) -> String {
    format!("--remap-path-prefix={}={to}", from.display())
}

fn cargo_home() -> Option<PathBuf> {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
}

/// `TARGET_DIR/wasm-plugins`, next to the outer build's profile directories
/// (`OUT_DIR` is `TARGET_DIR/PROFILE/build/PKG-HASH/out`), so every profile
/// of the host shares one plugin build.
fn wasm_target_dir(out_dir: &Path) -> PathBuf {
    let mut up = out_dir.ancestors();
    match (up.nth(2), up.nth(1)) {
        (Some(build), Some(target)) if build.file_name().is_some_and(|n| n == "build") => {
            target.join("wasm-plugins")
        }
        _ => out_dir.join("wasm-plugins"),
    }
}

/// Stops the build when the target is missing and cannot be added; says on
/// one line when it was added.
fn check_target_installed(rustc: &Path) {
    let rustup = wasm_target::find_rustup(env::var_os("PATH").as_deref());
    let toolchain = env::var("RUSTUP_TOOLCHAIN").ok();
    match wasm_target::ensure_target(
        rustc,
        WASM_TARGET,
        rustup.as_deref(),
        toolchain.as_deref(),
        PREBUILT_VAR,
    ) {
        Ok(wasm_target::Outcome::Installed) => {}
        Ok(wasm_target::Outcome::Added(command)) => println!(
            "cargo:warning=the Rust target `{WASM_TARGET}` was missing (the stock plugins are built for it); added it with `{command}`"
        ),
        Err(message) => fail(&message),
    }
}

/// Copies each component into `OUT_DIR/plugins/` with its precompiled
/// artefact (`NAME.cwasm`) and writes `OUT_DIR/stock_plugins.rs`.
fn embed(wasm_dir: &Path, names: &[String], out_dir: &Path) {
    let dest = out_dir.join("plugins");
    fs::create_dir_all(&dest)
        .unwrap_or_else(|e| fail(&format!("cannot create `{}`: {e}", dest.display())));
    let engine = precompiling_engine();
    let mut code = String::from(
        "// Generated by host/build.rs from the crates in plugins/.\n\n\
         /// The stock plugins, sorted by name.\n\
         pub static STOCK_PLUGINS: &[super::StockPlugin] = &[\n",
    );
    for name in names {
        let bytes = read_component(wasm_dir, name);
        write_if_changed(&dest.join(format!("{name}.wasm")), &bytes);
        let sha256: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let precompiled = match &engine {
            Some(engine) => {
                let started = Instant::now();
                let compiled = engine.precompile_component(&bytes).unwrap_or_else(|e| {
                    fail(&format!("cannot precompile stock plugin `{name}`: {e:?}"))
                });
                eprintln!(
                    "precompiled `{name}` in {:.1?} ({} bytes)",
                    started.elapsed(),
                    compiled.len()
                );
                write_if_changed(&dest.join(format!("{name}.cwasm")), &compiled);
                format!(
                    "Some(include_bytes!(concat!(env!(\"OUT_DIR\"), \"/plugins/{name}.cwasm\")))"
                )
            }
            None => "None".to_string(),
        };
        code.push_str(&format!(
            "    super::StockPlugin {{\n        \
                 name: {name:?},\n        \
                 wasm: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/plugins/{name}.wasm\")),\n        \
                 sha256: {sha256:?},\n        \
                 precompiled: {precompiled},\n    \
             }},\n"
        ));
    }
    code.push_str("];\n");
    write_if_changed(&out_dir.join("stock_plugins.rs"), code.as_bytes());
}

/// The engine that precompiles the stock plugins: configured by
/// `engine_config()` like the runtime's, for this machine. `None` when
/// cross-compiling: the artefact would not run where the build runs, and the
/// target's CPU features are unknown here, so the runtime compiles the
/// plugins on first use instead.
fn precompiling_engine() -> Option<wasmtime::Engine> {
    let host = env::var("HOST").unwrap_or_default();
    let target = env::var("TARGET").unwrap_or_default();
    if host != target {
        eprintln!("cross-compiling ({host} to {target}): the stock plugins are not precompiled");
        return None;
    }
    let engine = wasmtime::Engine::new(&engine_config::engine_config())
        .unwrap_or_else(|e| fail(&format!("cannot create the wasmtime engine: {e:?}")));
    Some(engine)
}

/// The component of plugin `name` in `wasm_dir` (`NAME.wasm` or
/// `LIB_NAME.wasm`).
fn read_component(wasm_dir: &Path, name: &str) -> Vec<u8> {
    let candidates = [
        wasm_dir.join(format!("{name}.wasm")),
        wasm_dir.join(format!("{}.wasm", name.replace('-', "_"))),
    ];
    let Some(bytes) = candidates.iter().find_map(|p| fs::read(p).ok()) else {
        fail(&format!(
            "no component for plugin `{name}`: looked for `{}`; is its library named `{}`?",
            candidates[1].display(),
            name.replace('-', "_")
        ));
    };
    if !is_component(&bytes) {
        fail(&format!(
            "`{name}.wasm` is not a WebAssembly component (a core module?); build it for `{WASM_TARGET}`"
        ));
    }
    bytes
}

/// The preamble of a component: `\0asm`, version 0x0d, layer 1.
fn is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] == [0x0d, 0x00, 0x01, 0x00]
}

/// Leaves the file (and its mtime) alone when nothing changed.
fn write_if_changed(path: &Path, bytes: &[u8]) {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return;
    }
    fs::write(path, bytes)
        .unwrap_or_else(|e| fail(&format!("cannot write `{}`: {e}", path.display())));
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    exit(1);
}
