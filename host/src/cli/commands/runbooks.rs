//! `cairn list`, `cairn show` and `cairn validate`: the project's runbooks.

use super::*;

pub(super) fn list(ws: &Workspace, json_out: bool) -> Result<ExitCode> {
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

pub(super) fn show(ws: &Workspace, name: &str, json_out: bool) -> Result<ExitCode> {
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

pub(super) fn validate(
    ws: &Workspace,
    names: &[String],
    json_out: bool,
    style: Style,
) -> Result<ExitCode> {
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
