//! Everything a run reports: the journal writes these, the CLI renders them.

use serde::Serialize;
use serde_json::Value;

/// How a run was started; mirrors the WIT `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Apply,
    DryRun,
    Rehearsal,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Apply => "apply",
            Mode::DryRun => "dry-run",
            Mode::Rehearsal => "rehearsal",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Ok,
    Failed,
    Skipped,
    /// Failed, but the step has `continue-on-error=#true`.
    FailedContinued,
}

/// Which list of the runbook a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Main,
    OnFailure,
    Finally,
    Verify,
    /// The `undo` block of a main step.
    Undo,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    RunStarted {
        run_id: String,
        runbook: String,
        version: u64,
        sha256: String,
        file: String,
        mode: Mode,
        params: serde_json::Map<String, Value>,
        started: String,
        cairn: String,
        pid: u32,
        /// The start time of `pid` (`/proc/PID/stat` field 22): with it, a
        /// recycled pid is not taken for this run's cairn.
        #[serde(skip_serializing_if = "Option::is_none")]
        pid_start_time: Option<u64>,
        /// `cairn retry`: the ended run this new run retries.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_of: Option<String>,
    },
    /// `cairn resume` continues this run; the listed steps are not run again.
    RunResumed {
        run_id: String,
        started: String,
        pid: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        pid_start_time: Option<u64>,
        reused: Vec<String>,
    },
    /// A step a resumed run had finished: its recorded outputs are reused.
    StepReused {
        step: String,
        status: StepStatus,
    },
    StepStarted {
        step: String,
        phase: Phase,
        plugin: String,
        plugin_version: String,
        action: String,
        target: Option<String>,
        attempt: u32,
    },
    /// A capability call: what the plugin asked the host to do.
    Capability {
        step: String,
        capability: String,
        /// `read` or `write`.
        effect: String,
        /// True when a write was recorded and not performed (dry-run).
        planned: bool,
        /// One line describing the call (`git -C /srv pull` on `app`).
        summary: String,
        detail: Value,
    },
    /// A process of this machine a step started (its own process group,
    /// `pid`): `cairn resume` checks that none still runs.
    ChildStarted {
        step: String,
        pid: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        start_time: Option<u64>,
        /// Its own cgroup, where cairn made one: it holds every process
        /// the command started, also those that left the process group.
        #[serde(skip_serializing_if = "Option::is_none")]
        cgroup: Option<String>,
        command: String,
    },
    /// A command a step started on another machine or in a container
    /// (an `ssh` or `docker` target), whose processes carry
    /// `CAIRN_EXEC_ID=marker`: `cairn resume` looks for them there.
    RemoteStarted {
        step: String,
        target: String,
        /// The target as it was reached (`kind`, destination or container).
        at: Value,
        marker: String,
        command: String,
    },
    /// That command ended (or was stopped there).
    RemoteEnded {
        step: String,
        marker: String,
    },
    /// That process ended and was reaped.
    ChildEnded {
        step: String,
        pid: u32,
        status: i32,
    },
    /// A long transfer's bytes so far (shown on a terminal, not journaled).
    Progress {
        step: String,
        bytes: u64,
        elapsed_ms: f64,
    },
    Log {
        step: String,
        plugin: String,
        level: String,
        message: String,
        #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
        fields: serde_json::Map<String, Value>,
    },
    StepFinished {
        step: String,
        phase: Phase,
        status: StepStatus,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        outputs: Value,
        duration_ms: f64,
        attempts: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Dry-run: the step's writes were only planned, so its outputs are
        /// not known (later steps see `(known after the step runs)`).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        planned: bool,
    },
    /// Dry-run: the steps of `on-failure` or `finally` follow, and when they
    /// would run (`would run if a step fails`, `always runs`).
    PlanSection {
        phase: Phase,
        note: String,
        /// `undo`: the main step whose undo block follows.
        #[serde(skip_serializing_if = "Option::is_none")]
        of: Option<String>,
    },
    /// A main step failed: the rollback starts (undo blocks, then
    /// `on-failure`). `cairn resume` of a run stopped after this record
    /// continues the rollback, not the main list.
    RollbackStarted {
        /// Why the main list stopped.
        error: String,
        /// A declined confirmation stopped it (the verdict is `refused`).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        refused: bool,
        /// The main steps whose `undo` block runs, in that order.
        undo: Vec<String>,
    },
    Warning {
        message: String,
    },
    /// A `rolling` block starts batch `index` (from 1) of `of`.
    Batch {
        group: String,
        index: usize,
        of: usize,
        members: Vec<String>,
    },
    RunFinished {
        run_id: String,
        /// The coarse outcome (`success`, `failed`, `refused`); `verdict` says more.
        result: RunResult,
        verdict: Verdict,
        duration_ms: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// `rollback-failed`: the undo and `on-failure` steps that failed
        /// or did not run.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        not_undone: Vec<String>,
        /// `rollback-failed`: the main steps that finished and were not
        /// undone; what they changed is left as it is.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        left_changed: Vec<String>,
        /// `failed`: the undo and `on-failure` steps ran, every one succeeded.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        rolled_back: bool,
        /// Each member of the groups the run's steps ran on, and how it ended.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        hosts: Vec<HostState>,
    },
}

/// A member of a group at the end of a run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct HostState {
    pub group: String,
    pub host: String,
    pub state: HostStatus,
    /// A failed member whose finished steps were undone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undone: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostStatus {
    /// Every step ran on it (or was skipped) and stays.
    Done,
    Failed,
    /// Its steps ran and were undone by the rollback.
    Undone,
    /// The run ended before its batch (or its step) came.
    NotReached,
}

impl HostStatus {
    pub fn label(self) -> &'static str {
        match self {
            HostStatus::Done => "done",
            HostStatus::Failed => "failed",
            HostStatus::Undone => "undone",
            HostStatus::NotReached => "not reached",
        }
    }
}

/// How a run ended, as `cairn history`, `--json` and the exit code tell it.
/// Written once, in the run's `run-finished` record; `interrupted` is what
/// a journal without that record reads as once its process is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Succeeded,
    /// A main step failed; every undo and `on-failure` step that ran succeeded.
    Failed,
    /// A main step failed and an undo or `on-failure` step failed (or did
    /// not run after one failed).
    RollbackFailed,
    Refused,
    /// Killed, host crash, lost lock, stopped by a signal: resumable.
    Interrupted,
}

impl Verdict {
    /// As people read it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Succeeded => "succeeded",
            Verdict::Failed => "failed",
            Verdict::RollbackFailed => "failed, rollback failed",
            Verdict::Refused => "refused",
            Verdict::Interrupted => "interrupted",
        }
    }

    /// A verdict as the journal writes it, as people read it; other words as they are.
    pub fn label_of(verdict: &str) -> &str {
        match serde_json::from_value::<Verdict>(Value::String(verdict.to_string())) {
            Ok(v) => v.label(),
            Err(_) => verdict,
        }
    }

    /// As `--json` and the journal write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Succeeded => "succeeded",
            Verdict::Failed => "failed",
            Verdict::RollbackFailed => "rollback-failed",
            Verdict::Refused => "refused",
            Verdict::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    Success,
    Failed,
    Refused,
}

/// Receives a run's events. Implementations must be cheap and thread-safe:
/// steps of a `parallel` block report from their own threads.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: &Event);
}

/// Sends each event to several sinks in order (the journal first).
pub struct Fanout(pub Vec<std::sync::Arc<dyn EventSink>>);

impl EventSink for Fanout {
    fn emit(&self, event: &Event) {
        for sink in &self.0 {
            sink.emit(event);
        }
    }
}

/// Discards everything (validation-time plugin calls, benchmarks).
pub struct NullSink;

impl EventSink for NullSink {
    fn emit(&self, _: &Event) {}
}
