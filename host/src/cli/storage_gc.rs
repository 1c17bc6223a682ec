//! `cairn storage gc NAME [--dry-run]`: removes the debris that runs which
//! died mid-write left in a storage (temporary files, unfinished uploads,
//! archives without manifest), each only once its writer is proven gone,
//! and lists what it removed, or would remove, and what it kept, and why.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::output::Style;
use crate::capabilities::storage::Storages;
use crate::error::{Error, ExitCode, Result};
use crate::project::Workspace;
use crate::redact::Redactor;

/// How long the listing and the removals may take together.
const GC_TIMEOUT: Duration = Duration::from_secs(600);

pub fn gc(
    ws: &Workspace,
    name: &str,
    dry_run: bool,
    json_out: bool,
    style: Style,
) -> Result<ExitCode> {
    if !ws.project.storages.contains_key(name) {
        let known: Vec<&str> = ws.project.storages.keys().map(String::as_str).collect();
        return Err(Error::Usage(format!(
            "the project has no storage `{name}` (it has: {})",
            known.join(", ")
        )));
    }
    let redactor = Arc::new(Redactor::new());
    let storages =
        Storages::from_project(&ws.project).with_secrets(ws.secrets.clone(), redactor.clone());
    let deadline = Instant::now() + GC_TIMEOUT;
    let store = storages.open(name).map_err(Error::Usage)?;
    let found = store
        .debris("", true, deadline)
        .map_err(|e| Error::Failed(redactor.redact(&e)))?;
    let mut rows = Vec::new();
    let mut failures = 0;
    for d in &found {
        let (verdict, error) = if !d.remove {
            ("kept", None)
        } else if dry_run {
            ("would remove", None)
        } else {
            match store.remove_debris(d, deadline) {
                Ok(()) => ("removed", None),
                Err(e) => {
                    failures += 1;
                    ("not removed", Some(redactor.redact(&e)))
                }
            }
        };
        rows.push((d, verdict, error));
    }
    if json_out {
        let items: Vec<_> = rows
            .iter()
            .map(|(d, verdict, error)| {
                let mut v = serde_json::to_value(d).unwrap_or_default();
                v["kind"] = json!(d.what.label());
                v["url"] = json!(storages.url(name, &d.key));
                v["result"] = json!(verdict);
                if let Some(e) = error {
                    v["error"] = json!(e);
                }
                v
            })
            .collect();
        println!(
            "{}",
            json!({ "storage": name, "dry-run": dry_run, "debris": items })
        );
    } else if rows.is_empty() {
        println!("storage `{name}`: no debris");
    } else {
        for (d, verdict, error) in &rows {
            let shown = match *verdict {
                "kept" => style.dim(verdict),
                "not removed" => style.red(verdict),
                _ => style.yellow(verdict),
            };
            println!(
                "{shown} {}: {} ({})",
                d.what.label(),
                storages.url(name, &d.key),
                match error {
                    Some(e) => e.clone(),
                    None => d.why.trim_start_matches("kept: ").to_string(),
                }
            );
        }
        let removable = rows.iter().filter(|(d, ..)| d.remove).count();
        let kept = rows.len() - removable;
        let done = if dry_run {
            format!("{removable} would be removed (dry-run: nothing was)")
        } else {
            format!("{} removed", removable - failures)
        };
        println!(
            "storage `{name}`: {} found, {done}, {kept} kept",
            rows.len()
        );
    }
    if failures > 0 {
        return Err(Error::Failed(format!(
            "storage `{name}`: {failures} piece(s) of debris could not be removed"
        )));
    }
    Ok(ExitCode::Success)
}
