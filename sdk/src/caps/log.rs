//! The `log` capability: structured events into the run's journal and the
//! host's tracing (target `plugin::NAME`).

use crate::bindings::cairn::plugin::log;
use crate::mock_host::MockHost;
use crate::wit::WitHost;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// The [`Host`](crate::Host) methods of the `log` capability. Every host
/// has it.
pub trait LogHost {
    /// A structured event into the run's journal and the host's tracing
    /// (target `plugin::NAME`).
    fn log(&self, level: Level, message: &str, fields: &[(&str, &str)]);

    fn debug(&self, message: &str) {
        self.log(Level::Debug, message, &[]);
    }

    fn info(&self, message: &str) {
        self.log(Level::Info, message, &[]);
    }

    fn warn(&self, message: &str) {
        self.log(Level::Warn, message, &[]);
    }
}

impl LogHost for WitHost {
    fn log(&self, level: Level, message: &str, fields: &[(&str, &str)]) {
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        log::log(level_to_wit(level), message, &fields);
    }
}

fn level_to_wit(level: Level) -> log::Level {
    match level {
        Level::Trace => log::Level::Trace,
        Level::Debug => log::Level::Debug,
        Level::Info => log::Level::Info,
        Level::Warn => log::Level::Warn,
        Level::Error => log::Level::Error,
    }
}

/// A `log` call as the mock host records it ([`Call::Log`](crate::mock::Call::Log)).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LogLine {
    pub level: Level,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

impl LogHost for MockHost {
    fn log(&self, level: Level, message: &str, fields: &[(&str, &str)]) {
        self.record(LogLine {
            level,
            message: message.to_string(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
    }
}

impl MockHost {
    /// The `log` calls, in order: level and message.
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.recorded::<LogLine>()
            .into_iter()
            .map(|l| (l.level, l.message))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_recorded() {
        let host = MockHost::new();
        host.info("hello");
        host.log(Level::Warn, "slow", &[("ms", "900")]);
        assert_eq!(
            host.logs(),
            [(Level::Info, "hello".into()), (Level::Warn, "slow".into())]
        );
    }
}
