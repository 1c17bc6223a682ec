//! Where plugins come from: the project's plugin directories first, then the
//! stock set built into the binary. Resolved by name and semver requirement.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use super::{LoadedPlugin, Runtime};

/// A stock plugin as `host/build.rs` embedded it in the binary.
#[derive(Debug, Clone, Copy)]
pub struct StockPlugin {
    pub name: &'static str,
    /// The WebAssembly component.
    pub wasm: &'static [u8],
    /// sha256 of `wasm`, lowercase hex, computed by the build.
    pub sha256: &'static str,
    /// `wasm` compiled to native code by the build, with the runtime's
    /// engine configuration, for the building machine's CPU (`None` when
    /// cairn was cross-compiled).
    pub precompiled: Option<&'static [u8]>,
}

mod stock {
    include!(concat!(env!("OUT_DIR"), "/stock_plugins.rs"));
}

/// The stock plugins built into this binary, sorted by name.
pub fn stock_plugins() -> &'static [StockPlugin] {
    stock::STOCK_PLUGINS
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    Stock(String),
    File(PathBuf),
}

impl PluginSource {
    pub fn is_stock(&self) -> bool {
        matches!(self, PluginSource::Stock(_))
    }
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Stock(name) => write!(f, "`{name}` (stock)"),
            PluginSource::File(p) => write!(f, "`{}`", p.display()),
        }
    }
}

pub struct Catalog {
    runtime: Arc<Runtime>,
    dirs: Vec<PathBuf>,
    project: OnceLock<Vec<Result<Arc<LoadedPlugin>, String>>>,
    stock: Mutex<HashMap<String, Arc<LoadedPlugin>>>,
}

impl Catalog {
    pub fn new(runtime: Arc<Runtime>, dirs: Vec<PathBuf>) -> Self {
        Self {
            runtime,
            dirs,
            project: OnceLock::new(),
            stock: Mutex::new(HashMap::new()),
        }
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The project's own plugins (each `.wasm` file of the plugin directories).
    /// A file that cannot be loaded is reported with its error.
    pub fn project_plugins(&self) -> &[Result<Arc<LoadedPlugin>, String>] {
        self.project.get_or_init(|| {
            let mut files = Vec::new();
            for dir in &self.dirs {
                if let Ok(rd) = std::fs::read_dir(dir) {
                    for e in rd.flatten() {
                        let p = e.path();
                        if p.extension().is_some_and(|x| x == "wasm") {
                            files.push(p);
                        }
                    }
                }
            }
            files.sort();
            files
                .into_iter()
                .map(|p| {
                    // A regular file of at most 64 MiB: a FIFO or a link
                    // to `/dev/zero` named `.wasm` must not hang cairn.
                    let bytes = cairn_lang::limits::read_bounded_to(
                        &p,
                        cairn_lang::limits::MAX_PLUGIN_BYTES,
                    )
                    .map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
                    self.runtime
                        .load(&bytes, PluginSource::File(p.clone()))
                        .map_err(|e| format!("{e:#}"))
                })
                // Said once, whatever the command: a runbook that uses the
                // plugin only learns that its name is unknown.
                .inspect(|r| {
                    if let Err(e) = r {
                        tracing::warn!("{e}; the file is ignored");
                    }
                })
                .collect()
        })
    }

    pub fn stock(&self, name: &str) -> Option<Result<Arc<LoadedPlugin>, String>> {
        if let Some(p) = self.stock.lock().expect("stock map").get(name) {
            return Some(Ok(p.clone()));
        }
        let stock = stock_plugins().iter().find(|p| p.name == name)?;
        let loaded = self.runtime.load_stock(stock).map_err(|e| format!("{e:#}"));
        if let Ok(p) = &loaded {
            self.stock
                .lock()
                .expect("stock map")
                .insert(name.to_string(), p.clone());
        }
        Some(loaded)
    }

    /// The newest plugin named `name` that matches `req`: project plugins
    /// first, then the stock set.
    pub fn resolve(
        &self,
        name: &str,
        req: Option<&semver::VersionReq>,
    ) -> Result<Arc<LoadedPlugin>, String> {
        let mut seen = Vec::new();
        let mut best: Option<Arc<LoadedPlugin>> = None;
        for p in self.project_plugins().iter().flatten() {
            if p.name != name {
                continue;
            }
            seen.push(p.version.to_string());
            if req.is_none_or(|r| r.matches(&p.version))
                && best.as_ref().is_none_or(|b| p.version > b.version)
            {
                best = Some(p.clone());
            }
        }
        if let Some(b) = best {
            return Ok(b);
        }
        if let Some(stock) = self.stock(name) {
            let p = stock?;
            if req.is_none_or(|r| r.matches(&p.version)) {
                return Ok(p);
            }
            seen.push(format!("{} (stock)", p.version));
        }
        match (seen.is_empty(), req) {
            (true, _) => Err(format!("unknown plugin `{name}`")),
            (false, Some(r)) => Err(format!(
                "no version of plugin `{name}` matches `{r}` (found {})",
                seen.join(", ")
            )),
            (false, None) => Err(format!("unknown plugin `{name}`")),
        }
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = stock_plugins().iter().map(|p| p.name.to_string()).collect();
        for p in self.project_plugins().iter().flatten() {
            names.push(p.name.clone());
        }
        names.sort();
        names.dedup();
        names
    }
}

impl cairn_lang::PluginCatalog for Catalog {
    fn find(
        &self,
        name: &str,
        req: Option<&semver::VersionReq>,
    ) -> Result<cairn_lang::PluginInfo, String> {
        let p = self.resolve(name, req)?;
        Ok(cairn_lang::PluginInfo {
            name: p.name.clone(),
            version: p.version.clone(),
            actions: p
                .description
                .actions
                .iter()
                .map(|a| a.name.clone())
                .collect(),
            default_action: p.description.default_action.clone(),
        })
    }

    fn names(&self) -> Vec<String> {
        Catalog::names(self)
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    /// The compiled components in the cache `dir`.
    fn files(dir: &std::path::Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .map(|rd| rd.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.to_string_lossy().ends_with(".cwasm"))
            .collect()
    }

    #[test]
    fn the_digests_of_the_stock_plugins_are_the_sha256_of_their_components() {
        for p in stock_plugins() {
            assert_eq!(p.sha256, hex::encode(Sha256::digest(p.wasm)), "{}", p.name);
        }
    }

    #[test]
    fn the_stock_plugins_load_from_their_precompiled_components() {
        // On the machine that built cairn the build's artefacts fit: nothing
        // is compiled. Each artefact is copied to the cache as it is, once,
        // and the next runtime maps it from there.
        let cache = tempfile::tempdir().unwrap();
        for round in 0..2 {
            let runtime = Runtime::new(Some(cache.path().to_path_buf())).unwrap();
            for p in stock_plugins() {
                assert!(p.precompiled.is_some(), "{} was not precompiled", p.name);
                let loaded = runtime.load_stock(p).unwrap();
                assert_eq!(loaded.name, p.name);
                assert_eq!(loaded.digest, p.sha256);
            }
            let mut cached: Vec<_> = files(cache.path());
            cached.sort();
            assert_eq!(
                cached.len(),
                stock_plugins().len(),
                "round {round}: {cached:?}"
            );
            for p in stock_plugins() {
                let name = cached
                    .iter()
                    .find(|n| n.to_string_lossy().starts_with(p.sha256))
                    .unwrap_or_else(|| panic!("{} not cached: {cached:?}", p.name));
                let bytes = std::fs::read(cache.path().join(name)).unwrap();
                assert!(
                    bytes == p.precompiled.unwrap(),
                    "{} cached otherwise",
                    p.name
                );
            }
        }
    }

    #[test]
    fn a_precompiled_component_that_does_not_fit_is_compiled_instead() {
        let noop = stock_plugins().iter().find(|p| p.name == "noop").unwrap();
        // Not a precompiled component at all; and one that wasmtime refuses:
        // compiled by an engine configured otherwise (no epoch interruption).
        let other =
            wasmtime::Engine::new(wasmtime::Config::new().wasm_component_model(true)).unwrap();
        let foreign: &'static [u8] = Box::leak(
            other
                .precompile_component(noop.wasm)
                .unwrap()
                .into_boxed_slice(),
        );
        assert!(wasmtime::Engine::detect_precompiled(foreign).is_some());
        for artefact in [&b"garbage"[..], foreign] {
            let cache = tempfile::tempdir().unwrap();
            let runtime = Runtime::new(Some(cache.path().to_path_buf())).unwrap();
            let unfit = StockPlugin {
                precompiled: Some(artefact),
                ..*noop
            };
            let loaded = runtime.load_stock(&unfit).unwrap();
            assert_eq!(loaded.name, "noop");
            // Compiled here, then cached like any other component.
            assert_eq!(files(cache.path()).len(), 1);
        }
    }

    #[test]
    fn a_plugin_is_described_once_and_its_kept_description_is_used_after() {
        let noop = stock_plugins().iter().find(|p| p.name == "noop").unwrap();
        let cache = tempfile::tempdir().unwrap();
        let asked = Runtime::new(Some(cache.path().to_path_buf()))
            .unwrap()
            .load_stock(noop)
            .unwrap();
        let mut kept = super::super::described::load(cache.path(), noop.sha256)
            .expect("the description was kept");
        assert_eq!(kept.summary, asked.description.summary);
        // What the next runtime uses is the kept description, not a new call.
        kept.summary = "the kept one".into();
        super::super::described::store(cache.path(), noop.sha256, &kept);
        let again = Runtime::new(Some(cache.path().to_path_buf()))
            .unwrap()
            .load_stock(noop)
            .unwrap();
        assert_eq!(again.description.summary, "the kept one");
    }

    #[test]
    fn runtimes_filling_one_cache_at_once_leave_the_build_s_code_whole() {
        let exec = stock_plugins().iter().find(|p| p.name == "exec").unwrap();
        let cache = tempfile::tempdir().unwrap();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    Runtime::new(Some(cache.path().to_path_buf()))
                        .unwrap()
                        .load_stock(exec)
                        .unwrap();
                });
            }
        });
        let names: Vec<_> = std::fs::read_dir(cache.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.starts_with(".tmp")), "{names:?}");
        let code = files(cache.path());
        assert_eq!(code.len(), 1, "{names:?}");
        let bytes = std::fs::read(cache.path().join(&code[0])).unwrap();
        assert!(
            bytes == exec.precompiled.unwrap(),
            "the cached code is not the build's"
        );
    }
}
