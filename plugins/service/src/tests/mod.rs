//! Unit tests against the SDK's mock host: a fake supervisorctl, systemctl
//! and docker compose that keep their programs' state.

use super::Service;
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::{Value, json};

mod compose;
mod compose_v1;
mod supervisor;
mod supervisor_groups;
mod supervisor_rpc;
mod systemd;

fn invoke(host: &MockHost, action: &str, args: Value) -> Result<Outputs, PluginError> {
    host.invoke::<Service>(&Context::for_test(), action, args)
}

/// The command lines the plugin ran, as text.
fn lines(host: &MockHost) -> Vec<String> {
    host.commands()
        .iter()
        // supervisor's config, read for its socket (tests/supervisor_rpc.rs)
        .filter(|c| c.program != "cat")
        .map(|c| format!("{} {}", c.program, c.args.join(" ")))
        .collect()
}

#[test]
fn describes_itself() {
    let d = Service::describe();
    assert_eq!(d.name, "service");
    assert_eq!(d.default_action.as_deref(), Some("status"));
    for (action, effect) in [
        ("status", Effect::Read),
        ("wait-ready", Effect::Read),
        ("stop", Effect::Write),
        ("start", Effect::Write),
        ("restart", Effect::Write),
        ("reload", Effect::Write),
        ("pull", Effect::Write),
    ] {
        assert_eq!(d.find_action(action).unwrap().effect, effect, "{action}");
    }
    let exec = d.capabilities.iter().find(|c| c.name == "exec").unwrap();
    assert!(exec.values.contains(&"supervisorctl".to_string()));
    assert!(exec.values.contains(&"systemctl".to_string()));
    assert!(exec.values.contains(&"docker".to_string()));
}

#[test]
fn an_unknown_backend_or_a_foreign_argument_is_refused() {
    let host = MockHost::new();
    let e = invoke(&host, "status", json!({ "backend": "upstart" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("backend"));
    assert!(
        e.message.contains("unknown backend `upstart`"),
        "{}",
        e.message
    );
    let e = invoke(
        &host,
        "status",
        json!({ "backend": "supervisor", "file": "compose.yml" }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("file"));
    assert!(e.message.contains("`compose` backend"), "{}", e.message);
    let e = invoke(&host, "status", json!({ "backend": "compose" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("file"));
    let e = invoke(&host, "status", json!({ "backend": "systemd" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("programs"));
    assert!(host.commands().is_empty());
}

#[test]
fn a_bad_ready_url_or_signal_is_refused_before_anything_runs() {
    let host = MockHost::new();
    let e = invoke(
        &host,
        "start",
        json!({ "backend": "supervisor", "ready-url": "ftp://x/" }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("ready-url"));
    let e = invoke(
        &host,
        "reload",
        json!({ "backend": "supervisor", "signal": "HUP; rm -rf /" }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("signal"));
    assert!(host.commands().is_empty());
}

#[test]
fn every_backend_plans_offline_without_checking_names() {
    // An undo step listed by a dry-run runs offline: even the reads are
    // planned, so the names cannot be checked and the state is not known.
    let ctx = Context::for_test().with_mode(Mode::DryRun);
    let cases = [
        json!({ "backend": "supervisor", "programs": "web worker:*" }),
        json!({ "backend": "systemd", "programs": "web worker@*" }),
        json!({ "backend": "compose", "file": "/srv/site.yml", "programs": "web worker" }),
    ];
    for args in cases {
        for action in ["stop", "start", "status"] {
            let host = MockHost::new()
                .dry_run()
                .on_exec(|_| Ok(Completed::planned()));
            let out = host
                .invoke::<Service>(&ctx, action, args.clone())
                .unwrap_or_else(|e| panic!("{action} {args}: {e:?}"));
            assert_eq!(out["programs"][0]["state"], "unknown", "{action} {args}");
            assert_eq!(
                out["programs"].as_array().unwrap().len(),
                2,
                "{action} {args}"
            );
        }
    }
}
