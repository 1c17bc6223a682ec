//! The engine: pre-flight checks, then the steps in order (parallel blocks
//! concurrently), failure handling, the journal and the lock.

mod arg_check;
mod confirm;
mod fleet;
pub mod guard;
pub mod history;
mod hosts;
pub mod journal;
#[cfg(test)]
mod journal_props;
pub mod journal_read;
mod later;
pub mod leftovers;
mod lists;
pub mod lock;
pub mod plan;
mod plugins;
pub mod preflight;
mod report;
mod resolver;
pub mod resume;
pub mod retry;
mod rolling;
pub mod state;
mod step;
mod undo;
mod verdict;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cairn_lang::Runbook;

use crate::capabilities::Targets;
use crate::error::{Error, Result};
use crate::events::{Event, EventSink, Fanout, Mode, RunResult, Verdict};
use crate::project::Workspace;
use crate::redact::Redactor;
pub use plugins::{Resolved, StepPlugin, all_steps, resolve_plugins_public, resolve_plugins_raw};
use plugins::{check_lock, resolve_plugins};
pub use resolver::{RunInfo, StepDone};
pub use step::Failure;

/// Asks the operator to confirm a step.
pub trait Confirmer: Send + Sync {
    /// Whether questions can be asked at all (a terminal is attached).
    fn can_ask(&self) -> bool;
    /// The operator's answer.
    fn ask(&self, question: &str) -> bool;
}

/// Never asks: every confirmation is declined.
pub struct NoTty;

impl Confirmer for NoTty {
    fn can_ask(&self) -> bool {
        false
    }
    fn ask(&self, _: &str) -> bool {
        false
    }
}

pub struct RunOptions {
    pub mode: Mode,
    /// With `--dry-run`: perform not even reads.
    pub offline: bool,
    /// `--yes`: every `confirm` is answered yes.
    pub assume_yes: bool,
    /// `-p key=value`, in order.
    pub params: Vec<(String, String)>,
    pub confirmer: Arc<dyn Confirmer>,
    /// Shared with the caller's sinks, so what they print is redacted too.
    pub redactor: Arc<Redactor>,
    /// Continue this earlier run instead of starting a new one.
    pub resume: Option<resume::Resume>,
    /// A new run that retries this ended one (journaled as `retry_of`).
    pub retry_of: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: String,
    pub result: RunResult,
    pub verdict: Verdict,
    pub error: Option<String>,
    pub dir: PathBuf,
    pub duration_ms: f64,
    /// A rehearsal's `report.json`, and whether every check passed.
    pub report: Option<(PathBuf, bool)>,
    /// The runbook's `limits` and what the run counted against each.
    pub limits: Vec<guard::LimitCount>,
}

/// `YYYYMMDD-HHMMSS-mmmxx`: UTC time to the millisecond, so ids sort by
/// start time, and 8 bits that tell apart runs started in the same millisecond.
pub(crate) fn new_run_id() -> String {
    let now = chrono::Utc::now();
    let nanos = now.timestamp_subsec_nanos();
    let salt = (nanos ^ std::process::id().rotate_left(8) ^ (nanos >> 12)) & 0xff;
    format!(
        "{}-{:03}{salt:02x}",
        now.format("%Y%m%d-%H%M%S"),
        now.timestamp_subsec_millis()
    )
}

/// Runs a runbook: validates it completely, takes the project lock (not in a
/// dry-run), journals every event, and returns how it ended.
pub fn run(
    ws: &Workspace,
    rb: &Runbook,
    opts: &RunOptions,
    sink: Arc<dyn EventSink>,
) -> Result<RunReport> {
    // Every secret value is known before anything is written or shown (a
    // source that cannot be read is reported by the validation below).
    let _ = ws.secrets.register_all(&opts.redactor);
    // A rehearsal's own param values first; `-p` on the command line wins.
    let mut overrides = Vec::new();
    if opts.mode == Mode::Rehearsal {
        let Some(r) = &rb.rehearsal else {
            return Err(Error::Usage(format!(
                "runbook `{}` has no `rehearsal` block; add one with the scratch targets and `verify` steps",
                rb.name
            )));
        };
        for (k, v) in &r.params {
            overrides.push((k.clone(), resume::as_override(&v.value)));
        }
    }
    overrides.extend(opts.params.iter().cloned());
    let params = cairn_lang::bind_params(rb, &overrides)?;
    // Everything the run needs exists before its first step: secrets,
    // storages, targets, plugins, grants.
    let plugins = preflight::check(ws, rb, &params)?;
    check_lock(ws, &plugins)?;
    // Steps on groups become one step per member (`ID@MEMBER`); plugins
    // stay keyed by the step as written.
    let expanded = cairn_lang::expand(&ws.project, rb);
    let rb = &expanded;
    let needs_confirm = all_steps(rb).iter().any(|s| s.confirm.is_some());
    if needs_confirm && opts.mode != Mode::DryRun && !opts.assume_yes && !opts.confirmer.can_ask() {
        let ids: Vec<String> = all_steps(rb)
            .iter()
            .filter(|s| s.confirm.is_some())
            .map(|s| format!("`{}`", s.id))
            .collect();
        return Err(Error::Refused(format!(
            "step {} asks for confirmation and no terminal is attached; pass --yes to answer yes",
            ids.join(", ")
        )));
    }

    if let Some(r) = &opts.resume
        && r.sha256 != rb.sha256
    {
        return Err(Error::Refused(format!(
            "runbook `{}` changed since run `{}` (sha256 {} → {}); resuming would run another procedure",
            rb.name,
            r.run_id,
            &r.sha256[..r.sha256.len().min(12)],
            &rb.sha256[..12]
        )));
    }
    let proposed = opts
        .resume
        .as_ref()
        .map_or_else(new_run_id, |r| r.run_id.clone());
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let store = crate::engine::state::of(ws)?;
    let _lock = if opts.mode == Mode::DryRun {
        None
    } else {
        let me = lock::Holder {
            pid: std::process::id(),
            run_id: proposed.clone(),
            runbook: rb.name.clone(),
            started: started_at.clone(),
        };
        let warn = |message: String| sink.emit(&Event::Warning { message });
        Some(store.lock(&me, &warn)?)
    };
    // A run whose plugins may start processes here (commands, `ssh`
    // clients) starts the guard of those processes now, beside the rest of
    // its start, not in the way of its first command.
    if opts.mode != Mode::DryRun
        && plugins
            .values()
            .any(|r| r.grants.get("exec").is_some() || r.grants.get("transfer").is_some())
    {
        crate::children::start_guard_early();
    }

    // Under the lock: nobody else resumes this run now; what the journal
    // says is final until we write to it.
    if let Some(r) = &opts.resume {
        leftovers::before_resume(r, store, sink.as_ref())?;
    }
    let new = opts.resume.is_none().then(|| state::NewRun {
        runbook: rb.name.clone(),
        version: rb.version,
        mode: opts.mode.as_str().to_string(),
        started: started_at.clone(),
    });
    let redactor = opts.redactor.clone();
    let (run_id, journal) = store.journal(&proposed, new.as_ref(), redactor.clone())?;

    // Everything this run logs through `tracing` (`CAIRN_LOG=cairn=debug`)
    // carries its id; the span's close line gives its duration.
    let _run_span = tracing::info_span!(
        "run",
        run_id = %run_id,
        runbook = %rb.name,
        mode = ?opts.mode,
        duration_ms = tracing::field::Empty
    )
    .entered();
    let _run_timed = crate::spans::Timed::new(&_run_span);
    let dir = ws.runs_dir().join(&run_id);
    let collector = Arc::new(report::Collector::default());
    let mut sinks: Vec<Arc<dyn EventSink>> = vec![journal, sink];
    if opts.mode == Mode::Rehearsal {
        sinks.push(collector.clone());
    }
    let sink: Arc<dyn EventSink> = Arc::new(Fanout(sinks));

    // Params as journaled: secrets are not params, but a value typed on the
    // command line may still be one; redaction covers what is known by now.
    let params_map: serde_json::Map<String, serde_json::Value> = params.into_iter().collect();
    if let Some(r) = &opts.resume {
        let mut reused: Vec<String> = r.done.keys().cloned().collect();
        reused.sort();
        sink.emit(&Event::RunResumed {
            run_id: run_id.clone(),
            started: started_at.clone(),
            pid: std::process::id(),
            pid_start_time: crate::children::stat::own_start_time(),
            reused,
        });
    } else {
        sink.emit(&Event::RunStarted {
            run_id: run_id.clone(),
            runbook: rb.name.clone(),
            version: rb.version,
            sha256: rb.sha256.clone(),
            file: rb.file.name.clone(),
            mode: opts.mode,
            params: params_map.clone(),
            started: started_at.clone(),
            cairn: crate::VERSION.to_string(),
            pid: std::process::id(),
            pid_start_time: crate::children::stat::own_start_time(),
            retry_of: opts.retry_of.clone(),
        });
    }

    let mut targets = ws.targets();
    if opts.mode == Mode::Rehearsal
        && let Some(r) = &rb.rehearsal
    {
        for (name, t) in &r.targets {
            targets.insert(name.clone(), t.kind.clone());
        }
    }
    let clock = Instant::now();
    let exec = step::Executor {
        ws,
        rb,
        opts,
        params: params_map,
        plugins,
        done: Mutex::new(HashMap::new()),
        reused: opts
            .resume
            .as_ref()
            .map(|r| r.done.clone())
            .unwrap_or_default(),
        rollback: opts.resume.as_ref().and_then(|r| r.rollback.clone()),
        sink: sink.clone(),
        redactor,
        targets: Arc::new(targets),
        info: RunInfo {
            id: run_id.clone(),
            started: started_at.clone(),
            mode: opts.mode.as_str(),
            runbook: rb.name.clone(),
            project: ws.project.name.clone(),
            root: ws.project.root.display().to_string(),
        },
        hypothetical: Default::default(),
        guard: guard::Guard::new(rb),
        undone: Default::default(),
    };
    let started_report = started_at;
    let outcome = exec.run_all();
    let limit_counts = exec.guard.counts();
    let duration_ms = clock.elapsed().as_secs_f64() * 1000.0;
    let end = verdict::of(&outcome);
    if end.verdict == Verdict::Interrupted {
        // No end is written: the run is not over, `cairn resume` continues it.
        sink.emit(&Event::Warning {
            message: format!(
                "run `{run_id}` stopped before its end; continue it with `cairn resume {run_id}`"
            ),
        });
    } else {
        sink.emit(&Event::RunFinished {
            run_id: run_id.clone(),
            result: end.result,
            verdict: end.verdict,
            duration_ms,
            error: end.error.clone(),
            not_undone: end.not_undone,
            left_changed: end.left_changed,
            rolled_back: outcome.rolled_back,
            hosts: hosts::of(&exec),
        });
    }
    let (result, verdict, error) = (end.result, end.verdict, end.error);
    let report = if opts.mode == Mode::Rehearsal {
        let r = report::build(&collector, &started_report);
        let path = report::write(&dir, &r, &opts.redactor)
            .map_err(|e| Error::Other(anyhow::anyhow!("cannot write the rehearsal report: {e}")))?;
        Some((path, r["passed"] == true))
    } else {
        None
    };
    Ok(RunReport {
        run_id,
        result,
        verdict,
        error,
        dir,
        duration_ms,
        report,
        limits: limit_counts,
    })
}

/// Targets, exported for the CLI's `show`.
pub fn targets_of(ws: &Workspace) -> Targets {
    ws.targets()
}
