//! The runbook's `limits`, counted across a whole run (dry-run included):
//! before a step runs, what its action declares it counts (`x-limits` in
//! the plugin's description, see the SDK's `Description::counts`) is added
//! to the run's count, and a step that would take a count past its limit is
//! refused before it runs.

use std::collections::BTreeMap;
use std::sync::Mutex;

use cairn_lang::{Runbook, Step};
use serde_json::{Value, json};

use super::Resolved;
use super::step::Executor;
use crate::events::{Event, Phase};

/// One limit's state in a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LimitCount {
    /// `max-servers-down`.
    pub limit: String,
    pub max: u64,
    /// What the run has counted so far (never below 0).
    pub count: u64,
}

pub struct Guard {
    counts: Mutex<BTreeMap<String, LimitCount>>,
}

/// What a step counts against one limit, and the total after it.
pub struct Counted {
    pub limit: String,
    pub delta: i64,
    pub count: u64,
    pub max: u64,
}

impl Guard {
    pub fn new(rb: &Runbook) -> Self {
        let counts = rb
            .limits
            .iter()
            .map(|l| {
                (
                    cairn_lang::guardrails::counter_of(&l.name).to_string(),
                    LimitCount {
                        limit: l.name.clone(),
                        max: l.max.value,
                        count: 0,
                    },
                )
            })
            .collect();
        Self {
            counts: Mutex::new(counts),
        }
    }

    /// Counts a step's action against the limits. With `enforce`, a step
    /// that would take a count past its limit changes nothing and is
    /// refused with a message that names the limit and the counts.
    pub fn take(
        &self,
        step: &str,
        action_schema: Option<&Value>,
        args: &Value,
        enforce: bool,
    ) -> Result<Vec<Counted>, String> {
        let Some(declared) = action_schema
            .and_then(|s| s.get("x-limits"))
            .and_then(Value::as_object)
        else {
            return Ok(Vec::new());
        };
        let mut counts = self.counts.lock().expect("limit counts");
        let deltas: Vec<(String, i64)> = declared
            .iter()
            .filter(|(counter, _)| counts.contains_key(*counter))
            .map(|(counter, how)| (counter.clone(), delta(how, args)))
            .filter(|(_, d)| *d != 0)
            .collect();
        if enforce {
            for (counter, d) in &deltas {
                let c = &counts[counter];
                let after = c.count as i64 + d;
                if *d > 0 && after > c.max as i64 {
                    return Err(format!(
                        "limit `{} {}` would be exceeded: step `{step}` counts {d}, {} counted before it ({after} > {})",
                        c.limit, c.max, c.count, c.max
                    ));
                }
            }
        }
        let mut out = Vec::new();
        for (counter, d) in deltas {
            let c = counts.get_mut(&counter).expect("a declared limit");
            c.count = (c.count as i64 + d).max(0) as u64;
            out.push(Counted {
                limit: c.limit.clone(),
                delta: d,
                count: c.count,
                max: c.max,
            });
        }
        Ok(out)
    }

    /// Every declared limit with its count so far, in name order.
    pub fn counts(&self) -> Vec<LimitCount> {
        let mut v: Vec<LimitCount> = self
            .counts
            .lock()
            .expect("limit counts")
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| a.limit.cmp(&b.limit));
        v
    }
}

impl Executor<'_> {
    /// Counts the step against the runbook's limits; a main or verify step
    /// that would exceed one is refused. Undo, on-failure and finally steps
    /// are counted, never refused: they put things back.
    pub(super) fn count_limits(
        &self,
        step: &Step,
        phase: Phase,
        resolved: &Resolved,
        args: &Value,
    ) -> Result<(), String> {
        let schema =
            crate::schema::for_action(&resolved.plugin.description.args_schema, &resolved.action);
        let enforce = matches!(phase, Phase::Main | Phase::Verify);
        let counted = self
            .guard
            .take(&step.id, schema.as_deref(), args, enforce)?;
        for c in counted {
            self.sink.emit(&Event::Capability {
                step: step.id.clone(),
                capability: "limits".into(),
                effect: "counted".into(),
                planned: false,
                summary: format!("{} {:+} → {} of {}", c.limit, c.delta, c.count, c.max),
                detail: json!({ "limit": c.limit, "delta": c.delta, "count": c.count, "max": c.max }),
            });
        }
        Ok(())
    }
}

/// What one declaration counts for these arguments.
pub fn delta(how: &Value, args: &Value) -> i64 {
    if let Some(n) = how.as_i64() {
        return n;
    }
    if let Some(arg) = how.get("per").and_then(Value::as_str) {
        return match args.get(arg) {
            None | Some(Value::Null) => 0,
            Some(Value::Array(a)) => a.len() as i64,
            Some(_) => 1,
        };
    }
    if let Some(arg) = how.get("by").and_then(Value::as_str) {
        let Some(value) = args.get(arg).and_then(Value::as_str) else {
            return 0;
        };
        return how
            .get("values")
            .and_then(|v| v.get(value))
            .and_then(Value::as_i64)
            .unwrap_or(0);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::delta;
    use serde_json::json;

    #[test]
    fn counts_a_number_a_list_and_a_value() {
        assert_eq!(delta(&json!(1), &json!({})), 1);
        let per = json!({"per": "record"});
        assert_eq!(delta(&per, &json!({"record": [{}, {}, {}]})), 3);
        assert_eq!(delta(&per, &json!({"record": {"name": "www"}})), 1);
        assert_eq!(delta(&per, &json!({})), 0);
        let by = json!({"by": "state", "values": {"drain": 1, "ready": -1}});
        assert_eq!(delta(&by, &json!({"state": "drain"})), 1);
        assert_eq!(delta(&by, &json!({"state": "ready"})), -1);
        assert_eq!(
            delta(&by, &json!({"state": "(known after the step runs)"})),
            0
        );
    }
}
