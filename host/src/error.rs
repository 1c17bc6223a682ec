//! The error type the CLI maps to exit codes.

use cairn_lang::Diagnostics;

/// Exit codes of the `cairn` binary (DESIGN §4 and §7): one per verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    /// A step failed (and every `on-failure` step that ran succeeded).
    StepFailed = 1,
    Invalid = 2,
    Refused = 3,
    /// A step failed and so did the rollback: state is left half-changed.
    RollbackFailed = 4,
    /// The run was stopped before its end and can be resumed.
    Interrupted = 5,
}

impl ExitCode {
    /// The exit code of a run's verdict.
    pub fn of(v: crate::events::Verdict) -> Self {
        use crate::events::Verdict;
        match v {
            Verdict::Succeeded => ExitCode::Success,
            Verdict::Failed => ExitCode::StepFailed,
            Verdict::RollbackFailed => ExitCode::RollbackFailed,
            Verdict::Refused => ExitCode::Refused,
            Verdict::Interrupted => ExitCode::Interrupted,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A runbook, project file or parameter is invalid.
    #[error("{0}")]
    Invalid(#[from] Diagnostics),
    /// Invalid input that has no source span (a bad command-line argument).
    #[error("{0}")]
    Usage(String),
    /// cairn refused to act: lock held, grant missing, confirmation declined.
    #[error("{0}")]
    Refused(String),
    /// The run started and a step failed.
    #[error("{0}")]
    Failed(String),
    /// Anything else (I/O, the runtime).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    /// The error with secret values and passwords masked in its message.
    pub fn redacted(self, redactor: &crate::redact::Redactor) -> Self {
        match self {
            Error::Usage(m) => Error::Usage(redactor.redact(&m)),
            Error::Refused(m) => Error::Refused(redactor.redact(&m)),
            Error::Failed(m) => Error::Failed(redactor.redact(&m)),
            Error::Other(e) => Error::Other(anyhow::anyhow!(redactor.redact(&format!("{e:#}")))),
            invalid @ Error::Invalid(_) => invalid,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Invalid(_) | Error::Usage(_) => ExitCode::Invalid,
            Error::Refused(_) => ExitCode::Refused,
            Error::Failed(_) | Error::Other(_) => ExitCode::StepFailed,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
