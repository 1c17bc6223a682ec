//! The plugin against a simulated HAProxy runtime API: the mock host's
//! socket handler keeps server states and answers as HAProxy 2.6 does
//! (formats copied from a real `show servers state` and `show stat`).

use std::cell::RefCell;
use std::rc::Rc;

use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::{Value, json};

use crate::Haproxy;

const SOCK: &str = "/run/haproxy/admin.sock";

#[derive(Clone)]
struct Srv {
    name: &'static str,
    admin: u32,
    op: u32,
    weight: u32,
    addr: String,
    port: u16,
    /// Sessions left; each `show stat` ends one.
    scur: u64,
    check: &'static str,
}

type Fake = Rc<RefCell<Vec<Srv>>>;

fn fake(servers: &[(&'static str, u32, u32)]) -> Fake {
    Rc::new(RefCell::new(
        servers
            .iter()
            .enumerate()
            .map(|(i, (name, admin, op))| Srv {
                name,
                admin: *admin,
                op: *op,
                weight: 1,
                addr: "127.0.0.1".into(),
                port: 58081 + i as u16,
                scur: 0,
                check: "L4OK",
            })
            .collect(),
    ))
}

fn answer(f: &Fake, cmd: &str) -> String {
    let cmd = cmd.trim();
    let mut servers = f.borrow_mut();
    if let Some(be) = cmd.strip_prefix("show servers state ") {
        if be != "be_app" {
            return "Can't find backend.\n".into();
        }
        let mut out = String::from(
            "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n",
        );
        for (i, s) in servers.iter().enumerate() {
            out.push_str(&format!(
                "3 be_app {} {} {} {} {} {} 1 448 6 3 2 6 0 0 0 - {} - 0 0 - - 0\n",
                i + 1,
                s.name,
                s.addr,
                s.op,
                s.admin,
                s.weight,
                s.port
            ));
        }
        return out + "\n";
    }
    if cmd == "show stat" {
        let mut out = String::from(
            "# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,weight,check_status,check_desc,addr\n",
        );
        for s in servers.iter_mut() {
            let status = match (s.admin, s.op) {
                (a, _) if a & 1 != 0 => "MAINT",
                (a, _) if a & 8 != 0 => "DRAIN",
                (_, 2) => "UP",
                _ => "DOWN",
            };
            out.push_str(&format!(
                "be_app,{},0,0,{},1,,1,{status},{},{},\"Layer4 check passed, really\",{}:{}\n",
                s.name, s.scur, s.weight, s.check, s.addr, s.port
            ));
            s.scur = s.scur.saturating_sub(1);
        }
        out.push_str("be_app,BACKEND,0,0,0,1,103,1,UP,2,,,\n");
        return out;
    }
    let Some(rest) = cmd.strip_prefix("set server be_app/") else {
        return "Unknown command.\n".into();
    };
    let (name, what) = rest.split_once(' ').unwrap();
    let Some(s) = servers.iter_mut().find(|s| s.name == name) else {
        return "No such server.\n".into();
    };
    let words: Vec<&str> = what.split_whitespace().collect();
    match words.as_slice() {
        ["state", "ready"] => s.admin = 0,
        ["state", "drain"] => s.admin = 8,
        ["state", "maint"] => s.admin = 1,
        ["weight", w] => s.weight = w.parse().unwrap(),
        ["addr", a, "port", p] => {
            let old = s.addr.clone();
            s.addr = a.to_string();
            s.port = p.parse().unwrap();
            return format!("IP changed from '{old}' to '{a}', port changed\n");
        }
        ["addr", a] => {
            let old = std::mem::replace(&mut s.addr, a.to_string());
            return format!("IP changed from '{old}' to '{a}', no port change\n");
        }
        _ => return "Require 'backend/server'.\n".into(),
    }
    String::new()
}

fn host_for(f: &Fake) -> MockHost {
    let f = f.clone();
    MockHost::new().on_socket(move |req| {
        assert_eq!(req.address, SOCK);
        Ok(SocketReply::new(
            answer(&f, &String::from_utf8_lossy(&req.data)),
            ReplyEnd::Eof,
        ))
    })
}

fn run(host: &MockHost, action: &str, args: Value) -> Result<Outputs, PluginError> {
    run_in(host, Mode::Apply, action, args)
}

fn run_in(host: &MockHost, mode: Mode, action: &str, args: Value) -> Result<Outputs, PluginError> {
    let mut a = json!({ "socket": SOCK, "backend": "be_app" });
    a.as_object_mut()
        .unwrap()
        .extend(args.as_object().unwrap().clone());
    Haproxy::run(
        host,
        &Context::for_test().with_mode(mode),
        action,
        Args::from_value(a).unwrap(),
    )
}

fn sent(host: &MockHost) -> Vec<String> {
    host.socket_requests()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.data).trim().to_string())
        .filter(|c| c.starts_with("set "))
        .collect()
}

#[test]
fn status_lists_every_server_with_state_health_and_sessions() {
    let f = fake(&[("app1", 0, 2), ("app2", 8, 2)]);
    f.borrow_mut()[1].scur = 3;
    let host = host_for(&f);
    let out = run(&host, "status", json!({})).unwrap();
    let servers = out.get("servers").unwrap().as_array().unwrap();
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[0]["name"], "app1");
    assert_eq!(servers[0]["state"], "ready");
    assert_eq!(servers[0]["health"], "up");
    assert_eq!(servers[0]["port"], 58081);
    assert_eq!(servers[1]["state"], "drain");
    assert_eq!(servers[1]["sessions"], 3);
    assert_eq!(servers[1]["check"], "L4OK");
    assert_eq!(out.get("serving").unwrap(), 1);
    assert!(sent(&host).is_empty(), "status changes nothing");
}

#[test]
fn drain_waits_for_sessions_and_returns_the_previous_state() {
    let f = fake(&[("app1", 0, 2), ("app2", 0, 2)]);
    f.borrow_mut()[0].scur = 2;
    let host = host_for(&f);
    let out = run(
        &host,
        "drain",
        json!({ "server": "app1", "timeout": "10s" }),
    )
    .unwrap();
    assert_eq!(out.get("previous-state").unwrap(), "ready");
    assert_eq!(out.get("state").unwrap(), "drain");
    assert_eq!(sent(&host), ["set server be_app/app1 state drain"]);
    assert_eq!(f.borrow()[0].scur, 0);
    assert_eq!(f.borrow()[0].admin, 8);
    // The undo: back to exactly what it was.
    let back = run(
        &host,
        "set-state",
        json!({ "server": "app1", "state": "ready" }),
    )
    .unwrap();
    assert_eq!(back.get("previous-state").unwrap(), "drain");
    assert_eq!(f.borrow()[0].admin, 0);
}

#[test]
fn drain_that_outlasts_its_timeout_fails_naming_the_sessions() {
    let f = fake(&[("app1", 0, 2), ("app2", 0, 2)]);
    f.borrow_mut()[0].scur = 1_000_000;
    let host = host_for(&f);
    let err = run(&host, "drain", json!({ "server": "app1", "timeout": "1s" })).unwrap_err();
    assert!(
        err.message.contains("waited 1s for its sessions to end"),
        "{}",
        err.message
    );
    assert!(err.message.contains("sessions"), "{}", err.message);
}

#[test]
fn a_change_that_empties_the_backend_is_refused_unless_allowed() {
    // app2 is already in maintenance: taking app1 out leaves nothing.
    let f = fake(&[("app1", 0, 2), ("app2", 1, 2)]);
    let host = host_for(&f);
    for (action, extra) in [
        ("maint", json!({})),
        ("drain", json!({})),
        ("weight", json!({ "weight": 0 })),
    ] {
        let mut args = json!({ "server": "app1" });
        args.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let err = run(&host, action, args).unwrap_err();
        assert!(
            err.message
                .contains("would have no server that is ready and up"),
            "{action}: {}",
            err.message
        );
        assert!(err.message.contains("app2 maint up"), "{}", err.message);
    }
    assert!(
        sent(&host).is_empty(),
        "nothing was sent: {:?}",
        sent(&host)
    );
    // A down server does not count as serving either.
    let f = fake(&[("app1", 0, 2), ("app2", 0, 0)]);
    let host = host_for(&f);
    assert!(run(&host, "maint", json!({ "server": "app1" })).is_err());
    let ok = run(
        &host,
        "maint",
        json!({ "server": "app1", "allow-empty-backend": true }),
    )
    .unwrap();
    assert_eq!(ok.get("previous-state").unwrap(), "ready");
    assert_eq!(f.borrow()[0].admin, 1);
}

#[test]
fn set_addr_and_weight_return_what_they_replaced() {
    let f = fake(&[("app1", 0, 2), ("app2", 0, 2)]);
    let host = host_for(&f);
    let out = run(
        &host,
        "set-addr",
        json!({ "server": "app2", "addr": "127.0.0.2", "port": "58090" }),
    )
    .unwrap();
    assert_eq!(out.get("previous-addr").unwrap(), "127.0.0.1");
    assert_eq!(out.get("previous-port").unwrap(), 58082);
    assert_eq!(f.borrow()[1].addr, "127.0.0.2");
    assert_eq!(f.borrow()[1].port, 58090);
    let w = run(&host, "weight", json!({ "server": "app2", "weight": "50" })).unwrap();
    assert_eq!(w.get("previous-weight").unwrap(), 1);
    assert_eq!(f.borrow()[1].weight, 50);
    let err = run(
        &host,
        "set-addr",
        json!({ "server": "app2", "addr": "new-host" }),
    )
    .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("addr"));
}

#[test]
fn a_dry_run_reads_the_real_state_and_sends_no_change() {
    let f = fake(&[("app1", 0, 2), ("app2", 0, 2)]);
    let host = host_for(&f).dry_run();
    let out = run_in(&host, Mode::DryRun, "drain", json!({ "server": "app1" })).unwrap();
    assert_eq!(out.get("planned").unwrap(), true);
    assert_eq!(out.get("previous-state").unwrap(), "ready");
    assert_eq!(f.borrow()[0].admin, 0, "the fake haproxy saw no change");
    let logs = host.logs();
    assert!(
        logs.iter()
            .any(|(_, m)| m.contains("server be_app/app1: ready → drain")),
        "{logs:?}"
    );
}

#[test]
fn a_dry_run_of_a_state_the_server_has_already_says_no_change() {
    let f = fake(&[("app1", 0, 2), ("app2", 0, 2)]);
    let host = host_for(&f).dry_run();
    let out = run_in(&host, Mode::DryRun, "ready", json!({ "server": "app1" })).unwrap();
    assert_eq!(out.get("previous-state").unwrap(), "ready");
    let logs = host.logs();
    assert!(
        logs.iter()
            .any(|(_, m)| m == "server be_app/app1: ready (no change)"),
        "{logs:?}"
    );
    assert!(
        !logs.iter().any(|(_, m)| m.contains("would change")),
        "{logs:?}"
    );
}

#[test]
fn unknown_backend_server_and_refusals_are_clear_errors() {
    let f = fake(&[("app1", 0, 2), ("app2", 0, 2)]);
    let host = host_for(&f);
    let err = run_in(
        &host,
        Mode::Apply,
        "status",
        json!({ "backend": "be_nope" }),
    )
    .unwrap_err();
    assert!(
        err.message.contains("no backend `be_nope`"),
        "{}",
        err.message
    );
    let err = run(&host, "ready", json!({ "server": "app9" })).unwrap_err();
    assert!(
        err.message.contains("no server `app9` (it has app1, app2)"),
        "{}",
        err.message
    );
    let err = run(&host, "ready", json!({})).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("server"));
    let err = run(
        &host,
        "set-state",
        json!({ "server": "app1", "state": "gone" }),
    )
    .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("state"));
}

#[test]
fn wait_healthy_waits_for_up_with_a_passing_check() {
    let f = fake(&[("app1", 0, 2), ("app2", 0, 0)]);
    f.borrow_mut()[1].check = "L4CON";
    let host = host_for(&f);
    assert!(run(&host, "wait-healthy", json!({ "server": "app1" })).is_ok());
    let err = run(
        &host,
        "wait-healthy",
        json!({ "server": "app2", "timeout": "1s" }),
    )
    .unwrap_err();
    assert!(err.message.contains("down"), "{}", err.message);
}
