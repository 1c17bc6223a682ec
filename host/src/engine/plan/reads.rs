//! What a dry-run read: every step's outputs as its plugin returned them,
//! less the outputs the plugin marks volatile (`x-volatile-outputs` on the
//! action's schema: values that differ on every read, such as session
//! counts or waited milliseconds).

use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::events::{Event, EventSink, Phase, StepStatus};

/// One step of a dry-run, as a plan keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepRead {
    pub step: String,
    pub phase: Phase,
    pub plugin: String,
    pub action: String,
    pub status: StepStatus,
    /// The step's writes were only planned (its outputs are a plan, not
    /// what a real run would return).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub planned: bool,
    /// The outputs, as the plugin returned them.
    pub reads: Value,
    /// Outputs the action marks volatile: kept, shown, not compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volatile: Vec<String>,
}

/// Collects the steps of a run as they finish.
#[derive(Default)]
pub struct Recorder {
    started: Mutex<Map<String, Value>>,
    steps: Mutex<Vec<StepRead>>,
}

impl EventSink for Recorder {
    fn emit(&self, event: &Event) {
        match event {
            Event::StepStarted {
                step,
                plugin,
                action,
                ..
            } => {
                self.started
                    .lock()
                    .expect("recorder")
                    .insert(step.clone(), serde_json::json!([plugin, action]));
            }
            Event::StepFinished {
                step,
                phase,
                status,
                outputs,
                planned,
                ..
            } => {
                let started = self.started.lock().expect("recorder");
                let pa = started.get(step);
                let name = |i: usize| {
                    pa.and_then(|v| v.get(i))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                self.steps.lock().expect("recorder").push(StepRead {
                    step: step.clone(),
                    phase: *phase,
                    plugin: name(0),
                    action: name(1),
                    status: *status,
                    planned: *planned,
                    reads: outputs.clone(),
                    volatile: Vec::new(),
                });
            }
            _ => {}
        }
    }
}

impl Recorder {
    /// The steps in the order they finished, each with the output paths
    /// its action marks volatile (`volatile(step)` gives them).
    pub fn steps(&self, volatile: impl Fn(&str) -> Vec<String>) -> Vec<StepRead> {
        let mut steps = self.steps.lock().expect("recorder").clone();
        for s in &mut steps {
            s.volatile = volatile(&s.step);
        }
        steps
    }
}

impl StepRead {
    /// The reads that are compared: the volatile paths left out.
    pub fn compared(&self) -> Value {
        let mut v = self.reads.clone();
        for path in &self.volatile {
            let parts: Vec<&str> = path.split('.').collect();
            remove(&mut v, &parts);
        }
        v
    }
}

/// Removes the values at a dotted path; `*` matches every key or entry.
fn remove(v: &mut Value, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match v {
        Value::Object(map) if rest.is_empty() => {
            if *first == "*" {
                map.clear();
            } else {
                map.remove(*first);
            }
        }
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if *first == "*" || k == first {
                    remove(child, rest);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                if *first == "*" || first.parse() == Ok(i) {
                    remove(child, rest);
                }
            }
        }
        _ => {}
    }
}

/// Every leaf value of `v` by a readable path: `servers[app1].state` (a
/// list entry that has a `name` is named by it, others by their index).
pub fn flatten(v: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    walk(v, String::new(), &mut out);
    out
}

fn walk(v: &Value, at: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, child) in map {
                let p = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                walk(child, p, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, child) in items.iter().enumerate() {
                let key = child
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| i.to_string(), str::to_string);
                walk(child, format!("{at}[{key}]"), out);
            }
        }
        leaf => out.push((at, leaf.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn volatile_paths_are_removed_and_names_label_entries() {
        let mut v =
            json!({"servers": [{"name": "app1", "state": "ready", "sessions": 3}], "waited-ms": 5});
        remove(&mut v, &["servers", "*", "sessions"]);
        remove(&mut v, &["waited-ms"]);
        assert_eq!(v, json!({"servers": [{"name": "app1", "state": "ready"}]}));
        let flat = flatten(&v);
        assert!(flat.contains(&("servers[app1].state".into(), json!("ready"))));
    }
}
