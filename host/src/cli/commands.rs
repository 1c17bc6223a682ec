//! One function per command.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use clap::CommandFactory;
use serde_json::{Value, json};

use super::output::{Human, JsonLines, Style, render_diagnostics};
use super::{Cli, Command, PluginCommand, StorageCommand};
use crate::engine::{self, Confirmer, RunOptions, history};
use crate::error::{Error, ExitCode, Result};
use crate::events::{EventSink, Mode};
use crate::project::Workspace;
use crate::redact::Redactor;

pub fn dispatch(cli: &Cli) -> Result<ExitCode> {
    if let Command::Completions { shell } = &cli.command {
        let mut cmd = Cli::command();
        clap_complete::generate(*shell, &mut cmd, "cairn", &mut std::io::stdout());
        return Ok(ExitCode::Success);
    }
    let ws = Workspace::open(cli.dir.as_deref())?;
    let style = cli.style();
    match &cli.command {
        Command::List => list(&ws, cli.json),
        Command::Show { name } => show(&ws, name, cli.json),
        Command::Validate { names } => validate(&ws, names, cli.json, style),
        Command::Run {
            name,
            params,
            yes,
            dry_run,
            offline,
        } => {
            let mode = if *dry_run { Mode::DryRun } else { Mode::Apply };
            run(&ws, name, params, *yes, mode, *offline, cli.json, style)
        }
        Command::Rehearse { name, params, yes } => {
            let rb = ws.runbook(name)?;
            execute(
                &ws,
                &rb,
                parse_params(params)?,
                *yes,
                Mode::Rehearsal,
                false,
                Again::No,
                cli.json,
                style,
            )
        }
        Command::Resume {
            run_id,
            params,
            yes,
            kill_leftovers,
        } => resume(&ws, run_id, params, *yes, *kill_leftovers, cli.json, style),
        Command::Retry {
            run_id,
            params,
            yes,
        } => retry(&ws, run_id, params, *yes, cli.json, style),
        Command::Lock { update, strict } => lock(&ws, *update, *strict, cli.json),
        Command::History { name } => super::runs::history(&ws, name.as_deref(), cli.json, style),
        Command::Log { run_id } => super::runs::log(&ws, run_id, cli.json, style),
        Command::Plugin(PluginCommand::List) => plugin_list(&ws, cli.json),
        Command::Plugin(PluginCommand::Inspect { name }) => plugin_inspect(&ws, name, cli.json),
        Command::Storage(StorageCommand::Gc { name, dry_run }) => {
            super::storage_gc::gc(&ws, name, *dry_run, cli.json, style)
        }
        Command::Completions { .. } => unreachable!("handled above"),
    }
}

pub(super) fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Left-aligned columns.
pub(super) fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn list(ws: &Workspace, json_out: bool) -> Result<ExitCode> {
    let mut rows = vec![vec![
        "NAME".into(),
        "VERSION".into(),
        "SOURCE".into(),
        "DESCRIPTION".into(),
    ]];
    let mut docs = Vec::new();
    for (r, rb) in ws.runbooks() {
        let source = if r.stock {
            "stock".to_string()
        } else {
            rel(ws, &r.path)
        };
        match rb {
            Ok(rb) => {
                docs.push(json!({"name": rb.name, "version": rb.version, "description": rb.description, "source": source, "valid": true}));
                rows.push(vec![
                    rb.name,
                    rb.version.to_string(),
                    source,
                    rb.description.unwrap_or_default(),
                ]);
            }
            Err(d) => {
                let stem = r
                    .path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("?")
                    .to_string();
                docs.push(
                    json!({"name": stem, "source": source, "valid": false, "errors": d.len()}),
                );
                rows.push(vec![
                    stem,
                    "?".into(),
                    source,
                    format!("invalid: {} error(s), see `cairn validate`", d.len()),
                ]);
            }
        }
    }
    if json_out {
        print_json(&Value::Array(docs));
    } else {
        print!("{}", table(&rows));
    }
    Ok(ExitCode::Success)
}

fn rel(ws: &Workspace, p: &std::path::Path) -> String {
    p.strip_prefix(&ws.project.root)
        .unwrap_or(p)
        .display()
        .to_string()
}

fn show(ws: &Workspace, name: &str, json_out: bool) -> Result<ExitCode> {
    let rb = ws.runbook(name)?;
    let plugins = engine::resolve_plugins_public(ws, &rb)?;
    let params: Vec<Value> = rb
        .params
        .iter()
        .map(|p| json!({"name": p.name, "type": format!("{:?}", p.ty).to_lowercase(), "default": p.default, "required": p.required, "help": p.help}))
        .collect();
    let steps: Vec<Value> = engine::all_steps(&rb)
        .iter()
        .map(|s| {
            let r = &plugins[&s.id];
            json!({
                "id": s.id,
                "plugin": r.plugin,
                "version": r.version,
                "action": r.action,
                "target": s.target.as_ref().map(|t| &t.value),
                "when": s.when.is_some(),
                "timeout": s.timeout.map(crate::runtime::humanize),
                "retry": s.retry.as_ref().map(|r| r.attempts),
                "confirm": s.confirm.is_some(),
                "grants": r.grants,
                "source": r.source,
                "digest": r.digest,
            })
        })
        .collect();
    if json_out {
        print_json(
            &json!({"name": rb.name, "version": rb.version, "description": rb.description, "file": rb.file.name, "sha256": rb.sha256, "params": params, "steps": steps}),
        );
        return Ok(ExitCode::Success);
    }
    println!("{} v{} ({})", rb.name, rb.version, rb.file.name);
    if let Some(d) = &rb.description {
        println!("  {d}");
    }
    println!("\nparams:");
    if rb.params.is_empty() {
        println!("  (none)");
    }
    for p in &rb.params {
        let default = p
            .default
            .as_ref()
            .map(|d| format!(" default={d}"))
            .unwrap_or_default();
        let req = if p.required { " required" } else { "" };
        let help = p
            .help
            .as_ref()
            .map(|h| format!("  — {h}"))
            .unwrap_or_default();
        println!("  {} ({:?}){default}{req}{help}", p.name, p.ty);
    }
    println!("\nsteps:");
    let mut rows = Vec::new();
    for s in &steps {
        rows.push(vec![
            format!("  {}", s["id"].as_str().unwrap_or_default()),
            format!(
                "{}@{}",
                s["plugin"].as_str().unwrap_or_default(),
                s["version"].as_str().unwrap_or_default()
            ),
            s["action"].as_str().unwrap_or_default().to_string(),
            s["target"]
                .as_str()
                .map(|t| format!("on {t}"))
                .unwrap_or_default(),
            s["grants"].as_str().unwrap_or_default().to_string(),
        ]);
    }
    print!("{}", table(&rows));
    Ok(ExitCode::Success)
}

fn validate(ws: &Workspace, names: &[String], json_out: bool, style: Style) -> Result<ExitCode> {
    let mut results = Vec::new();
    if names.is_empty() {
        for (r, rb) in ws.runbooks() {
            let label = if r.stock {
                format!(
                    "stock/{}",
                    r.path.file_name().and_then(|n| n.to_str()).unwrap_or("")
                )
            } else {
                rel(ws, &r.path)
            };
            let res = rb
                .map_err(Error::from)
                .and_then(|rb| engine::preflight::validate(ws, &rb).map(|_| rb.name));
            results.push((label, res));
        }
    } else {
        for n in names {
            let res = ws
                .runbook(n)
                .and_then(|rb| engine::preflight::validate(ws, &rb).map(|_| rb.name));
            results.push((n.clone(), res));
        }
    }
    let mut failed = 0;
    let mut docs = Vec::new();
    for (label, res) in &results {
        match res {
            Ok(name) => {
                docs.push(json!({"file": label, "runbook": name, "valid": true}));
                if !json_out && !style.quiet {
                    println!("{} {label} ({name})", style.green("ok"));
                }
            }
            Err(e) => {
                failed += 1;
                let text = match e {
                    Error::Invalid(d) => render_diagnostics(d, style.color),
                    other => format!("{} {other}\n", style.red("error:")),
                };
                docs.push(json!({"file": label, "valid": false, "errors": text}));
                if !json_out {
                    eprintln!("{} {label}", style.red("invalid"));
                    eprint!("{text}");
                }
            }
        }
    }
    if json_out {
        print_json(&Value::Array(docs));
    } else if !style.quiet {
        println!(
            "{} of {} runbooks valid",
            results.len() - failed,
            results.len()
        );
    }
    Ok(if failed > 0 {
        ExitCode::Invalid
    } else {
        ExitCode::Success
    })
}

struct TtyConfirm;

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

fn parse_params(raw: &[String]) -> Result<Vec<(String, String)>> {
    raw.iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .ok_or_else(|| Error::Usage(format!("-p `{p}`: expected KEY=VALUE")))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn run(
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

fn resume(
    ws: &Workspace,
    id: &str,
    given: &[String],
    yes: bool,
    kill_leftovers: bool,
    json_out: bool,
    style: Style,
) -> Result<ExitCode> {
    let dir = history::find(&ws.runs_dir(), id).map_err(Error::Usage)?;
    let mut r = engine::resume::load(&dir).map_err(Error::Refused)?;
    r.kill_leftovers = kill_leftovers;
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
fn retry(
    ws: &Workspace,
    id: &str,
    params: &[String],
    yes: bool,
    json_out: bool,
    style: Style,
) -> Result<ExitCode> {
    let dir = history::find(&ws.runs_dir(), id).map_err(Error::Usage)?;
    let r = engine::retry::load(&dir).map_err(Error::Refused)?;
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
enum Again {
    No,
    Resume(engine::resume::Resume),
    Retry(String),
}

fn lock(ws: &Workspace, update: bool, strict: bool, json_out: bool) -> Result<ExitCode> {
    use crate::lockfile::{LockFile, mismatch, pin_of};
    ws.require_project("cairn lock")?;
    let root = &ws.project.root;
    let existing = LockFile::read(root).map_err(Error::Usage)?;
    let mut pins = std::collections::BTreeMap::new();
    for (_, rb) in ws.runbooks() {
        let Ok(rb) = rb else { continue };
        for r in engine::resolve_plugins_raw(ws, &rb)?.into_values() {
            let pin = pin_of(&r.plugin, &r.grants, root);
            pins.insert((pin.name.clone(), pin.version.clone()), pin);
        }
    }
    let mut lock = existing.clone().unwrap_or(LockFile {
        version: 1,
        strict: false,
        plugins: Vec::new(),
    });
    // `--strict` on a lock that was not: every pin gets its programs' digests.
    let tighten = strict && !lock.strict;
    lock.strict |= strict;
    let mut changed = Vec::new();
    let mut added = Vec::new();
    for pin in pins.into_values() {
        match lock.find(&pin.name, &pin.version) {
            None => {
                added.push(format!("{} {}", pin.name, pin.version));
                lock.upsert(pin);
            }
            Some(old) => {
                if let Some(why) = mismatch(Some(old), &pin) {
                    changed.push(why);
                    if update {
                        lock.upsert(pin);
                    }
                } else if tighten {
                    lock.upsert(pin);
                }
            }
        }
    }
    if !changed.is_empty() && !update {
        return Err(Error::Refused(format!(
            "{}; review the change, then run `cairn lock --update`",
            changed.join("; ")
        )));
    }
    if existing.as_ref() != Some(&lock) {
        lock.write(root)
            .map_err(|e| Error::Other(anyhow::anyhow!("cannot write cairn.lock: {e}")))?;
    }
    if json_out {
        print_json(&serde_json::to_value(&lock).unwrap_or_default());
    } else {
        for a in &added {
            println!("pinned {a}");
        }
        for c in &changed {
            println!("updated: {c}");
        }
        println!("cairn.lock: {} plugin(s) pinned", lock.plugins.len());
    }
    Ok(ExitCode::Success)
}

#[allow(clippy::too_many_arguments)]
fn execute(
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

fn plugin_list(ws: &Workspace, json_out: bool) -> Result<ExitCode> {
    let mut rows = vec![vec![
        "NAME".into(),
        "VERSION".into(),
        "SOURCE".into(),
        "ACTIONS".into(),
    ]];
    let mut docs = Vec::new();
    let mut plugins = Vec::new();
    // The catalog already warned about each file it could not load.
    plugins.extend(ws.catalog.project_plugins().iter().flatten().cloned());
    for stock in crate::runtime::catalog::stock_plugins() {
        let name = stock.name;
        match ws.catalog.stock(name) {
            Some(Ok(p)) => plugins.push(p),
            Some(Err(e)) => eprintln!("warning: stock plugin `{name}`: {e}"),
            None => {}
        }
    }
    for p in plugins {
        let actions: Vec<String> = p
            .description
            .actions
            .iter()
            .map(|a| a.name.clone())
            .collect();
        let source = match &p.source {
            crate::runtime::PluginSource::Stock(_) => "stock".to_string(),
            crate::runtime::PluginSource::File(f) => rel(ws, f),
        };
        docs.push(json!({"name": p.name, "version": p.version.to_string(), "source": source, "actions": actions, "digest": p.digest}));
        rows.push(vec![
            p.name.clone(),
            p.version.to_string(),
            source,
            actions.join(", "),
        ]);
    }
    if json_out {
        print_json(&Value::Array(docs));
    } else {
        print!("{}", table(&rows));
    }
    Ok(ExitCode::Success)
}

fn plugin_inspect(ws: &Workspace, name: &str, json_out: bool) -> Result<ExitCode> {
    let p = ws.catalog.resolve(name, None).map_err(Error::Usage)?;
    let d = &p.description;
    let grant = ws.project.grants.iter().find(|g| g.plugin == p.name);
    let grants =
        crate::capabilities::Grants::effective(&d.capabilities, grant, p.source.is_stock());
    let granted: serde_json::Map<String, Value> = grants
        .iter()
        .map(|(k, v)| (k.clone(), json!(v.values())))
        .collect();
    let declared: serde_json::Map<String, Value> = d
        .capabilities
        .iter()
        .map(|c| (c.name.clone(), json!(c.values)))
        .collect();
    let actions: Vec<Value> = d
        .actions
        .iter()
        .map(|a| json!({"name": a.name, "summary": a.summary, "effect": if a.effect == crate::runtime::Effect::Write {"write"} else {"read"}}))
        .collect();
    let schema: Value =
        serde_json::from_str(&d.args_schema).unwrap_or(Value::String(d.args_schema.clone()));
    let doc = json!({
        "name": p.name, "version": p.version.to_string(), "summary": d.summary, "source": p.source.to_string(),
        "sha256": p.digest, "default_action": d.default_action, "actions": actions,
        "capabilities_declared": declared, "capabilities_granted": granted, "args_schema": schema,
    });
    if json_out {
        print_json(&doc);
        return Ok(ExitCode::Success);
    }
    println!("{} {} — {}", p.name, p.version, d.summary);
    println!("source:  {}", p.source);
    println!("sha256:  {}", p.digest);
    println!("actions:");
    for a in &d.actions {
        let def = if d.default_action.as_deref() == Some(a.name.as_str()) {
            " (default)"
        } else {
            ""
        };
        let eff = if a.effect == crate::runtime::Effect::Write {
            "write"
        } else {
            "read"
        };
        println!("  {}{def} [{eff}] {}", a.name, a.summary);
    }
    println!("capabilities declared:");
    for c in &d.capabilities {
        println!("  {} {}", c.name, c.values.join(" "));
    }
    if d.capabilities.is_empty() {
        println!("  (none)");
    }
    println!(
        "capabilities granted{}:",
        if grant.is_some() {
            " (narrowed by cairn.kdl)"
        } else {
            ""
        }
    );
    let mut any = false;
    for (k, v) in grants.iter() {
        any = true;
        println!("  {k} {}", v.values().join(" "));
    }
    if !any {
        println!("  (none)");
    }
    if !d.args_schema.is_empty() {
        println!(
            "arguments (JSON Schema):\n{}",
            serde_json::to_string_pretty(&schema).unwrap_or_default()
        );
    }
    Ok(ExitCode::Success)
}
