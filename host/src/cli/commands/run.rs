//! `cairn run`, `cairn resume` and `cairn retry`: running a runbook, and the
//! confirmation asked on a terminal.

use super::*;

pub(super) struct TtyConfirm;

impl Confirmer for TtyConfirm {
    fn can_ask(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    fn ask(&self, question: &str) -> bool {
        static ASKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = ASKING.lock();
        eprint!("? {question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).is_err() {
            return false;
        }
        matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
    }
}

pub(super) fn parse_params(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| Error::Usage(format!("-p `{p}`: expected KEY=VALUE")))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    ws: &Workspace,
    name: &str,
    params: &[String],
    yes: bool,
    mode: Mode,
    offline: bool,
    json_out: bool,
    style: Style,
) -> Result<ExitCode> {
    let rb = ws.runbook(name)?;
    execute(
        ws,
        &rb,
        parse_params(params)?,
        yes,
        mode,
        offline,
        Again::No,
        json_out,
        style,
    )
}

pub(super) fn resume(
    ws: &Workspace,
    id: &str,
    given: &[String],
    yes: bool,
    (kill_leftovers, ended_elsewhere): (bool, bool),
    json_out: bool,
    style: Style,
) -> Result<ExitCode> {
    let store = crate::engine::state::of(ws)?;
    let run = store.find(id)?;
    let mut r = engine::resume::load_in(store, &run).map_err(Error::Refused)?;
    r.kill_leftovers = kill_leftovers;
    r.ended_elsewhere = ended_elsewhere;
    let rb = ws.runbook(&r.runbook)?;
    let params = r
        .params_with(&parse_params(given)?)
        .map_err(Error::Refused)?;
    let mode = r.mode;
    let again = Again::Resume(r);
    execute(ws, &rb, params, yes, mode, false, again, json_out, style)
}

/// A new run of an ended run's runbook with its params (`-p` wins), that
/// names the run it retries.
pub(super) fn retry(
    ws: &Workspace,
    id: &str,
    params: &[String],
    yes: bool,
    json_out: bool,
    style: Style,
) -> Result<ExitCode> {
    let store = crate::engine::state::of(ws)?;
    let run = store.find(id)?;
    let r = engine::retry::load_in(store, &run).map_err(Error::Refused)?;
    let rb = ws.runbook(&r.runbook)?;
    let given = parse_params(params)?;
    // A value the journal holds masked (a secret, a password in a URL) is
    // never retried as `********`: it must be given again.
    let masked: Vec<String> = r
        .params
        .iter()
        .filter(|(k, v)| v.contains(crate::redact::MASK) && !given.iter().any(|(g, _)| g == k))
        .map(|(k, _)| format!("`{k}`"))
        .collect();
    if !masked.is_empty() {
        return Err(Error::Refused(format!(
            "the journal of run `{}` holds param {} masked (a secret or a password); give it again with `cairn retry {} -p NAME=VALUE`",
            r.of,
            masked.join(", "),
            r.of
        )));
    }
    let mut all = r.params.clone();
    all.extend(given);
    let again = Again::Retry(r.of.clone());
    execute(ws, &rb, all, yes, r.mode, false, again, json_out, style)
}

/// Whether a run continues an interrupted one, retries an ended one, or neither.
pub(super) enum Again {
    No,
    Resume(engine::resume::Resume),
    Retry(String),
}

#[allow(clippy::too_many_arguments)]
pub(super) fn execute(
    ws: &Workspace,
    rb: &cairn_lang::Runbook,
    params: Vec<(String, String)>,
    yes: bool,
    mode: Mode,
    offline: bool,
    again: Again,
    json_out: bool,
    style: Style,
) -> Result<ExitCode> {
    let (resume, retry_of) = match again {
        Again::No => (None, None),
        Again::Resume(r) => (Some(r), None),
        Again::Retry(id) => (None, Some(id)),
    };
    let redactor = Arc::new(Redactor::new());
    let sink: Arc<dyn EventSink> = if json_out {
        let j = JsonLines::new();
        j.set_redactor(redactor.clone());
        Arc::new(j)
    } else {
        let h = Human::new(style);
        h.set_redactor(redactor.clone());
        Arc::new(h)
    };
    let opts = RunOptions {
        mode,
        offline,
        assume_yes: yes,
        params,
        confirmer: Arc::new(TtyConfirm),
        redactor,
        resume,
        retry_of,
    };
    crate::sys::catch_stop_signals();
    let report = engine::run(ws, rb, &opts, sink).map_err(|e| e.redacted(&opts.redactor))?;
    if report.verdict == crate::events::Verdict::Interrupted && !json_out {
        println!(
            "{} {} · continue it with: cairn resume {}",
            style.bold("■"),
            style.yellow("interrupted"),
            report.run_id
        );
    }
    if let Some((path, passed)) = &report.report
        && !json_out
    {
        let md = path.with_file_name("report.md");
        let verdict = if *passed {
            style.green("every check passed")
        } else {
            style.red("checks failed")
        };
        println!("rehearsal report ({verdict}): {}", md.display());
        if !style.quiet
            && let Ok(text) = std::fs::read_to_string(&md)
        {
            println!("\n{text}");
        }
    }
    Ok(ExitCode::of(report.verdict))
}
