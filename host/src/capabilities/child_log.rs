//! The journal of the processes a step starts: what `cairn resume` checks.

use std::sync::Arc;

use crate::events::{Event, EventSink};

/// Journals the processes a step starts on this machine and their ends
/// (`child-started`, `child-ended`): what `cairn resume` checks.
#[derive(Clone)]
pub struct ChildLog {
    pub(super) events: Arc<dyn EventSink>,
    pub(super) step: String,
}

impl ChildLog {
    pub fn started(&self, started: crate::children::Started, command: &str) {
        self.events.emit(&Event::ChildStarted {
            step: self.step.clone(),
            pid: started.pid,
            start_time: started.start_time,
            cgroup: started.cgroup.map(|p| p.display().to_string()),
            command: command.to_string(),
        });
    }

    /// A command started on an ssh or docker target, its processes marked
    /// `marker` there (see [`crate::targets::marked`]).
    pub fn remote_started(
        &self,
        target: &str,
        at: &cairn_lang::TargetKind,
        marker: &str,
        command: &str,
    ) {
        self.events.emit(&Event::RemoteStarted {
            step: self.step.clone(),
            target: target.to_string(),
            at: serde_json::to_value(at).unwrap_or_default(),
            marker: marker.to_string(),
            command: command.to_string(),
        });
    }

    /// That command ended there (or was ended).
    pub fn remote_ended(&self, marker: &str) {
        self.events.emit(&Event::RemoteEnded {
            step: self.step.clone(),
            marker: marker.to_string(),
        });
    }

    /// The process `pid` ended and was reaped.
    pub fn ended(&self, pid: u32, status: i32) {
        self.events.emit(&Event::ChildEnded {
            step: self.step.clone(),
            pid,
            status,
        });
    }
}
