//! `cairn plugin list` and `cairn plugin show` (alias `inspect`).

use super::*;

pub(super) fn plugin_list(ws: &Workspace, json_out: bool) -> Result<ExitCode> {
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

pub(super) fn plugin_show(ws: &Workspace, name: &str, json_out: bool) -> Result<ExitCode> {
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
    let docs: Vec<crate::schema::ActionDoc> = d
        .actions
        .iter()
        .map(|a| crate::schema::ActionDoc {
            name: &a.name,
            summary: &a.summary,
            is_default: d.default_action.as_deref() == Some(a.name.as_str()),
        })
        .collect();
    println!("actions and their arguments:");
    print!("{}", crate::schema::text(&docs, &d.args_schema));
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
    Ok(ExitCode::Success)
}
