//! The commands: [`dispatch`] here, one file per command or group.

mod lock;
mod plan;
mod plugin;
mod plugin_dev;
mod run;
mod runbooks;

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use clap::CommandFactory;
use serde_json::{Value, json};

use super::diagnostics::render_diagnostics;
use super::json_lines::JsonLines;
use super::output::{Human, Style};
use super::{Cli, Command, PluginCommand, StorageCommand};
use crate::engine::{self, Confirmer, RunOptions};
use crate::error::{Error, ExitCode, Result};
use crate::events::{EventSink, Mode};
use crate::project::Workspace;
use crate::redact::Redactor;
use lock::*;
use plan::*;
use plugin::*;
pub use plugin_dev::Lang;
use plugin_dev::{plugin_build, plugin_new, plugin_test};
use run::*;
use runbooks::*;

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
        Command::Plan { name, params, out } => plan(&ws, name, params, out, cli.json, style),
        Command::Apply { file, params, yes } => apply(&ws, file, params, *yes, cli.json, style),
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
            ended_elsewhere,
        } => resume(
            &ws,
            run_id,
            params,
            *yes,
            (*kill_leftovers, *ended_elsewhere),
            cli.json,
            style,
        ),
        Command::Retry {
            run_id,
            params,
            yes,
        } => retry(&ws, run_id, params, *yes, cli.json, style),
        Command::Lock { update, strict } => lock(&ws, *update, *strict, cli.json),
        Command::History { name } => super::runs::history(&ws, name.as_deref(), cli.json, style),
        Command::Log { run_id } => super::runs::log(&ws, run_id, cli.json, style),
        Command::Plugin(PluginCommand::List) => plugin_list(&ws, cli.json),
        Command::Plugin(PluginCommand::Show { name }) => plugin_show(&ws, name, cli.json),
        Command::Plugin(PluginCommand::New { name, lang }) => {
            plugin_new(&ws, name, *lang, cli.json)
        }
        Command::Plugin(PluginCommand::Build { name }) => {
            plugin_build(&ws, name.as_deref(), cli.json)
        }
        Command::Plugin(PluginCommand::Test { name }) => plugin_test(&ws, name.as_deref()),
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

fn rel(ws: &Workspace, p: &std::path::Path) -> String {
    p.strip_prefix(&ws.project.root)
        .unwrap_or(p)
        .display()
        .to_string()
}
