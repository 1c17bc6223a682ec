//! Dry-run of an undo, on-failure or finally step that uses what earlier
//! steps return only when they run: the plugin is not called with a
//! placeholder (it would guess, or fail on it); the plan says what will run.

use std::time::Instant;

use cairn_lang::Step;
use serde_json::{Value, json};

use super::Resolved;
use super::step::{End, Executor, UNKNOWN};
use crate::events::{Event, Phase, StepStatus};

impl Executor<'_> {
    /// The plan of a step whose arguments `later` are known only when the
    /// run gets there: what would run, and nothing guessed.
    pub(super) fn plan_later(
        &self,
        step: &Step,
        phase: Phase,
        resolved: &Resolved,
        later: &[String],
        started: Instant,
    ) {
        self.sink.emit(&resolved.started_event(step, phase, 1));
        let names: Vec<String> = later.iter().map(|n| format!("`{n}`")).collect();
        self.sink.emit(&Event::Capability {
            step: step.id.clone(),
            capability: "plan".into(),
            effect: "write".into(),
            planned: true,
            summary: format!(
                "run {} {} with {} as the steps before it return {} when they run",
                resolved.plugin.name,
                resolved.action,
                names.join(", "),
                if names.len() == 1 { "it" } else { "them" }
            ),
            detail: json!({ "known-later": later }),
        });
        self.finish(
            step,
            phase,
            started,
            End {
                status: StepStatus::Ok,
                outputs: json!({}),
                attempts: 0,
                error: None,
                reason: None,
                planned: true,
            },
        );
    }
}

/// The arguments whose value holds a reference known only after a planned
/// step runs, by name, in order.
pub(super) fn known_later(args: &Value) -> Vec<String> {
    fn has(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains(UNKNOWN),
            Value::Array(a) => a.iter().any(has),
            Value::Object(m) => m.values().any(has),
            _ => false,
        }
    }
    args.as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| has(v))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}
