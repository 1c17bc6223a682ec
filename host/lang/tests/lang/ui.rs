//! Data-driven cases under `tests/ui/`: `valid/*.kdl` must load, validate and
//! bind (their decoded steps are snapshotted); `invalid/*.kdl` must fail, and
//! their rendered errors are snapshotted. A case can give `-p` values on a
//! comment line: `// params: keep=abc site-url=https://example.com`.

use std::path::Path;

use serde_json::{Value, json};

use cairn_lang::{Diagnostics, ParamType, Runbook};

use crate::common::{load_and_validate, render, ui_project};

fn overrides(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).expect("readable case");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("// params:"))
        .flat_map(|l| l.split_whitespace())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// Loads, validates and binds a case.
fn run(path: &Path, fill_required: bool) -> Result<(Runbook, Value), Diagnostics> {
    let project = ui_project();
    let rb = load_and_validate(&project, path)?;
    let mut params = overrides(path);
    if fill_required {
        for p in rb.params.iter().filter(|p| p.required) {
            if !params.iter().any(|(k, _)| k == &p.name) {
                let example = match p.ty {
                    ParamType::String => "example",
                    ParamType::Int => "1",
                    ParamType::Bool => "true",
                    ParamType::Duration => "1s",
                    ParamType::List => "a,b",
                };
                params.push((p.name.clone(), example.to_owned()));
            }
        }
    }
    let bound = cairn_lang::bind_params(&rb, &params)?;
    Ok((rb, json!(bound)))
}

/// The decoded runbook, compactly.
fn summary(rb: &Runbook, params: Value) -> String {
    let steps: Vec<Value> = rb
        .step_places()
        .iter()
        .map(|p| {
            let s = p.step;
            let mut v = json!({
                "id": s.id,
                "section": p.section.as_str(),
                "block": p.block,
                "uses": s.plugin,
                "args": s.args.as_written(),
            });
            let o = v.as_object_mut().expect("object");
            if p.in_parallel {
                o.insert("parallel".into(), json!(true));
            }
            if let Some(owner) = p.owner {
                o.insert("undoes".into(), json!(owner.id));
            }
            if let Some(r) = &s.version_req {
                o.insert("version".into(), json!(r.to_string()));
            }
            if let Some(a) = &s.action {
                o.insert("action".into(), json!(a.value));
            }
            if let Some(t) = &s.target {
                o.insert("target".into(), json!(t.value));
            }
            if let Some(w) = &s.when {
                o.insert("when".into(), json!(w.value.to_string()));
            }
            if let Some(t) = s.timeout {
                o.insert("timeout_ms".into(), json!(t.as_millis() as u64));
            }
            if s.continue_on_error {
                o.insert("continue-on-error".into(), json!(true));
            }
            if let Some(r) = &s.retry {
                o.insert(
                    "retry".into(),
                    json!([r.attempts, r.delay.as_millis() as u64, r.backoff]),
                );
            }
            if let Some(c) = &s.confirm {
                o.insert("confirm".into(), json!(c.value.to_string()));
            }
            v
        })
        .collect();
    let rehearsal = rb.rehearsal.as_ref().map(|r| {
        json!({
            "params": r.params.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect::<serde_json::Map<_, _>>(),
            "targets": r.targets.iter().map(|(k, t)| (k.clone(), json!(format!("{:?}", t.kind)))).collect::<serde_json::Map<_, _>>(),
        })
    });
    let includes: Vec<Value> = rb
        .includes
        .iter()
        .map(|i| json!({"file": i.file.name, "steps": i.step_ids}))
        .collect();
    let doc = json!({
        "runbook": rb.name,
        "version": rb.version,
        "description": rb.description,
        "requires": rb.requires.as_ref().map(|r| r.value.to_string()),
        "params": params,
        "includes": includes,
        "steps": steps,
        "rehearsal": rehearsal,
    });
    serde_json::to_string_pretty(&doc).expect("json")
}

#[test]
fn valid_runbooks() {
    insta::glob!("../ui", "valid/*.kdl", |path| {
        match run(path, true) {
            Ok((rb, params)) => insta::assert_snapshot!(summary(&rb, params)),
            Err(d) => panic!("{} should be valid:\n{}", path.display(), render(&d)),
        }
    });
}

#[test]
fn invalid_runbooks() {
    insta::glob!("../ui", "invalid/*.kdl", |path| {
        match run(path, false) {
            Ok(_) => panic!("{} should be invalid", path.display()),
            Err(d) => insta::assert_snapshot!(render(&d)),
        }
    });
}

#[test]
fn projects() {
    insta::glob!("../ui", "project/*/cairn.kdl", |path| {
        let root = path.parent().expect("a case directory");
        let case = root
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        match cairn_lang::load_project(root) {
            Ok(p) if case.starts_with("valid") => {
                let targets: Vec<String> = p
                    .targets
                    .values()
                    .map(|t| format!("{}: {:?}", t.name, t.kind))
                    .collect();
                let storages: Vec<String> = p
                    .storages
                    .values()
                    .map(|s| format!("{}: {:?}", s.name, s.kind))
                    .collect();
                let grants: Vec<String> = p
                    .grants
                    .iter()
                    .map(|g| format!("{}: {:?}", g.plugin, g.capabilities))
                    .collect();
                insta::assert_snapshot!(format!(
                    "name: {}\ntargets: {targets:#?}\nstorages: {storages:#?}\nsecrets: {:?}\nplugin dirs: {:?}\nrunbook dirs: {:?}\ngrants: {grants:#?}\n",
                    p.name, p.secrets, p.plugin_dirs, p.runbook_dirs
                ));
            }
            Ok(_) => panic!("{case} should be invalid"),
            Err(d) if case.starts_with("invalid") => insta::assert_snapshot!(render(&d)),
            Err(d) => panic!("{case} should be valid:\n{}", render(&d)),
        }
    });
}

#[test]
fn discovery_lists_the_project_runbooks_sorted() {
    let project = ui_project();
    let found = cairn_lang::discover_runbooks(&project);
    let names: Vec<String> = found
        .iter()
        .map(|p| {
            p.strip_prefix(&project.root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    assert!(names.iter().any(|n| n == "valid/minimal.kdl"), "{names:?}");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.iter().all(|n| n.ends_with(".kdl")));
}

#[test]
fn the_implicit_local_target_and_storage_exist() {
    let project = ui_project();
    assert_eq!(project.targets["local"].kind, cairn_lang::TargetKind::Local);
    assert!(project.storages.contains_key("local"));
}

#[test]
fn included_steps_keep_their_file_and_digest() {
    let project = ui_project();
    let rb = cairn_lang::load_runbook(&project, Path::new("valid/include.kdl")).expect("valid");
    assert_eq!(rb.file.name, "valid/include.kdl");
    assert_eq!(rb.file_of("before").name, "valid/include.kdl");
    assert_eq!(rb.file_of("dump").name, "valid/included-backup.kdl");
    assert_eq!(rb.includes.len(), 1);
    assert_eq!(rb.includes[0].sha256.len(), 64);
    assert_ne!(rb.includes[0].sha256, rb.sha256);
    // The including runbook's `keep` wins over the included one's; `dest` comes along.
    let keep = rb.params.iter().find(|p| p.name == "keep").expect("keep");
    assert_eq!(keep.default, Some(json!(30)));
    assert!(rb.params.iter().any(|p| p.name == "dest"));
}

#[test]
fn runbooks_can_be_loaded_from_memory() {
    let project = ui_project();
    let text = "runbook embedded version=1 {\n    step a uses=exec { run echo }\n}\n";
    let rb = cairn_lang::load_runbook_source(&project, Path::new("stock/embedded.kdl"), text)
        .expect("valid");
    assert_eq!(rb.file.name, "stock/embedded.kdl");
    let bad = "runbook embedded version=1 {\n    step a uses=exec timeout=5\n}\n";
    let err =
        cairn_lang::load_runbook_source(&project, Path::new("stock/bad.kdl"), bad).unwrap_err();
    let shown = render(&err);
    assert!(shown.contains("[stock/bad.kdl:2:30]"), "{shown}");
}

#[test]
fn secrets_are_not_checked_without_names() {
    let project = ui_project();
    let rb =
        cairn_lang::load_runbook(&project, Path::new("invalid/unknown-secret.kdl")).expect("loads");
    let catalog = crate::common::TestCatalog::new();
    let cx = cairn_lang::ValidationContext {
        project: &project,
        plugins: &catalog,
        secret_names: None,
    };
    assert!(cairn_lang::validate(&rb, &cx).is_ok());
}
