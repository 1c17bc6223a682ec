//! Compiled components cached on disk, keyed by the component's digest and
//! the engine's compatibility hash, so a warm step start skips Cranelift.
#![allow(unsafe_code)]

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use anyhow::anyhow;
use wasmtime::Engine;
use wasmtime::component::Component;

pub fn load_or_compile(
    engine: &Engine,
    dir: Option<&Path>,
    digest: &str,
    bytes: &[u8],
) -> anyhow::Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, bytes).map_err(|e| anyhow!("{e:?}"));
    };
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let path = dir.join(format!("{digest}-{:016x}.cwasm", h.finish()));
    if path.exists() {
        // SAFETY: the file was written by `precompile_component` of an engine
        // with the same compatibility hash, under cairn's own state
        // directory, named after the digest of the source component; wasmtime
        // checks its header before use. A file that fails to load is replaced.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => return Ok(c),
            Err(e) => {
                tracing::warn!(path = %path.display(), "discarding unreadable compiled component: {e}")
            }
        }
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

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        path.file_name().and_then(|n| n.to_str()).unwrap_or("c")
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
