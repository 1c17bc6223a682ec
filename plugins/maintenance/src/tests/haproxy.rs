use std::cell::RefCell;
use std::rc::Rc;

use crate::Maintenance;
use crate::haproxy::parse_state;
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::{Value, json};

type Servers = Rc<RefCell<Vec<(String, u32)>>>;

/// An HAProxy runtime API over backend `be_app`, and a front that answers
/// 503 with the errorfile page when every server is in maintenance.
fn haproxy(servers: &[(&str, u32)]) -> (Servers, MockHost) {
    let st: Servers = Rc::new(RefCell::new(
        servers.iter().map(|(n, a)| (n.to_string(), *a)).collect(),
    ));
    let s = st.clone();
    let t = st.clone();
    let host = MockHost::new()
        .on_socket(move |req| {
            assert_eq!(req.address, "/run/haproxy/admin.sock");
            let line = String::from_utf8(req.data.clone()).unwrap();
            let mut s = s.borrow_mut();
            if line == "show servers state be_app\n" {
                assert_eq!(req.effect, Effect::Read);
                let mut out = String::from("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n");
                for (i, (n, a)) in s.iter().enumerate() {
                    out.push_str(&format!("3 be_app {} {n} 127.0.0.1 2 {a} 1\n", i + 1));
                }
                return Ok(SocketReply::eof(out));
            }
            assert_eq!(req.effect, Effect::Write);
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(&words[..2], ["set", "server"]);
            let name = words[2].strip_prefix("be_app/").unwrap();
            let srv = s.iter_mut().find(|(n, _)| n == name).unwrap();
            match words[4] {
                "maint" => srv.1 |= 0x01,
                "ready" => srv.1 &= !0x01,
                other => panic!("state {other}"),
            }
            Ok(SocketReply::eof("\n"))
        })
        .on_http(move |_| {
            let down = t.borrow().iter().all(|(_, a)| a & 0x01 != 0);
            Ok(if down {
                Response::new(503, "<h1>Back soon</h1>")
            } else {
                Response::new(200, "the site")
            })
        });
    (st, host)
}

fn args(extra: Value) -> Value {
    let mut a = json!({
        "backend": "haproxy", "socket": "/run/haproxy/admin.sock", "haproxy-backend": "be_app",
        "url": "http://127.0.0.1:8080/", "expect-text": "Back soon", "timeout": "50ms", "interval": "5ms"
    });
    a.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    a
}

fn invoke(host: &MockHost, action: &str, a: Value) -> Result<Outputs, PluginError> {
    host.invoke::<Maintenance>(&Context::for_test(), action, a)
}

#[test]
fn show_servers_state_is_parsed() {
    let text = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state\n\
                3 be_app 1 app1 127.0.0.1 2 0 1 1\n3 be_app 2 app2 127.0.0.1 0 1 1 1\n4 other 1 x 127.0.0.1 2 0 1 1\n";
    let s = parse_state(text, "be_app");
    assert_eq!(s.len(), 2);
    assert_eq!((s[1].name.as_str(), s[1].admin), ("app2", 1));
}

#[test]
fn on_puts_the_servers_in_maintenance_and_off_puts_back_only_those() {
    // app3 was put in maintenance by hand before
    let (st, host) = haproxy(&[("app1", 0), ("app2", 0), ("app3", 1)]);
    let out = invoke(&host, "on", args(json!({}))).unwrap();
    assert_eq!(out["put-in-maintenance"], json!(["app1", "app2"]));
    assert_eq!(out["verified"], true);
    assert_eq!(out["was-on"], false);
    let e = invoke(&host, "off", args(json!({}))).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("servers"));
    let out = invoke(
        &host,
        "off",
        args(json!({ "servers": out["put-in-maintenance"].clone() })),
    )
    .unwrap();
    assert_eq!(out["put-back"], json!(["app1", "app2"]));
    assert_eq!(out["verified"], true);
    assert_eq!(
        *st.borrow(),
        [
            ("app1".to_string(), 0),
            ("app2".to_string(), 0),
            ("app3".to_string(), 1)
        ]
    );
}

#[test]
fn on_that_is_not_served_puts_the_servers_back() {
    let (st, host) = haproxy(&[("app1", 0)]);
    let e = invoke(&host, "on", args(json!({ "expect-text": "Planned works" }))).unwrap_err();
    assert!(e.message.contains("not served"), "{}", e.message);
    assert!(
        e.message.contains("servers put back in service: app1"),
        "{}",
        e.message
    );
    assert_eq!(st.borrow()[0].1, 0);
}

#[test]
fn an_unknown_server_and_a_dry_run() {
    let (st, host) = haproxy(&[("app1", 0)]);
    let e = invoke(&host, "on", args(json!({ "servers": "app9" }))).unwrap_err();
    assert_eq!(
        e.message,
        "argument `servers`: backend `be_app` has no server `app9` (it has: app1)"
    );
    let host = host.dry_run();
    let ctx = Context::for_test().with_mode(Mode::DryRun);
    let out = host
        .invoke::<Maintenance>(&ctx, "on", args(json!({})))
        .unwrap();
    assert_eq!(out["planned"], true);
    assert_eq!(st.borrow()[0].1, 0);
}

#[test]
fn a_runbook_may_pass_the_arguments_of_both_backends_empty() {
    // deploy-update passes every param through: the other backend's are "".
    let (st, host) = haproxy(&[("app1", 0)]);
    let out = invoke(&host, "on", args(json!({ "file": "", "page": " " }))).unwrap();
    assert_eq!(out["put-in-maintenance"], json!(["app1"]));
    invoke(&host, "off", args(json!({ "file": "", "servers": "app1" }))).unwrap();
    assert_eq!(st.borrow()[0].1, 0);

    let (files, host) = super::site(&[], true);
    let empty = json!({ "socket": "", "haproxy-backend": "", "servers": "" });
    let out = super::invoke(&host, "on", super::args(empty.clone())).unwrap();
    assert_eq!(out["put-in-maintenance"], json!([]));
    assert!(files.borrow().contains_key("/srv/m/maintenance.html"));
    super::invoke(&host, "off", super::args(empty)).unwrap();
    assert!(files.borrow().is_empty());
    // A server named for the flag file is still refused.
    let e = super::invoke(&host, "on", super::args(json!({ "servers": "app1" }))).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("servers"));
}

#[test]
fn a_dry_run_after_a_planned_step_neither_guesses_nor_fails() {
    // Offline (a step after a planned one): the read of the backend is only
    // planned, so its state is not known; nothing is checked or set.
    let host = MockHost::new()
        .dry_run()
        .on_socket(|_| Ok(SocketReply::planned()));
    let ctx = Context::for_test().with_mode(Mode::DryRun);
    for action in ["on", "status"] {
        let out = host
            .invoke::<Maintenance>(&ctx, action, args(json!({})))
            .unwrap_or_else(|e| panic!("{action}: {e:?}"));
        assert_eq!(out["planned"], true, "{action}");
    }
    let later = args(json!({ "servers": cairn_sdk::KNOWN_LATER }));
    let out = host
        .invoke::<Maintenance>(&ctx, "off", later.clone())
        .unwrap();
    assert_eq!(out["planned"], true);
    // Read for real, the backend is shown and the unknown names are not
    // taken for server names.
    let (_, host) = haproxy(&[("app1", 0), ("app2", 0)]);
    let out = host
        .invoke::<Maintenance>(&ctx, "off", later.clone())
        .unwrap();
    assert_eq!(out["servers"], json!(["app1", "app2"]));
    assert_eq!(out["planned"], true);
    // Not in a dry-run: the same text is a name the backend does not have.
    let e = invoke(&host, "off", later).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("servers"));
}
