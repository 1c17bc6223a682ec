//! Past runs: `cairn history` and `cairn log`.

use crate::error::{ExitCode, Result};
use crate::events::Verdict;
use crate::project::Workspace;

use super::commands::{print_json, table};
use super::output::Style;

/// `cairn history`: each run's verdict, as written once at its end.
pub fn history(
    ws: &Workspace,
    name: Option<&str>,
    json_out: bool,
    style: Style,
) -> Result<ExitCode> {
    let runs: Vec<_> = crate::engine::state::of(ws)?
        .list()?
        .into_iter()
        .filter(|r| name.is_none_or(|n| r.runbook == n))
        .collect();
    if json_out {
        print_json(&serde_json::to_value(&runs).unwrap_or_default());
        return Ok(ExitCode::Success);
    }
    // A shared state database holds every operator's runs: who and where.
    let by = runs.iter().any(|r| r.user.is_some());
    let mut head: Vec<String> = vec![
        "RUN".into(),
        "RUNBOOK".into(),
        "MODE".into(),
        "RESULT".into(),
        "STARTED".into(),
        "DURATION".into(),
    ];
    if by {
        head.push("BY".into());
    }
    head.push("NOTE".into());
    let mut rows = vec![head];
    for r in runs {
        let who = format!(
            "{}@{}",
            r.user.as_deref().unwrap_or("?"),
            r.host.as_deref().unwrap_or("?")
        );
        let verdict = Verdict::label_of(&r.verdict);
        let shown = match r.verdict.as_str() {
            "succeeded" => style.green(verdict),
            "interrupted" | "running" => style.yellow(verdict),
            _ => style.red(verdict),
        };
        let note = match (&r.retry_of, r.verdict.as_str()) {
            (Some(of), _) => format!("retry of {of}"),
            (None, "interrupted") => format!("resumable: cairn resume {}", r.id),
            _ => String::new(),
        };
        let mut row = vec![
            r.id,
            format!("{}@{}", r.runbook, r.version),
            r.mode,
            shown,
            r.started,
            r.duration_ms
                .map(|d| crate::runtime::humanize(std::time::Duration::from_secs_f64(d / 1000.0)))
                .unwrap_or_else(|| "-".into()),
        ];
        if by {
            row.push(who);
        }
        row.push(note);
        rows.push(row);
    }
    print!("{}", table(&rows));
    Ok(ExitCode::Success)
}

/// `cairn log RUN-ID`: the journal of one run, readable.
pub fn log(ws: &Workspace, id: &str, json_out: bool, style: Style) -> Result<ExitCode> {
    let store = crate::engine::state::of(ws)?;
    let run = store.find(id)?;
    let by_host = store.events_by_host(&run)?;
    let events: Vec<serde_json::Value> = by_host.iter().map(|e| e.event.clone()).collect();
    // Who started it and where, when the state backend records them.
    let by = store
        .read(&run)
        .and_then(|r| Some(format!(" by {} on {}", r.user?, r.host?)))
        .unwrap_or_default();
    if json_out {
        for e in &events {
            println!("{e}");
        }
        return Ok(ExitCode::Success);
    }
    for e in &events {
        let ts = e["ts"]
            .as_str()
            .unwrap_or("")
            .get(11..23)
            .unwrap_or("")
            .to_string();
        let line = match e["event"].as_str().unwrap_or("") {
            "run-started" => format!(
                "{} {}@{} ({}) run {}{by} sha256 {} params {}{}",
                style.bold("start"),
                e["runbook"].as_str().unwrap_or(""),
                e["version"],
                e["mode"].as_str().unwrap_or(""),
                e["run_id"].as_str().unwrap_or(""),
                e["sha256"].as_str().unwrap_or("").get(..12).unwrap_or(""),
                e["params"],
                e["retry_of"]
                    .as_str()
                    .map(|r| format!(" retry of {r}"))
                    .unwrap_or_default()
            ),
            "step-started" => format!(
                "  {} {} ({}.{}{}) attempt {}",
                style.dim("step"),
                e["step"].as_str().unwrap_or(""),
                e["plugin"].as_str().unwrap_or(""),
                e["action"].as_str().unwrap_or(""),
                e["target"]
                    .as_str()
                    .map(|t| format!(" on {t}"))
                    .unwrap_or_default(),
                e["attempt"]
            ),
            "capability" => format!(
                "    {} {}{}",
                e["capability"].as_str().unwrap_or(""),
                if e["planned"] == true {
                    "(planned) "
                } else {
                    ""
                },
                e["summary"].as_str().unwrap_or("")
            ),
            "log" => format!(
                "    {} {}",
                e["level"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            ),
            "step-finished" => format!(
                "  {} {} {} {:.0}ms{}{}",
                style.dim("end"),
                e["step"].as_str().unwrap_or(""),
                e["status"].as_str().unwrap_or(""),
                e["duration_ms"].as_f64().unwrap_or(0.0),
                e["error"]
                    .as_str()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default(),
                if e["outputs"].as_object().is_some_and(|o| !o.is_empty()) {
                    format!(" outputs {}", e["outputs"])
                } else {
                    String::new()
                }
            ),
            "warning" => format!("  warning: {}", e["message"].as_str().unwrap_or("")),
            "plan-section" => format!(
                "  {}: {}",
                e["phase"].as_str().unwrap_or(""),
                e["note"].as_str().unwrap_or("")
            ),
            "rollback-started" => format!(
                "  {} undo {}",
                style.bold("rollback:"),
                e["undo"]
                    .as_array()
                    .map(|u| u
                        .iter()
                        .filter_map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "))
                    .filter(|u| !u.is_empty())
                    .unwrap_or_else(|| "nothing".into())
            ),
            "run-finished" => format!(
                "{} {} in {:.0}ms{}",
                style.bold("end"),
                Verdict::label_of(e["verdict"].as_str().or(e["result"].as_str()).unwrap_or("")),
                e["duration_ms"].as_f64().unwrap_or(0.0),
                e["error"]
                    .as_str()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
            other => format!("  {other}: {e}"),
        };
        println!("{} {line}", style.dim(&ts));
    }
    Ok(ExitCode::Success)
}
