//! `cairn plan NAME --out FILE` and `cairn apply FILE`: a dry-run kept with
//! everything it read, and a real run of exactly that plan, refused when
//! anything it read, the runbook or a plugin changed since.

use std::path::Path;

use super::*;
use crate::engine::RunReport;
use crate::engine::plan::{self, PlanFile, Recorder};
use crate::events::Verdict;

/// Runs the runbook with these events sinks and options.
fn run_with(
    ws: &Workspace,
    rb: &cairn_lang::Runbook,
    params: Vec<(String, String)>,
    yes: bool,
    mode: Mode,
    redactor: Arc<Redactor>,
    sink: Arc<dyn crate::events::EventSink>,
) -> Result<RunReport> {
    let opts = RunOptions {
        mode,
        offline: false,
        assume_yes: yes,
        params,
        confirmer: Arc::new(TtyConfirm),
        redactor,
        resume: None,
        retry_of: None,
    };
    crate::sys::catch_stop_signals();
    engine::run(ws, rb, &opts, sink).map_err(|e| e.redacted(&opts.redactor))
}

fn printer(json_out: bool, style: Style, redactor: &Arc<Redactor>) -> Arc<dyn EventSink> {
    if json_out {
        let j = JsonLines::new();
        j.set_redactor(redactor.clone());
        Arc::new(j)
    } else {
        let h = Human::new(style);
        h.set_redactor(redactor.clone());
        Arc::new(h)
    }
}

fn new_redactor(ws: &Workspace) -> Arc<Redactor> {
    let redactor = Arc::new(Redactor::new());
    let _ = ws.secrets.register_all(&redactor);
    redactor
}

/// `cairn plan`: the dry-run, then the plan file.
pub(super) fn plan(
    ws: &Workspace,
    name: &str,
    given: &[String],
    out: &Path,
    json_out: bool,
    style: Style,
) -> Result<ExitCode> {
    let rb = ws.runbook(name)?;
    let params = parse_params(given)?;
    let redactor = new_redactor(ws);
    let recorder = Arc::new(Recorder::default());
    let sink = crate::events::Fanout(vec![printer(json_out, style, &redactor), recorder.clone()]);
    let report = run_with(
        ws,
        &rb,
        params.clone(),
        false,
        Mode::DryRun,
        redactor.clone(),
        Arc::new(sink),
    )?;
    if report.verdict != Verdict::Succeeded {
        if !json_out {
            eprintln!("no plan written: the dry-run did not succeed");
        }
        return Ok(ExitCode::of(report.verdict));
    }
    let plugins = engine::resolve_plugins_raw(ws, &rb)?;
    let (params_m, masked) = plan::masked_params(&params, &redactor);
    let p = PlanFile {
        format: plan::FORMAT.into(),
        cairn: crate::VERSION.into(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        run_id: report.run_id.clone(),
        runbook: plan::runbook_digest(&rb),
        plugins: plan::plugin_digests(&plugins),
        params: params_m,
        masked,
        limits: report.limits.clone(),
        steps: recorder.steps(plan::volatile_of(&plugins)),
    };
    plan::write(out, &p, &redactor)
        .map_err(|e| Error::Usage(format!("cannot write the plan `{}`: {e}", out.display())))?;
    if json_out {
        print_json(
            &json!({"plan": out.display().to_string(), "steps": p.steps.len(), "limits": p.limits}),
        );
    } else if !style.quiet {
        let values: usize = p.steps.iter().map(|s| plan::flatten(&s.reads).len()).sum();
        println!(
            "plan written to {}: {} steps, {values} values read",
            out.display(),
            p.steps.len()
        );
        for l in &p.limits {
            println!("  limit {} {}: {} counted", l.limit, l.max, l.count);
        }
        if !p.masked.is_empty() {
            println!(
                "  masked in the file, give them again to apply: {}",
                p.masked.join(", ")
            );
        }
        println!("apply it with: cairn apply {}", out.display());
    }
    Ok(ExitCode::Success)
}

/// The plan's params for a run: masked ones given again with `-p`, each
/// matching what the plan holds once masked.
fn params_of(
    p: &PlanFile,
    given: &[(String, String)],
    redactor: &Redactor,
) -> Result<Vec<(String, String)>> {
    if let Some((k, _)) = given.iter().find(|(k, _)| !p.masked.contains(k)) {
        return Err(Error::Usage(format!(
            "-p `{k}`: a plan runs with its own params; `-p` gives again only the masked ones ({})",
            if p.masked.is_empty() {
                "none".to_string()
            } else {
                p.masked.join(", ")
            }
        )));
    }
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (k, v) in &p.params {
        let planned = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        if !p.masked.contains(k) {
            out.push((k.clone(), planned));
            continue;
        }
        match given.iter().find(|(g, _)| g == k) {
            None => missing.push(format!("`{k}`")),
            Some((_, value)) if plan::mask(value, redactor) != planned => {
                return Err(Error::Refused(format!(
                    "param `{k}` differs from the plan's ({planned}); make a new plan to run with another value"
                )));
            }
            Some((_, value)) => out.push((k.clone(), value.clone())),
        }
    }
    if !missing.is_empty() {
        return Err(Error::Refused(format!(
            "the plan holds param {} masked (a secret or a password); give it again with `-p NAME=VALUE`",
            missing.join(", ")
        )));
    }
    Ok(out)
}

fn refuse(file: &Path, what: &str, diffs: &[String]) -> Error {
    let mut m = format!(
        "the plan `{}` is out of date: {what} ({} difference{}):",
        file.display(),
        diffs.len(),
        if diffs.len() == 1 { "" } else { "s" }
    );
    for d in diffs {
        m.push_str("\n  ");
        m.push_str(d);
    }
    m.push_str("\nreview the change, then make a new plan with `cairn plan`");
    Error::Refused(m)
}

/// `cairn apply`: digests, params, the reads again, then the real run.
pub(super) fn apply(
    ws: &Workspace,
    file: &Path,
    given: &[String],
    yes: bool,
    json_out: bool,
    style: Style,
) -> Result<ExitCode> {
    let p = plan::read(file).map_err(Error::Usage)?;
    let rb = ws.runbook(&p.runbook.name)?;
    let plugins = engine::resolve_plugins_raw(ws, &rb)?;
    let changed = plan::digests(
        &p,
        &plan::runbook_digest(&rb),
        &plan::plugin_digests(&plugins),
    );
    if !changed.is_empty() {
        return Err(refuse(file, "the runbook or a plugin changed", &changed));
    }
    let redactor = new_redactor(ws);
    let params = params_of(&p, &parse_params(given)?, &redactor)?;
    let recorder = Arc::new(Recorder::default());
    let again = run_with(
        ws,
        &rb,
        params.clone(),
        false,
        Mode::DryRun,
        redactor.clone(),
        recorder.clone(),
    )?;
    let now = recorder.steps(plan::volatile_of(&plugins));
    // Compared as the file holds them: masked the same way.
    let now: Vec<plan::StepRead> = now
        .into_iter()
        .map(|mut s| {
            s.reads = plan::masked_json(&s.reads, &redactor);
            s
        })
        .collect();
    let mut drift = plan::differences(&p.steps, &now);
    if again.verdict != Verdict::Succeeded {
        let failed = format!(
            "the dry-run that reads the plan's values again did not succeed (run `{}`): {}",
            again.run_id,
            again.error.unwrap_or_default()
        );
        // What changed explains the failure better than the failure alone
        // (a server drained since the plan makes a drain step refuse): the
        // values read before it stopped are compared too; the steps it did
        // not reach are not differences of their own.
        drift.retain(|d| !d.ends_with(": did not run"));
        if drift.is_empty() {
            return Err(Error::Refused(failed));
        }
        drift.push(failed);
    }
    if !drift.is_empty() {
        return Err(refuse(file, "what it read has changed", &drift));
    }
    if !json_out && !style.quiet {
        let values: usize = p.steps.iter().map(|s| plan::flatten(&s.reads).len()).sum();
        println!(
            "plan {}: {values} values read again, none changed; running it",
            file.display()
        );
    }
    let report = run_with(
        ws,
        &rb,
        params,
        yes,
        Mode::Apply,
        redactor.clone(),
        printer(json_out, style, &redactor),
    )?;
    Ok(ExitCode::of(report.verdict))
}
