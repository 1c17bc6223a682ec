//! Compiled components: cached on disk, keyed by the component's digest and
//! the engine's compatibility hash, so a warm step start skips Cranelift;
//! and the stock plugins' components precompiled by the build.
//!
//! The one module of the runtime that deserializes native code, which is
//! `unsafe`: each place says why its bytes are trusted.
#![allow(unsafe_code)]

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use wasmtime::component::Component;
use wasmtime::{Engine, Precompiled};

/// A stock plugin's component precompiled by `host/build.rs` and embedded in
/// the binary. An error when it does not fit this engine or this machine
/// (another wasmtime, another configuration, a CPU without a feature the
/// building machine had): the caller then compiles the component itself.
///
/// With a cache directory the artefact is written there once, under the
/// name a compiled component of the same digest would have, and mapped from
/// that file by later runs: a mapped file is shared with the page cache,
/// where the embedded bytes would be copied into fresh memory by every run
/// (a 0.8 MB copy for `exec`, and a memory image built per run).
pub fn from_build(
    engine: &Engine,
    dir: Option<&Path>,
    digest: &str,
    artefact: &'static [u8],
) -> anyhow::Result<Component> {
    if Engine::detect_precompiled(artefact) != Some(Precompiled::Component) {
        bail!("not a precompiled component");
    }
    let path = dir.map(|d| (d, cached_path(engine, d, digest)));
    if let Some(c) = path.as_ref().and_then(|(_, p)| mapped(engine, p)) {
        return Ok(c);
    }
    // SAFETY: the bytes are a constant of this binary: `host/build.rs`
    // produced them with `Engine::precompile_component` from the stock
    // plugins built from this repository's own sources, with the engine
    // configuration of `engine_config.rs` that this engine was built from,
    // and embedded them with `include_bytes!`; nothing outside the build can
    // change them. wasmtime checks its version, the configuration and the
    // CPU features they need before using them, and refuses them (an error,
    // not undefined behaviour) when they do not fit.
    let component =
        unsafe { Component::deserialize(engine, artefact) }.map_err(|e| anyhow!("{e:#}"))?;
    // They fit: the next run maps them from the cache.
    if let Some((dir, path)) = &path
        && let Err(e) = write_atomically(dir, path, artefact)
    {
        tracing::debug!(path = %path.display(), "cannot cache the precompiled component: {e}");
    }
    Ok(component)
}

/// The component the cache holds at `path`, mapped from its file; `None`
/// when there is none, or one that does not load (the caller replaces it).
fn mapped(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.exists() {
        return None;
    }
    // SAFETY: the file was written by cairn (`write_atomically`: whole,
    // then renamed into place, never written again) under its own state
    // directory, named after the digest of the source component and the
    // compatibility hash of the engine that compiled it: this engine's
    // `precompile_component`, or the build's for a stock plugin (see
    // `from_build`). wasmtime checks its header before use.
    match unsafe { Component::deserialize_file(engine, path) } {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(path = %path.display(), "discarding unreadable compiled component: {e}");
            None
        }
    }
}

/// Where the cache keeps the component of `digest` compiled by `engine`.
fn cached_path(engine: &Engine, dir: &Path, digest: &str) -> PathBuf {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    dir.join(format!("{digest}-{:016x}.cwasm", h.finish()))
}

pub fn load_or_compile(
    engine: &Engine,
    dir: Option<&Path>,
    digest: &str,
    bytes: &[u8],
) -> anyhow::Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, bytes).map_err(|e| anyhow!("{e:?}"));
    };
    let path = cached_path(engine, dir, digest);
    if let Some(c) = mapped(engine, &path) {
        return Ok(c);
    }
    let compiled = engine
        .precompile_component(bytes)
        .map_err(|e| anyhow!("{e:?}"))?;
    if let Err(e) = write_atomically(dir, &path, &compiled) {
        tracing::warn!(path = %path.display(), "cannot cache compiled component: {e}");
    }
    // SAFETY: the bytes were just produced by `precompile_component` of this engine.
    unsafe { Component::deserialize(engine, &compiled) }.map_err(|e| anyhow!("{e:?}"))
}

pub(super) fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // A name no other writer uses, in this process (two threads may load
    // one plugin at once) or another: a file is written whole before it is
    // renamed into place, and never written again once there (another
    // process may have it mapped).
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("c")
    ));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        // The temporary file this call made (its name is this call's own).
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
