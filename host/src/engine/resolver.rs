//! Values for `{{ }}` references while a run goes on.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use cairn_lang::{Ref, Scope, TargetKind};
use serde_json::{Value, json};

use crate::capabilities::{SecretStore, Targets};
use crate::events::StepStatus;
use crate::redact::Redactor;

/// What a finished step left for later steps.
#[derive(Debug, Clone)]
pub struct StepDone {
    pub status: StepStatus,
    pub outputs: Value,
    /// Dry-run: its writes were only planned; its outputs are not known.
    pub planned: bool,
}

pub struct RunInfo {
    pub id: String,
    pub started: String,
    pub mode: &'static str,
    pub runbook: String,
    pub project: String,
    pub root: String,
}

pub struct Scopes<'a> {
    pub params: &'a serde_json::Map<String, Value>,
    pub steps: &'a HashMap<String, StepDone>,
    pub secrets: &'a SecretStore,
    pub redactor: &'a Arc<Redactor>,
    pub run: &'a RunInfo,
    pub target: &'a str,
    pub targets: &'a Targets,
    /// Set when a lookup read an output of a step that was only planned.
    pub unknown: Cell<bool>,
}

fn walk(mut v: &Value, path: &[String]) -> Option<Value> {
    for key in path {
        v = match v {
            Value::Object(o) => o.get(key)?,
            Value::Array(a) => a.get(key.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v.clone())
}

impl cairn_lang::Resolver for Scopes<'_> {
    fn lookup(&self, r: &Ref) -> Option<Value> {
        let first = r.path.first()?;
        let rest = &r.path[1..];
        match r.scope {
            Scope::Params => walk(self.params.get(first)?, rest),
            Scope::Steps => {
                let done = self.steps.get(first)?;
                match rest.first().map(String::as_str) {
                    Some("outputs") if done.planned => {
                        self.unknown.set(true);
                        Some(json!(super::step::UNKNOWN))
                    }
                    Some("outputs") => walk(&done.outputs, &rest[1..]),
                    Some("status") => serde_json::to_value(done.status).ok(),
                    _ => None,
                }
            }
            Scope::Secrets => {
                let v = self.secrets.get(first).ok()??;
                self.redactor.add(&v);
                Some(Value::String(v))
            }
            Scope::Run => match first.as_str() {
                "id" => Some(json!(self.run.id)),
                "started" => Some(json!(self.run.started)),
                "mode" => Some(json!(self.run.mode)),
                "runbook" => Some(json!(self.run.runbook)),
                _ => None,
            },
            Scope::Project => match first.as_str() {
                "name" => Some(json!(self.run.project)),
                "root" => Some(json!(self.run.root)),
                _ => None,
            },
            Scope::Target => {
                let kind = self.targets.get(self.target)?;
                match first.as_str() {
                    "name" => Some(json!(self.target)),
                    "kind" => Some(json!(match kind {
                        TargetKind::Local => "local",
                        TargetKind::Ssh { .. } => "ssh",
                        TargetKind::Docker { .. } => "docker",
                    })),
                    "host" | "destination" => match kind {
                        TargetKind::Local => Some(json!("localhost")),
                        TargetKind::Ssh { destination, .. } => Some(json!(destination)),
                        TargetKind::Docker { container, .. } => Some(json!(container)),
                    },
                    _ => None,
                }
            }
        }
    }
}
