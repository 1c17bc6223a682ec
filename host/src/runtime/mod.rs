//! The plugin runtime: wasmtime's component model, the on-disk cache of
//! compiled components, per-step stores with limits.

pub(crate) use crate::wit as bindings;
mod cache;
pub mod catalog;
mod described;
mod engine_config;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use crate::capabilities::{CapCtx, StepState};
pub use crate::humanize::humanize;
pub use crate::limits::Limits;
pub use bindings::{ActionInfo, Capability, Context, Description, Effect, PluginError, WitMode};
pub use catalog::{Catalog, PluginSource, StockPlugin};

/// The epoch advances this often; deadlines are counted in ticks of it.
const TICK: Duration = Duration::from_millis(5);

/// A compiled plugin, ready to instantiate many times.
pub struct LoadedPlugin {
    pub name: String,
    pub version: semver::Version,
    /// sha256 of the component's bytes, lowercase hex.
    pub digest: String,
    pub source: PluginSource,
    pub description: Description,
    pre: bindings::PluginPre<StepState>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// Why a call into a plugin did not return normally.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin returned its own error.
    #[error("{}", .0.message)]
    Plugin(PluginError),
    /// The plugin ran past its deadline and was interrupted.
    #[error("plugin `{plugin}` timed out after {}", humanize(*.after))]
    Timeout { plugin: String, after: Duration },
    /// The plugin trapped (panic, out of memory, stack overflow, ...).
    #[error("plugin `{plugin}` crashed: {reason}")]
    Trap { plugin: String, reason: String },
    /// The plugin returned outputs larger than the limit; they are dropped.
    #[error("plugin `{plugin}` returned {size} bytes of outputs, over the limit of {limit} bytes")]
    OutputTooLarge {
        plugin: String,
        size: usize,
        limit: usize,
    },
}

pub struct Runtime {
    engine: Engine,
    linker: Linker<StepState>,
    cache_dir: Option<PathBuf>,
    loaded: Mutex<HashMap<String, Arc<LoadedPlugin>>>,
    _ticker: Arc<()>,
}

impl Runtime {
    /// A runtime whose compiled components are cached under `cache_dir`.
    pub fn new(cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let engine = Engine::new(&engine_config::engine_config()).map_err(|e| anyhow!("{e:?}"))?;
        let mut linker: Linker<StepState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| anyhow!("{e:?}"))?;
        bindings::Plugin::add_to_linker::<StepState, HasSelf<StepState>>(&mut linker, |s| s)
            .map_err(|e| anyhow!("{e:?}"))?;
        let ticker = Arc::new(());
        spawn_ticker(engine.clone(), Arc::downgrade(&ticker));
        Ok(Self {
            engine,
            linker,
            cache_dir,
            loaded: Mutex::new(HashMap::new()),
            _ticker: ticker,
        })
    }

    /// Compiles (or loads from the cache) a component and asks it to describe itself.
    pub fn load(&self, bytes: &[u8], source: PluginSource) -> anyhow::Result<Arc<LoadedPlugin>> {
        let digest = hex::encode(Sha256::digest(bytes));
        self.load_component(digest, bytes, None, source)
    }

    /// Loads a stock plugin: its digest is the one the build computed, and
    /// its code the build's precompiled artefact when that fits this engine
    /// and this machine; otherwise the component is compiled (or loaded from
    /// the cache) like any other.
    pub fn load_stock(&self, stock: &StockPlugin) -> anyhow::Result<Arc<LoadedPlugin>> {
        self.load_component(
            stock.sha256.to_string(),
            stock.wasm,
            stock.precompiled,
            PluginSource::Stock(stock.name.to_string()),
        )
    }

    fn load_component(
        &self,
        digest: String,
        bytes: &[u8],
        precompiled: Option<&'static [u8]>,
        source: PluginSource,
    ) -> anyhow::Result<Arc<LoadedPlugin>> {
        if let Some(p) = self.loaded.lock().expect("plugin map").get(&digest) {
            return Ok(p.clone());
        }
        let from_build = precompiled.and_then(|artefact| {
            cache::from_build(&self.engine, self.cache_dir.as_deref(), &digest, artefact)
                .inspect_err(|e| {
                    tracing::debug!(
                        "plugin {source}: the precompiled component built into cairn cannot be \
                         used here ({e}); compiling it"
                    )
                })
                .ok()
        });
        let component = match from_build {
            Some(component) => {
                tracing::debug!(
                    "plugin {source}: using the precompiled component built into cairn"
                );
                component
            }
            None => cache::load_or_compile(&self.engine, self.cache_dir.as_deref(), &digest, bytes)
                .with_context(|| format!("cannot compile plugin {source}"))?,
        };
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow!("plugin {source} needs imports cairn does not provide: {e}"))?;
        let pre = bindings::PluginPre::new(pre)
            .map_err(|e| anyhow!("plugin {source} is not a cairn plugin: {e}"))?;
        let kept = self
            .cache_dir
            .as_deref()
            .and_then(|dir| described::load(dir, &digest));
        let description = match kept {
            Some(d) => d,
            None => {
                let d = self
                    .describe(&pre, &source)
                    .map_err(|e| anyhow!("plugin {source}: `describe` failed: {e}"))?;
                if let Some(dir) = self.cache_dir.as_deref() {
                    described::store(dir, &digest, &d);
                }
                d
            }
        };
        let version = semver::Version::parse(&description.version).map_err(|e| {
            anyhow!(
                "plugin {source} reports version `{}`, which is not semver: {e}",
                description.version
            )
        })?;
        let plugin = Arc::new(LoadedPlugin {
            name: description.name.clone(),
            version,
            digest: digest.clone(),
            source,
            description,
            pre,
        });
        self.loaded
            .lock()
            .expect("plugin map")
            .insert(digest, plugin.clone());
        Ok(plugin)
    }

    fn describe(
        &self,
        pre: &bindings::PluginPre<StepState>,
        source: &PluginSource,
    ) -> Result<Description, CallError> {
        let cx = CapCtx::describe_only(source.to_string());
        let mut store = self.store(cx, &Limits::describe());
        let deadline = Duration::from_secs(5);
        // Quoted by the error messages, so not by `PluginSource`'s Display.
        let name = match source {
            PluginSource::Stock(name) => name.clone(),
            PluginSource::File(path) => path.display().to_string(),
        };
        let result = pre
            .instantiate(&mut store)
            .and_then(|p| p.call_describe(&mut store));
        result.map_err(|e| classify_trap(&name, e, &store, deadline))
    }

    fn store(&self, cx: CapCtx, limits: &Limits) -> Store<StepState> {
        let state = StepState::new(cx, limits);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let ticks = (limits.timeout.as_micros() / TICK.as_micros()).max(1) + 1;
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        // Past the deadline the plugin is interrupted, unless a host call
        // just answered there (a command stopped at the deadline): then it
        // gets a moment, once, to report that answer.
        store.epoch_deadline_callback(|mut ctx| {
            let state = ctx.data_mut();
            if state.late_answer && !state.graced {
                state.graced = true;
                let grace = crate::capabilities::LATE_GRACE.as_micros() / TICK.as_micros();
                return Ok(UpdateDeadline::Continue(u64::try_from(grace).unwrap_or(1)));
            }
            Ok(UpdateDeadline::Interrupt)
        });
        store
    }

    /// Runs one action of a plugin in a fresh store.
    pub fn run(
        &self,
        plugin: &LoadedPlugin,
        cx: CapCtx,
        limits: &Limits,
        ctx: &Context,
        action: &str,
        args: &str,
    ) -> Result<String, CallError> {
        let _span = tracing::debug_span!(
            "plugin_call",
            plugin = %plugin.name,
            action = %action,
            duration_ms = tracing::field::Empty
        )
        .entered();
        let _timed = crate::spans::Timed::new(&_span);
        let mut store = self.store(cx, limits);
        let started = Instant::now();
        let result = plugin
            .pre
            .instantiate(&mut store)
            .and_then(|p| p.call_run(&mut store, ctx, action, args));
        match result {
            Ok(Ok(out)) => {
                if out.len() > limits.max_output {
                    return Err(CallError::OutputTooLarge {
                        plugin: plugin.name.clone(),
                        size: out.len(),
                        limit: limits.max_output,
                    });
                }
                Ok(out)
            }
            Ok(Err(e)) => Err(CallError::Plugin(e)),
            Err(e) => {
                let _ = started;
                Err(classify_trap(&plugin.name, e, &store, limits.timeout))
            }
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// Turns a wasmtime error into a message an operator can act on.
fn classify_trap(
    plugin: &str,
    err: wasmtime::Error,
    store: &Store<StepState>,
    timeout: Duration,
) -> CallError {
    let trap = err.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::Interrupt) {
        return CallError::Timeout {
            plugin: plugin.to_string(),
            after: timeout,
        };
    }
    if let Some(reason) = store.data().cx.fatal.clone() {
        return CallError::Trap {
            plugin: plugin.to_string(),
            reason,
        };
    }
    let stderr = store.data().stderr_tail();
    if trap == Some(Trap::UnreachableCodeReached)
        && !stderr.contains("memory allocation")
        && let Some(reason) = panic_message(store.data(), &stderr)
    {
        return CallError::Trap {
            plugin: plugin.to_string(),
            reason,
        };
    }
    let mut reason = match trap {
        Some(Trap::StackOverflow) => "stack overflow".to_string(),
        Some(Trap::UnreachableCodeReached) if stderr.contains("memory allocation") => {
            "out of memory (the plugin's memory limit was reached)".to_string()
        }
        Some(t) => t.to_string(),
        None => format!("{err:#}"),
    };
    if store.data().memory_limit_hit() && !reason.contains("memory") {
        reason.push_str(" after reaching its memory limit");
    }
    if !stderr.is_empty() {
        reason.push_str(": ");
        reason.push_str(&stderr);
    }
    CallError::Trap {
        plugin: plugin.to_string(),
        reason,
    }
}

/// A Rust panic's location and message, the cause of an `unreachable`
/// trap: from the SDK's panic hook (an `error` log, `plugin panicked at
/// FILE:LINE:COL:\nMESSAGE`) or from std's default hook on stderr (outside
/// `run`, where the SDK installs no hook).
fn panic_message(state: &StepState, stderr: &str) -> Option<String> {
    let text = match &state.last_error_log {
        Some(log) if log.starts_with("plugin panicked at ") => {
            state.cx.redactor.redact(&log["plugin ".len()..])
        }
        _ => {
            let at = stderr.find("panicked at ")?;
            stderr[at..].replace(" | ", "\n")
        }
    };
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Some(lines.join(" "))
}

fn spawn_ticker(engine: Engine, alive: Weak<()>) {
    std::thread::Builder::new()
        .name("cairn-epoch".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawn epoch thread");
}

/// A resource table for a step, re-exported for the capability modules.
pub type Table = ResourceTable;

/// The component bytes type, so callers do not depend on wasmtime.
pub type ComponentBytes = Component;
