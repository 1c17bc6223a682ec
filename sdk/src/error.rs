//! The two errors a plugin deals with: the one it returns, and the one a host
//! call can give it.

use std::fmt;

/// Why an action failed; becomes `plugin-error` in the WIT and the step's
/// error message.
///
/// Messages follow cairn's style: lowercase, names in backticks, no trailing
/// period, e.g. ``expected status 200 from `https://example.com/`, got 503``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    pub message: String,
    /// The argument the error is about, as a path: `url`, `expect.status`,
    /// `run[0]`. The host points at that argument in the runbook.
    pub field: Option<String>,
}

impl PluginError {
    pub fn new(message: impl Into<String>) -> Self {
        PluginError {
            message: message.into(),
            field: None,
        }
    }

    /// An error about one argument: ``argument `FIELD`: MESSAGE``.
    pub fn arg(field: impl Into<String>, message: impl fmt::Display) -> Self {
        let field = field.into();
        PluginError {
            message: format!("argument `{field}`: {message}"),
            field: Some(field),
        }
    }

    /// ``unknown action `NAME` ``, for the fallback arm of `Plugin::run`.
    pub fn unknown_action(action: &str) -> Self {
        PluginError::new(format!("unknown action `{action}`"))
    }

    /// Sets the argument the error is about, keeping the message.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

/// A host capability call failed (denied, unreachable, timed out, ...). The
/// message comes from the host and is already phrased for the user, so `?`
/// turns it into a [`PluginError`] unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    pub message: String,
}

impl HostError {
    pub fn new(message: impl Into<String>) -> Self {
        HostError {
            message: message.into(),
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {}

impl From<HostError> for PluginError {
    fn from(e: HostError) -> Self {
        PluginError::new(e.message)
    }
}
