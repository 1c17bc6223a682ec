//! The rehearsal report: per-step timings, the measured recovery time, the
//! age of the backup restored, and every check, as `report.json` and
//! `report.md` in the run directory.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{Value, json};

use crate::events::{Event, EventSink, Phase, StepStatus};
use crate::redact::Redactor;

/// Keeps every event with the moment it happened.
#[derive(Default)]
pub struct Collector {
    events: Mutex<Vec<(Instant, Event)>>,
}

impl EventSink for Collector {
    fn emit(&self, event: &Event) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((Instant::now(), event.clone()));
    }
}

/// Where the backup's creation time is found: a main step's output.
const CREATED_KEYS: &[&str] = &["backup-created", "backup_created"];

fn phase_str(p: Phase) -> &'static str {
    match p {
        Phase::Main => "main",
        Phase::OnFailure => "on-failure",
        Phase::Finally => "finally",
        Phase::Verify => "verify",
        Phase::Undo => "undo",
    }
}

fn status_str(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Ok => "ok",
        StepStatus::Failed => "failed",
        StepStatus::Skipped => "skipped",
        StepStatus::FailedContinued => "failed-continued",
    }
}

/// Builds the report from a run's events.
pub fn build(collector: &Collector, started: &str) -> Value {
    let events = collector.events.lock().unwrap_or_else(|e| e.into_inner());
    let mut steps = Vec::new();
    let mut checks = Vec::new();
    let mut main_start: Option<Instant> = None;
    let mut main_end: Option<Instant> = None;
    let mut backup = Value::Null;
    let mut head = json!({});
    let mut result = Value::Null;
    for (at, e) in events.iter() {
        match e {
            Event::RunStarted {
                run_id,
                runbook,
                version,
                sha256,
                params,
                ..
            } => {
                head = json!({"run_id": run_id, "runbook": runbook, "version": version, "sha256": sha256, "params": params});
            }
            Event::StepStarted {
                phase: Phase::Main, ..
            } => {
                main_start.get_or_insert(*at);
            }
            Event::StepFinished {
                step,
                phase,
                status,
                duration_ms,
                attempts,
                error,
                outputs,
                ..
            } => {
                let row = json!({
                    "id": step,
                    "phase": phase_str(*phase),
                    "status": status_str(*status),
                    "duration_ms": duration_ms,
                    "attempts": attempts,
                    "error": error,
                });
                if *phase == Phase::Main {
                    main_end = Some(*at);
                    for key in CREATED_KEYS {
                        if let Some(created) = outputs.get(*key).and_then(Value::as_str) {
                            backup = backup_age(created, started, step);
                        }
                    }
                }
                if *phase == Phase::Verify {
                    // A check whose `when` is false does not apply (no
                    // media to compare, say): neither passed nor failed.
                    let passed = match status {
                        StepStatus::Skipped => Value::Null,
                        s => json!(*s == StepStatus::Ok),
                    };
                    checks.push(json!({
                        "id": step,
                        "passed": passed,
                        "status": status_str(*status),
                        "error": error,
                        "outputs": outputs,
                    }));
                }
                steps.push(row);
            }
            Event::RunFinished {
                result: r,
                verdict,
                duration_ms,
                error,
                ..
            } => {
                result = json!({"result": r, "verdict": verdict, "duration_ms": duration_ms, "error": error});
            }
            _ => {}
        }
    }
    let recovery_ms = match (main_start, main_end) {
        (Some(s), Some(e)) => Some(e.duration_since(s).as_secs_f64() * 1000.0),
        _ => None,
    };
    let passed = result["result"] == "success" && checks.iter().all(|c| c["passed"] != false);
    let mut report = head;
    report["started"] = json!(started);
    report["finished"] =
        json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    report["result"] = result["result"].clone();
    report["verdict"] = result["verdict"].clone();
    report["error"] = result["error"].clone();
    report["duration_ms"] = result["duration_ms"].clone();
    report["recovery_time_ms"] = json!(recovery_ms);
    report["backup"] = backup;
    report["steps"] = Value::Array(steps);
    report["checks"] = Value::Array(checks);
    report["passed"] = json!(passed);
    report
}

fn backup_age(created: &str, started: &str, step: &str) -> Value {
    let age = chrono::DateTime::parse_from_rfc3339(created)
        .ok()
        .zip(chrono::DateTime::parse_from_rfc3339(started).ok())
        .map(|(c, s)| (s - c).num_seconds());
    json!({"created": created, "age_seconds": age, "from_step": step})
}

fn secs(ms: &Value) -> String {
    ms.as_f64()
        .map(|m| crate::runtime::humanize(std::time::Duration::from_secs_f64(m / 1000.0)))
        .unwrap_or_else(|| "-".into())
}

/// The same report for people.
pub fn markdown(r: &Value) -> String {
    let mut md = String::new();
    let verdict = if r["passed"] == true {
        "PASSED"
    } else {
        "FAILED"
    };
    md.push_str(&format!(
        "# Rehearsal of `{}` v{} — {verdict}\n\n",
        r["runbook"].as_str().unwrap_or(""),
        r["version"]
    ));
    md.push_str(&format!(
        "- run: `{}`\n",
        r["run_id"].as_str().unwrap_or("")
    ));
    md.push_str(&format!(
        "- started: {}\n",
        r["started"].as_str().unwrap_or("")
    ));
    md.push_str(&format!(
        "- measured recovery time (RTO): **{}**\n",
        secs(&r["recovery_time_ms"])
    ));
    match r["backup"]["age_seconds"].as_i64() {
        Some(age) => md.push_str(&format!(
            "- age of the backup restored (RPO): **{}** (created {})\n",
            crate::runtime::humanize(std::time::Duration::from_secs(age.max(0) as u64)),
            r["backup"]["created"].as_str().unwrap_or("")
        )),
        None => md.push_str(
            "- age of the backup restored (RPO): unknown (no step reported `backup-created`)\n",
        ),
    }
    md.push_str(&format!("- whole run: {}\n", secs(&r["duration_ms"])));
    if let Some(e) = r["error"].as_str() {
        md.push_str(&format!("- error: {e}\n"));
    }
    md.push_str("\n## Checks\n\n| check | result | detail |\n| --- | --- | --- |\n");
    let checks = r["checks"].as_array().cloned().unwrap_or_default();
    if checks.is_empty() {
        md.push_str("| (none ran) | | |\n");
    }
    for c in checks {
        let ok = match c["passed"].as_bool() {
            Some(true) => "pass",
            Some(false) => "FAIL",
            None => "skipped",
        };
        let detail = c["error"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                c["outputs"]["stdout"]
                    .as_str()
                    .map(|s| s.lines().next().unwrap_or("").to_string())
            })
            .unwrap_or_default()
            .replace('|', "\\|");
        md.push_str(&format!(
            "| `{}` | {ok} | {detail} |\n",
            c["id"].as_str().unwrap_or("")
        ));
    }
    md.push_str("\n## Steps\n\n| step | phase | status | duration |\n| --- | --- | --- | --- |\n");
    for s in r["steps"].as_array().cloned().unwrap_or_default() {
        md.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            s["id"].as_str().unwrap_or(""),
            s["phase"].as_str().unwrap_or(""),
            s["status"].as_str().unwrap_or(""),
            secs(&s["duration_ms"])
        ));
    }
    md
}

/// Writes `report.json` and `report.md`, redacted; returns the JSON path.
pub fn write(dir: &Path, report: &Value, redactor: &Redactor) -> std::io::Result<PathBuf> {
    let json_path = dir.join("report.json");
    let text = serde_json::to_string_pretty(report).unwrap_or_default();
    std::fs::write(&json_path, redactor.redact(&text) + "\n")?;
    std::fs::write(dir.join("report.md"), redactor.redact(&markdown(report)))?;
    Ok(json_path)
}
