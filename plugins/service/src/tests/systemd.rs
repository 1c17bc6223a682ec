use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{invoke, lines};
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::json;

/// systemctl over units: `(ActiveState, SubState, Result)`; a started unit
/// is `activating` for one look, then `active` (or `failed` when broken).
fn fake(
    units: &[(&str, &str)],
    broken: &[&str],
) -> (Rc<RefCell<BTreeMap<String, String>>>, MockHost) {
    let state: Rc<RefCell<BTreeMap<String, String>>> = Rc::new(RefCell::new(
        units
            .iter()
            .map(|(u, s)| (u.to_string(), s.to_string()))
            .collect(),
    ));
    let broken: Vec<String> = broken.iter().map(|b| b.to_string()).collect();
    let s = state.clone();
    let host = MockHost::new().on_exec(move |cmd| {
        let mut s = s.borrow_mut();
        let a: Vec<&str> = cmd.args.iter().map(String::as_str).filter(|w| *w != "--user").collect();
        if cmd.program == "journalctl" {
            return Ok(Completed::ok("Started web.\nweb: error: port 8000 in use\n"));
        }
        assert_eq!(cmd.program, "systemctl");
        Ok(match a[0] {
            "show" => {
                assert_eq!(a[1], "--property=Id,LoadState,ActiveState,SubState,MainPID,Result");
                let blocks: Vec<String> = a[3..]
                    .iter()
                    .map(|u| match s.get(*u).cloned() {
                        None => format!("Id={u}\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0\nResult=success\n"),
                        Some(st) => {
                            let (active, sub, result, pid) = match st.as_str() {
                                "activating" => {
                                    let next = if broken.iter().any(|b| b == u) { "failed" } else { "active" };
                                    s.insert(u.to_string(), next.into());
                                    ("activating", "start", "success", 0)
                                }
                                "active" => ("active", "running", "success", 4242),
                                "failed" => ("failed", "failed", "exit-code", 0),
                                _ => ("inactive", "dead", "success", 0),
                            };
                            format!("Id={u}\nLoadState=loaded\nActiveState={active}\nSubState={sub}\nMainPID={pid}\nResult={result}\n")
                        }
                    })
                    .collect();
                Completed::ok(blocks.join("\n"))
            }
            "list-units" => {
                let pat = a.last().unwrap().trim_end_matches('*');
                let found: String = s
                    .keys()
                    .filter(|u| u.starts_with(pat))
                    .map(|u| format!("{u} loaded active running Worker\n"))
                    .collect();
                Completed::ok(found)
            }
            "start" | "restart" | "reload" => {
                for u in &a[2..] {
                    s.insert(u.to_string(), "activating".into());
                }
                Completed::ok("")
            }
            "stop" => {
                for u in &a[2..] {
                    s.insert(u.to_string(), "inactive".into());
                }
                Completed::ok("")
            }
            other => panic!("unexpected systemctl {other}"),
        })
    });
    (state, host)
}

fn args(programs: serde_json::Value) -> serde_json::Value {
    json!({ "backend": "systemd", "programs": programs, "interval": "1ms", "timeout": "2s" })
}

#[test]
fn a_bare_name_is_a_service_and_patterns_are_expanded() {
    let (_, host) = fake(
        &[
            ("web.service", "active"),
            ("worker@1.service", "active"),
            ("worker@2.service", "inactive"),
        ],
        &[],
    );
    let out = invoke(&host, "status", args(json!(["web", "worker@*"]))).unwrap();
    assert_eq!(out["running"], json!(["web.service", "worker@1.service"]));
    assert_eq!(out["programs"][0]["pid"], 4242);
    assert_eq!(out["programs"][2]["state"], "inactive");
    assert!(
        lines(&host)[0]
            .starts_with("systemctl list-units --all --plain --no-legend --full -- worker@*")
    );
}

#[test]
fn an_unknown_unit_is_an_error() {
    let (_, host) = fake(&[("web.service", "active")], &[]);
    let e = invoke(&host, "stop", args(json!("wbe"))).unwrap_err();
    assert_eq!(
        e.message,
        "argument `programs`: systemd has no unit `wbe.service`"
    );
}

#[test]
fn stop_returns_the_active_units_and_start_waits_for_active() {
    let (state, host) = fake(
        &[("web.service", "active"), ("worker.service", "inactive")],
        &[],
    );
    let out = invoke(&host, "stop", args(json!(["web", "worker"]))).unwrap();
    assert_eq!(out["was-running"], json!(["web.service"]));
    assert_eq!(state.borrow()["web.service"], "inactive");
    let out = invoke(&host, "start", args(out["was-running"].clone())).unwrap();
    assert_eq!(out["all-running"], true);
    assert_eq!(
        state.borrow()["worker.service"],
        "inactive",
        "only what ran was started"
    );
    assert!(lines(&host).contains(&"systemctl start -- web.service".to_string()));
}

#[test]
fn a_unit_that_fails_fails_the_start_with_its_journal() {
    let (_, host) = fake(&[("web.service", "inactive")], &["web.service"]);
    let e = invoke(&host, "start", args(json!("web"))).unwrap_err();
    assert_eq!(
        e.message,
        "systemd `web.service` did not start: failed (failed, result exit-code); \
         its log ends with: Started web. | web: error: port 8000 in use"
    );
}

#[test]
fn user_units_are_asked_with_user() {
    let (_, host) = fake(&[("web.service", "active")], &[]);
    let mut a = args(json!("web"));
    a["user"] = json!("true");
    invoke(&host, "status", a).unwrap();
    assert!(lines(&host)[0].starts_with("systemctl --user show"));
}

#[test]
fn empty_arguments_of_other_backends_are_absent() {
    // A stock runbook passes its params through: `config ""` (a supervisor
    // argument) under systemd means "none", not a foreign argument.
    let (_, host) = fake(&[("web.service", "active")], &[]);
    let mut a = args(json!(["web"]));
    for k in [
        "config",
        "server-url",
        "file",
        "project",
        "compose-command",
        "signal",
        "ready-url",
    ] {
        a[k] = json!("");
    }
    let out = invoke(&host, "status", a).unwrap();
    assert_eq!(out["running"], json!(["web.service"]));
}
