//! Host capabilities: the one choke point through which every effect a
//! plugin wants passes. Each module implements one WIT interface and
//! enforces grants, dry-run, redaction, journaling and deadlines.

mod child_log;
pub mod programs;
pub mod registry;

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::events::{Event, EventSink, Mode, NullSink};
use crate::limits::Limits;
use crate::redact::Redactor;
pub use crate::targets::Targets;
pub use child_log::ChildLog;
pub use grants::{Allow, Grants};
pub use registry::{Capability, Entry, States, entry};
pub use secrets::SecretStore;

/// Declares each capability's module and lists the capability in
/// [`CAPABILITIES`]: one line per capability.
macro_rules! capabilities {
    ($($module:ident :: $capability:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every capability of the host, in the order of
        /// `cairn_lang::CAPABILITIES` (the grant kinds `cairn.kdl` accepts;
        /// a test holds the two and the `plugin` world's imports together).
        pub const CAPABILITIES: &[Entry] = &[$(entry::<$module::$capability>()),*];
    };
}

capabilities! {
    log::Log,
    exec::Exec,
    grants::ExecEnv,
    transfer::Transfer,
    storage::Storage,
    http::Http,
    socket::Socket,
    docker::Docker,
    dns::Dns,
    secrets::Secrets,
    files::Files,
}

/// What capability states are built from: the project, the run and the
/// step.
pub struct Inputs<'a> {
    pub project: &'a cairn_lang::Project,
    pub secrets: &'a Arc<SecretStore>,
    pub redactor: &'a Arc<Redactor>,
    pub targets: &'a Arc<Targets>,
    pub run_id: &'a str,
    /// The step's target name (`local` when the step names none).
    pub target: &'a str,
    /// Values several capabilities share, built once (see [`Inputs::shared`]).
    shared: RefCell<Vec<Box<dyn Any>>>,
}

impl<'a> Inputs<'a> {
    pub fn new(
        project: &'a cairn_lang::Project,
        secrets: &'a Arc<SecretStore>,
        redactor: &'a Arc<Redactor>,
        targets: &'a Arc<Targets>,
        run_id: &'a str,
        target: &'a str,
    ) -> Self {
        Self {
            project,
            secrets,
            redactor,
            targets,
            run_id,
            target,
            shared: RefCell::new(Vec::new()),
        }
    }

    /// The value of type `T` the capabilities of this step share (the
    /// project's storages of `storage` and `transfer`): made by the first
    /// that asks, cloned for the others.
    pub fn shared<T: Any + Clone>(&self, make: impl FnOnce() -> T) -> T {
        if let Some(v) = self
            .shared
            .borrow()
            .iter()
            .find_map(|v| v.downcast_ref::<T>())
        {
            return v.clone();
        }
        let v = make();
        self.shared.borrow_mut().push(Box::new(v.clone()));
        v
    }
}

/// What the host knows while a plugin runs one step: the core every
/// capability shares, and each capability's own state ([`registry`]).
pub struct CapCtx {
    pub plugin: String,
    pub step: String,
    pub mode: Mode,
    /// `--offline`: not even reads are performed.
    pub offline: bool,
    pub grants: Grants,
    pub deadline: Instant,
    pub events: Arc<dyn EventSink>,
    pub redactor: Arc<Redactor>,
    pub limits: Limits,
    /// Log events emitted so far in this call.
    pub log_events: usize,
    /// Set when a host call ends the plugin on purpose (a trap with a reason).
    pub fatal: Option<String>,
    /// Each registered capability's state, built from [`CAPABILITIES`].
    pub states: States,
}

impl CapCtx {
    /// The context of a `describe` call: nothing is granted.
    pub fn describe_only(plugin: String) -> Self {
        Self {
            plugin,
            step: String::new(),
            mode: Mode::DryRun,
            offline: true,
            grants: Grants::none(),
            deadline: Instant::now() + Duration::from_secs(5),
            events: Arc::new(NullSink),
            redactor: Arc::new(Redactor::new()),
            limits: Limits::describe(),
            log_events: 0,
            fatal: None,
            states: States::describe(),
        }
    }

    /// The state of capability `C`, its own.
    pub fn state<C: Capability>(&self) -> &C::State {
        self.states.get::<C>()
    }

    /// Time left before the step's deadline, and at most `cap`.
    pub fn remaining(&self, cap: Option<Duration>) -> Duration {
        let left = self.deadline.saturating_duration_since(Instant::now());
        cap.map_or(left, |c| c.min(left))
    }

    /// Whether an effect must be recorded rather than performed.
    pub fn plans(&self, write: bool) -> bool {
        self.offline || (write && self.mode == Mode::DryRun)
    }

    pub fn emit(&self, event: Event) {
        if let Event::Capability {
            capability,
            effect,
            planned,
            summary,
            detail,
            ..
        } = &event
        {
            // One line per host call inside the step's and the plugin
            // call's spans; the summary is already redacted.
            tracing::debug!(
                target: "cairn::host_call",
                capability = %capability,
                effect = %effect,
                planned = planned,
                duration_ms = detail.get("duration_ms").and_then(serde_json::Value::as_f64),
                "{summary}"
            );
        }
        self.events.emit(&event);
    }

    /// Journals the processes this step starts.
    pub fn child_log(&self) -> ChildLog {
        ChildLog {
            events: self.events.clone(),
            step: self.step.clone(),
        }
    }

    /// A refusal in the one fixed phrasing used for every capability.
    pub fn denied(&self, capability: &str, value: &str) -> String {
        format!(
            "{capability}: `{value}` is not permitted for plugin `{}` (grant it in cairn.kdl: `grant plugin={} {{ {capability} \"{value}\" }}`)",
            self.plugin, self.plugin
        )
    }
}

/// A store's data: WASI with no ambient authority, the resource table, the
/// limiter and the capability context.
pub struct StepState {
    wasi: WasiCtx,
    pub table: ResourceTable,
    pub limits: MemLimiter,
    pub cx: CapCtx,
    /// Resources the plugin holds now.
    pub handles: usize,
    /// The plugin's last `error` log message, kept even past the log cap:
    /// the SDK's panic hook logs the panic message there just before the
    /// component traps.
    pub last_error_log: Option<String>,
    /// Set when a host call answered at or past the step's deadline (a
    /// command stopped there, which takes a moment in a container): the
    /// plugin then gets [`LATE_GRACE`], once, to pass the answer on before
    /// the epoch interrupts it.
    pub late_answer: bool,
    /// Whether that grace was given.
    pub graced: bool,
    stderr: MemoryOutputPipe,
}

/// How long a plugin may run past its deadline to report a host call that
/// ended there.
pub const LATE_GRACE: Duration = Duration::from_millis(500);

impl StepState {
    /// Notes a host call that answers at or past the step's deadline.
    pub fn mark_if_late(&mut self) {
        if Instant::now() >= self.cx.deadline {
            self.late_answer = true;
        }
    }

    pub fn new(cx: CapCtx, limits: &Limits) -> Self {
        let stderr = MemoryOutputPipe::new(64 << 10);
        // No environment, no arguments, no network (the builder denies
        // sockets and name lookups unless asked), and no directory but those
        // a `files` grant names.
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(MemoryOutputPipe::new(64 << 10))
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        files::preopen_granted_dirs(&mut builder, &cx);
        let wasi = builder.build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limits: MemLimiter {
                max_memory: limits.memory,
                hit: false,
            },
            cx,
            handles: 0,
            last_error_log: None,
            late_answer: false,
            graced: false,
            stderr,
        }
    }

    /// The last lines the plugin wrote to stderr (a panic message, usually),
    /// without std's hint about `RUST_BACKTRACE`, which nobody can set for a
    /// plugin.
    pub fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim();
        let tail: Vec<&str> = text
            .lines()
            .rev()
            .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE=1`"))
            .take(5)
            .collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        self.cx.redactor.redact(&tail.join(" | "))
    }

    pub fn memory_limit_hit(&self) -> bool {
        self.limits.hit
    }
}

impl WasiView for StepState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory and tables; remembers whether the cap was hit so a
/// later trap can be explained.
pub struct MemLimiter {
    max_memory: usize,
    hit: bool,
}

impl wasmtime::ResourceLimiter for MemLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = desired <= self.max_memory;
        if !ok {
            self.hit = true;
        }
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl crate::wit::cairn::plugin::types::Host for StepState {}

#[cfg(test)]
mod registry_tests;
