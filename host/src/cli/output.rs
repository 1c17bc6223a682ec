//! Run progress as cairn prints it in readable lines ([`Human`]), and the
//! terminal [`Style`] every command prints tables with. `--json` events are
//! printed by `json_lines.rs`, diagnostics rendered by `diagnostics.rs`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::events::{Event, EventSink, Mode, Phase, StepStatus, Verdict};
use crate::redact::Redactor;

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub verbose: u8,
    pub quiet: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
}

/// Prints a run as readable lines on stdout.
pub struct Human {
    style: Style,
    redactor: Mutex<Option<Arc<Redactor>>>,
    mode: Mutex<Mode>,
    /// Progress lines are drawn in place, on a terminal only.
    tty: bool,
    /// A progress line is on screen and must be cleared before the next line.
    progress_shown: std::sync::atomic::AtomicBool,
}

impl Human {
    pub fn new(style: Style) -> Self {
        Self {
            style,
            redactor: Mutex::new(None),
            mode: Mutex::new(Mode::Apply),
            tty: std::io::IsTerminal::is_terminal(&std::io::stdout()),
            progress_shown: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Output must be redacted with the run's redactor.
    pub fn set_redactor(&self, r: Arc<Redactor>) {
        *self.redactor.lock().expect("redactor") = Some(r);
    }

    fn print(&self, line: String) {
        let line = match &*self.redactor.lock().expect("redactor") {
            Some(r) => r.redact(&line),
            None => line,
        };
        let mut out = std::io::stdout().lock();
        if self
            .progress_shown
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            let _ = write!(out, "\r\x1b[2K");
        }
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// Redraws the progress line of a long transfer in place.
    fn progress(&self, step: &str, bytes: u64, elapsed_ms: f64) {
        if !self.tty || self.style.quiet {
            return;
        }
        let rate = if elapsed_ms > 0.0 {
            bytes as f64 / (elapsed_ms / 1000.0)
        } else {
            0.0
        };
        let mut out = std::io::stdout().lock();
        let _ = write!(
            out,
            "\r\x1b[2K      {} {step}: {} · {}/s",
            self.style.yellow("⋯"),
            human_bytes(bytes as f64),
            human_bytes(rate)
        );
        let _ = out.flush();
        self.progress_shown
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn human_bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < UNITS.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// Lines of a step's output shown under it; the journal keeps all of it.
const SHOWN_LINES: usize = 20;

impl Human {
    fn print_block(&self, text: &str) {
        let lines: Vec<&str> = text.lines().collect();
        for l in lines.iter().take(SHOWN_LINES) {
            self.print(format!("      {}", self.style.dim(l)));
        }
        if lines.len() > SHOWN_LINES {
            self.print(format!(
                "      {}",
                self.style.dim(&format!(
                    "… {} more lines (cairn log shows them)",
                    lines.len() - SHOWN_LINES
                ))
            ));
        }
    }
}

fn ms(d: f64) -> String {
    if d < 1.0 {
        format!("{:.0}µs", d * 1000.0)
    } else if d < 1000.0 {
        format!("{d:.0}ms")
    } else {
        format!("{:.1}s", d / 1000.0)
    }
}

impl EventSink for Human {
    fn emit(&self, event: &Event) {
        let s = self.style;
        match event {
            Event::RunStarted {
                run_id,
                runbook,
                version,
                mode,
                retry_of,
                ..
            } => {
                *self.mode.lock().expect("mode") = *mode;
                if s.quiet {
                    return;
                }
                let what = match mode {
                    Mode::Apply => "run",
                    Mode::DryRun => "dry-run (nothing will be changed)",
                    Mode::Rehearsal => "rehearsal",
                };
                let retry = retry_of
                    .as_ref()
                    .map(|r| format!(" · retry of {r}"))
                    .unwrap_or_default();
                self.print(format!(
                    "{} {runbook} v{version} · {what} · {}{retry}",
                    s.bold("▶"),
                    s.dim(run_id)
                ));
            }
            Event::StepStarted { step, attempt, .. } => {
                if s.verbose > 0 && !s.quiet {
                    self.print(s.dim(&format!("  … {step} (attempt {attempt})")));
                }
            }
            Event::Capability {
                planned,
                summary,
                effect,
                capability,
                ..
            } => {
                if s.quiet {
                    return;
                }
                let dry = *self.mode.lock().expect("mode") == Mode::DryRun;
                if *planned {
                    // `storage` summaries say it themselves: `object … would be written`.
                    let verb = if matches!(capability.as_str(), "confirm" | "storage") {
                        ""
                    } else {
                        "would "
                    };
                    let what = match capability.as_str() {
                        "exec" => "run: ",
                        "transfer" => "transfer: ",
                        _ => "",
                    };
                    self.print(format!("      {} {verb}{what}{summary}", s.yellow("⋯")));
                } else if dry || s.verbose > 0 {
                    self.print(s.dim(&format!("      {effect}: {summary}")));
                }
            }
            Event::Log {
                level,
                message,
                step,
                ..
            } => {
                if s.quiet {
                    return;
                }
                let show = match level.as_str() {
                    "warn" | "error" => true,
                    "info" => true,
                    "debug" => s.verbose > 0,
                    _ => s.verbose > 1,
                };
                if show {
                    let tag = match level.as_str() {
                        "warn" => s.yellow("warn"),
                        "error" => s.red("error"),
                        other => s.dim(other),
                    };
                    self.print(format!(
                        "      {tag} {}",
                        s.dim(&format!("[{step}]")) + " " + message
                    ));
                }
            }
            Event::StepFinished {
                step,
                status,
                reason,
                duration_ms,
                attempts,
                error,
                outputs,
                ..
            } => {
                if s.quiet && *status != StepStatus::Failed {
                    return;
                }
                let line = match status {
                    StepStatus::Ok => {
                        let tries = if *attempts > 1 {
                            format!(" after {attempts} attempts")
                        } else {
                            String::new()
                        };
                        format!(
                            "  {} {step}{tries} {}",
                            s.green("✓"),
                            s.dim(&ms(*duration_ms))
                        )
                    }
                    StepStatus::Skipped => format!(
                        "  {} {step} {}",
                        s.dim("-"),
                        s.dim(&format!("skipped: {}", reason.as_deref().unwrap_or("")))
                    ),
                    StepStatus::Failed | StepStatus::FailedContinued => {
                        let cont = if *status == StepStatus::FailedContinued {
                            " (continue-on-error)"
                        } else {
                            ""
                        };
                        format!(
                            "  {} {step} {}{cont}: {}",
                            s.red("✗"),
                            s.dim(&ms(*duration_ms)),
                            error.as_deref().unwrap_or("failed")
                        )
                    }
                };
                self.print(line);
                // What a command printed is what the operator came for.
                if *status == StepStatus::Ok
                    && !s.quiet
                    && let Some(text) = outputs.get("stdout").and_then(|v| v.as_str())
                {
                    self.print_block(text);
                }
            }
            Event::RunResumed { run_id, reused, .. } => {
                if !s.quiet {
                    self.print(format!(
                        "{} resuming run {} · {} step(s) done before",
                        s.bold("▶"),
                        s.dim(run_id),
                        reused.len()
                    ));
                }
            }
            Event::StepReused { step, .. } => {
                if !s.quiet {
                    self.print(format!(
                        "  {} {step} {}",
                        s.dim("↺"),
                        s.dim("done before, outputs reused")
                    ));
                }
            }
            // Journaled for `cairn resume`; `cairn log` shows them.
            Event::ChildStarted { .. }
            | Event::ChildEnded { .. }
            | Event::RemoteStarted { .. }
            | Event::RemoteEnded { .. } => {}
            Event::Progress {
                step,
                bytes,
                elapsed_ms,
            } => self.progress(step, *bytes, *elapsed_ms),
            Event::Warning { message } => {
                if !s.quiet {
                    self.print(format!("  {} {message}", s.yellow("warning:")));
                }
            }
            Event::PlanSection { phase, note, of } => {
                if !s.quiet {
                    let list = match (phase, of) {
                        (Phase::Undo, Some(step)) => format!("undo of `{step}`"),
                        (Phase::Undo, None) => "undo".into(),
                        (Phase::OnFailure, _) => "on-failure".into(),
                        (Phase::Finally, _) => "finally".into(),
                        (Phase::Verify, _) => "verify".into(),
                        (Phase::Main, _) => "steps".into(),
                    };
                    self.print(format!(
                        "  {} {}",
                        s.bold(&format!("{list}:")),
                        s.yellow(note)
                    ));
                }
            }
            Event::Batch {
                group,
                index,
                of,
                members,
            } => {
                if !s.quiet {
                    let head = format!("rolling `{group}`: batch {index}/{of}:");
                    self.print(format!("  {} {}", s.bold(&head), members.join(", ")));
                }
            }
            Event::RollbackStarted { undo, .. } => {
                if !s.quiet && !undo.is_empty() {
                    let list: Vec<String> = undo.iter().map(|u| format!("`{u}`")).collect();
                    self.print(format!(
                        "  {} {}",
                        s.bold("rollback:"),
                        s.yellow(&format!("undoing {}, last finished first", list.join(", ")))
                    ));
                }
            }
            Event::RunFinished {
                verdict,
                duration_ms,
                run_id,
                rolled_back,
                error,
                hosts,
                ..
            } => {
                if s.quiet && *verdict == Verdict::Succeeded {
                    return;
                }
                let shown = match verdict {
                    Verdict::Succeeded => s.green(verdict.label()),
                    Verdict::Failed if *rolled_back => s.red("failed (rolled back)"),
                    Verdict::RollbackFailed => s.bold(&s.red(verdict.label())),
                    other => s.red(other.label()),
                };
                self.print(format!(
                    "{} {shown} in {} · journal: cairn log {run_id}",
                    s.bold("■"),
                    ms(*duration_ms)
                ));
                // Loud: what did not undo, and what is left as it is.
                if *verdict == Verdict::RollbackFailed {
                    self.print(format!(
                        "  {} {}",
                        s.red("failed, rollback failed:"),
                        error.as_deref().unwrap_or("")
                    ));
                }
                for h in hosts {
                    let label = match (h.state, h.undone) {
                        (crate::events::HostStatus::Failed, true) => "failed, undone".to_owned(),
                        (st, _) => st.label().to_owned(),
                    };
                    let shown = match h.state {
                        crate::events::HostStatus::Done => s.green(&label),
                        crate::events::HostStatus::NotReached => s.yellow(&label),
                        _ => s.red(&label),
                    };
                    self.print(format!("  {} {}: {shown}", h.group, h.host));
                }
            }
        }
    }
}
