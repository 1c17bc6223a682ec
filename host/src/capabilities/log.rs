//! `log`: structured events from plugins into the journal and tracing.

use crate::events::Event;
use crate::wit::cairn::plugin::log::{self as wit, Level};

use super::StepState;
use super::registry::Capability;

const MAX_MESSAGE: usize = 16 << 10;
/// Of the last `error` message, kept to explain a trap.
const MAX_LAST_ERROR: usize = 2 << 10;

/// The `log` capability.
pub struct Log;

impl Capability for Log {
    const NAME: &'static str = "log";
    type State = ();
}

impl wit::Host for StepState {
    fn log(
        &mut self,
        level: Level,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        if matches!(level, Level::Error) {
            // Kept (even past the log cap) to explain a trap that follows:
            // the SDK's panic hook logs the panic message just before it.
            let mut end = message.len().min(MAX_LAST_ERROR);
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            self.last_error_log = Some(message[..end].to_string());
        }
        let cx = &mut self.cx;
        cx.log_events += 1;
        if cx.log_events > cx.limits.max_log_events {
            if cx.log_events == cx.limits.max_log_events + 1 {
                cx.emit(Event::Warning {
                    message: format!(
                        "plugin `{}` logged more than {} events in step `{}`; the rest are dropped",
                        cx.plugin, cx.limits.max_log_events, cx.step
                    ),
                });
            }
            return Ok(());
        }
        let level = match level {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        };
        let mut message = message;
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str(" …(truncated)");
        }
        let fields = fields
            .into_iter()
            .take(64)
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        tracing::event!(target: "plugin", tracing::Level::DEBUG, plugin = %cx.plugin, step = %cx.step, level, "{}", cx.redactor.redact(&message));
        cx.emit(Event::Log {
            step: cx.step.clone(),
            plugin: cx.plugin.clone(),
            level: level.to_string(),
            message,
            fields,
        });
        Ok(())
    }
}
