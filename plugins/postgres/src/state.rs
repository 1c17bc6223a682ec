//! `compare` and `sequences`: each side's row counts and sequence values
//! read in one repeatable-read snapshot, then compared or carried over.

use std::collections::BTreeMap;

use cairn_sdk::prelude::*;
use serde_json::json;

use crate::common::{COUNT_ROWS, literal, parse_counts, pg_command, run_ok};
use crate::readonly::psql;
use crate::{StepArgs, target};

/// Row counts (`schema.table N`) then sequences (`seq schema.name N`), in
/// one read-only snapshot.
fn script() -> String {
    format!(
        "begin isolation level repeatable read read only;\n{COUNT_ROWS}\
         select 'seq ' || schemaname || '.' || sequencename || ' ' || coalesce(last_value, 0) from pg_sequences \
         where schemaname not in ('pg_catalog', 'information_schema') order by 1;\ncommit;\n"
    )
}

pub(crate) struct State {
    pub shown: String,
    pub rows: BTreeMap<String, u64>,
    pub sequences: BTreeMap<String, i64>,
}

pub(crate) fn read(host: &dyn Host, url: &str, secret: Option<&str>) -> Result<State, PluginError> {
    let (cmd, shown) = pg_command(host, "psql", url, secret.filter(|s| !s.is_empty()))?;
    let cmd = cmd
        .args([
            "--no-password",
            "--no-psqlrc",
            "-v",
            "ON_ERROR_STOP=1",
            "-tA",
            "-f",
            "-",
        ])
        .stdin(script())
        .effect(Effect::Read);
    let text = run_ok(host, &cmd, &format!("reading the state of {shown}"))?
        .stdout_text()
        .into_owned();
    let (seq_lines, count_lines): (Vec<&str>, Vec<&str>) =
        text.lines().partition(|l| l.starts_with("seq "));
    let sequences = seq_lines
        .iter()
        .filter_map(|l| {
            let (name, v) = l["seq ".len()..].trim().rsplit_once(' ')?;
            Some((name.to_string(), v.parse().ok()?))
        })
        .collect();
    Ok(State {
        shown,
        rows: parse_counts(&count_lines.join("\n")),
        sequences,
    })
}

pub fn compare(host: &dyn Host, a: &StepArgs) -> Result<Outputs, PluginError> {
    let src = read(host, &a.url, a.password_secret.as_deref())?;
    let dst = read(host, target(a)?, a.target_password_secret.as_deref())?;
    let ignored = |t: &str| {
        a.ignore_tables
            .iter()
            .any(|i| i == t || format!("public.{i}") == t)
    };
    let mut diffs = Vec::new();
    for (t, n) in &src.rows {
        if ignored(t) {
            continue;
        }
        match dst.rows.get(t) {
            None => diffs.push(format!(
                "table {t}: {n} rows on the source, missing on the target"
            )),
            Some(m) if m != n => diffs.push(format!(
                "table {t}: {n} rows on the source, {m} on the target"
            )),
            _ => {}
        }
    }
    for t in dst
        .rows
        .keys()
        .filter(|t| !src.rows.contains_key(*t) && !ignored(t))
    {
        diffs.push(format!("table {t}: on the target only"));
    }
    for (s, v) in &src.sequences {
        match dst.sequences.get(s) {
            None => diffs.push(format!("sequence {s}: missing on the target")),
            Some(w) if w < v => diffs.push(format!(
                "sequence {s}: {v} on the source, {w} on the target (would hand out used ids)"
            )),
            _ => {}
        }
    }
    let rows: u64 = src.rows.values().sum();
    if !diffs.is_empty() {
        return Err(PluginError::new(format!(
            "{} and {} differ:\n  {}",
            src.shown,
            dst.shown,
            diffs.join("\n  ")
        )));
    }
    Ok(Outputs::new()
        .set("equal", true)
        .set("tables", src.rows.len())
        .set("rows", rows)
        .set("sequences", src.sequences.len())
        .set("counts", json!(src.rows)))
}

pub fn sequences(host: &dyn Host, a: &StepArgs) -> Result<Outputs, PluginError> {
    let src = read(host, &a.url, a.password_secret.as_deref())?;
    if src.sequences.is_empty() {
        return Ok(Outputs::new().set("set", 0).set("planned", false));
    }
    let sql: Vec<String> = src
        .sequences
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(s, v)| {
            format!(
                "select setval({0}, greatest({v}, (select last_value from {1})), true)",
                literal(s),
                s.split('.')
                    .map(crate::common::ident)
                    .collect::<Vec<_>>()
                    .join(".")
            )
        })
        .collect();
    let (cmd, shown) = psql(
        host,
        target(a)?,
        a.target_password_secret.as_deref(),
        &sql.join("; "),
        Effect::Write,
    )?;
    let done = run_ok(host, &cmd, "setting the target's sequences")?;
    host.log(
        Level::Info,
        &format!(
            "{} sequence(s) of {shown} set to at least the source's",
            sql.len()
        ),
        &[],
    );
    Ok(Outputs::new()
        .set("set", sql.len())
        .set("planned", done.planned))
}
