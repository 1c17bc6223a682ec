//! Limits that apply to every call into a plugin.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock time for the whole call (epoch interruption inside the
    /// plugin, a deadline on every host call).
    pub timeout: Duration,
    /// Linear memory of the plugin, in bytes.
    pub memory: usize,
    /// Size of the outputs JSON a plugin may return.
    pub max_output: usize,
    /// Log events a plugin may emit in one call; the rest are dropped with a warning.
    pub max_log_events: usize,
    /// Bytes of stdout/stderr captured from one `exec` call.
    pub max_exec_capture: usize,
    /// Resources (secret handles, ...) a plugin may hold at once.
    pub max_handles: usize,
}

impl Limits {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

    pub fn step(timeout: Option<Duration>) -> Self {
        Self {
            timeout: timeout.unwrap_or(Self::DEFAULT_TIMEOUT),
            memory: 256 << 20,
            max_output: 1 << 20,
            max_log_events: 10_000,
            max_exec_capture: 16 << 20,
            max_handles: 1_000,
        }
    }

    pub fn describe() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            ..Self::step(None)
        }
    }
}
