//! What changed between a saved plan and today: the runbook, the plugins,
//! and every value the dry-run read, one line per difference
//! (`haproxy-status (haproxy status): servers[app1].state "ready" → "drain"`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{PlanFile, PluginDigest, RunbookDigest, StepRead, flatten};

fn short(d: &str) -> &str {
    &d[..d.len().min(12)]
}

/// The runbook and plugin digests that differ from the plan's.
pub fn digests(
    plan: &PlanFile,
    rb: &RunbookDigest,
    plugins: &BTreeMap<String, PluginDigest>,
) -> Vec<String> {
    let mut out = Vec::new();
    let was = &plan.runbook;
    if was.sha256 != rb.sha256 {
        out.push(format!(
            "runbook `{}` ({}): sha256 {} → {}",
            rb.name,
            rb.file,
            short(&was.sha256),
            short(&rb.sha256)
        ));
    }
    for (file, sha) in &was.includes {
        match rb.includes.get(file) {
            Some(now) if now == sha => {}
            Some(now) => out.push(format!(
                "included `{file}`: sha256 {} → {}",
                short(sha),
                short(now)
            )),
            None => out.push(format!("included `{file}`: no longer used")),
        }
    }
    for file in rb
        .includes
        .keys()
        .filter(|f| !was.includes.contains_key(*f))
    {
        out.push(format!("included `{file}`: new"));
    }
    for (name, p) in &plan.plugins {
        match plugins.get(name) {
            Some(now) if now == p => {}
            Some(now) => out.push(format!(
                "plugin `{name}`: {} {} → {} {}",
                p.version,
                short(&p.digest),
                now.version,
                short(&now.digest)
            )),
            None => out.push(format!("plugin `{name}`: no longer used")),
        }
    }
    for name in plugins.keys().filter(|n| !plan.plugins.contains_key(*n)) {
        out.push(format!("plugin `{name}`: new"));
    }
    out
}

/// Every value read differently now than when the plan was made.
pub fn differences(planned: &[StepRead], now: &[StepRead]) -> Vec<String> {
    let mut out = Vec::new();
    for was in planned {
        let label = format!("{} ({} {})", was.step, was.plugin, was.action);
        let Some(is) = now
            .iter()
            .find(|s| s.step == was.step && s.phase == was.phase)
        else {
            out.push(format!("{label}: did not run"));
            continue;
        };
        if is.status != was.status {
            out.push(format!(
                "{label}: {} → {}",
                status(was.status),
                status(is.status)
            ));
            continue;
        }
        // What the plan marked volatile is left out on both sides.
        let mut is = is.clone();
        is.volatile = was.volatile.clone();
        let before: BTreeMap<String, Value> = flatten(&was.compared()).into_iter().collect();
        let after: BTreeMap<String, Value> = flatten(&is.compared()).into_iter().collect();
        for (path, v) in &before {
            match after.get(path) {
                Some(n) if n == v => {}
                Some(n) => out.push(format!("{label}: {path} {} → {}", show(v), show(n))),
                None => out.push(format!("{label}: {path} {} → (none)", show(v))),
            }
        }
        for (path, n) in after.iter().filter(|(p, _)| !before.contains_key(*p)) {
            out.push(format!("{label}: {path} (none) → {}", show(n)));
        }
    }
    for is in now.iter().filter(|n| {
        !planned
            .iter()
            .any(|p| p.step == n.step && p.phase == n.phase)
    }) {
        out.push(format!(
            "{} ({} {}): not in the plan → {}",
            is.step,
            is.plugin,
            is.action,
            status(is.status)
        ));
    }
    out
}

fn status(s: crate::events::StepStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Phase, StepStatus};
    use serde_json::json;

    fn read(reads: Value) -> StepRead {
        StepRead {
            step: "lb".into(),
            phase: Phase::Main,
            plugin: "haproxy".into(),
            action: "status".into(),
            status: StepStatus::Ok,
            planned: false,
            reads,
            volatile: vec!["servers.*.sessions".into()],
        }
    }

    #[test]
    fn a_changed_state_is_one_line_naming_step_path_and_values() {
        let was = [read(
            json!({"servers": [{"name": "app1", "state": "ready", "sessions": 1}]}),
        )];
        let now = [read(
            json!({"servers": [{"name": "app1", "state": "drain", "sessions": 7}]}),
        )];
        assert_eq!(
            differences(&was, &now),
            ["lb (haproxy status): servers[app1].state ready → drain"]
        );
        assert!(differences(&was, &was).is_empty());
    }
}
