//! The supervisor backend through supervisord's XML-RPC socket, against a
//! fake supervisord that answers on it (the same [`Fake`] as the
//! supervisorctl tests, so both paths see one supervisord).

use std::cell::RefCell;
use std::rc::Rc;

use super::supervisor::Fake;
use super::{invoke, lines};
use crate::supervisor_rpc::server_url;
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::json;

const CONFIG: &str = "[unix_http_server]\nfile=%(here)s/sv.sock\n\n[supervisorctl]\nserverurl = unix://%(here)s/sv.sock ; the socket\n";

fn xml_value(v: &str) -> String {
    format!("<value>{v}</value>")
}

fn response(v: &str) -> String {
    let body = format!(
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n{}\n</param>\n</params>\n</methodResponse>\n",
        xml_value(v)
    );
    format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn fault(code: i64, text: &str) -> String {
    let body = format!(
        "<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>{code}</int></value></member><member><name>faultString</name><value><string>{text}</string></value></member></struct></value></fault></methodResponse>"
    );
    format!("HTTP/1.0 200 OK\r\n\r\n{body}")
}

fn member(name: &str, v: &str) -> String {
    format!("<member><name>{name}</name>{}</member>", xml_value(v))
}

fn split(full: &str) -> (&str, &str) {
    full.split_once(':').unwrap_or((full, full))
}

/// supervisord answering XML-RPC: the fake's processes, started and
/// stopped by name, group or all, `wait` false.
fn answer(fake: &mut Fake, data: &str) -> String {
    let method = data
        .split("<methodName>")
        .nth(1)
        .and_then(|r| r.split("</methodName>").next())
        .unwrap();
    let strings: Vec<&str> = data
        .split("<string>")
        .skip(1)
        .filter_map(|r| r.split("</string>").next())
        .collect();
    let names: Vec<String> = fake.progs.iter().map(|p| p.0.clone()).collect();
    let (verb, scope) = match method.strip_prefix("supervisor.") {
        Some("getAllProcessInfo") => {
            fake.status();
            let items: String = fake
                .progs
                .iter()
                .map(|(n, st, pid)| {
                    let (g, name) = split(n);
                    let pid = if st == "RUNNING" { *pid } else { 0 };
                    format!(
                        "<value><struct>{}{}{}{}{}</struct></value>",
                        member("name", &format!("<string>{name}</string>")),
                        member("group", &format!("<string>{g}</string>")),
                        member("statename", &format!("<string>{st}</string>")),
                        member("pid", &format!("<int>{pid}</int>")),
                        member("description", "<string>pid &amp; uptime</string>"),
                    )
                })
                .collect();
            return response(&format!("<array><data>{items}</data></array>"));
        }
        Some(m) => {
            let verb = ["start", "stop", "signal"]
                .into_iter()
                .find(|v| m.starts_with(v))
                .unwrap_or_else(|| panic!("unexpected method {m}"));
            (verb, &m[verb.len()..])
        }
        None => panic!("not a supervisor method: {method}"),
    };
    let targets: Vec<String> = match scope {
        "AllProcesses" => names,
        "ProcessGroup" => names
            .into_iter()
            .filter(|n| split(n).0 == strings[0])
            .collect(),
        "Process" => {
            if !names.iter().any(|n| n == strings[0]) {
                return fault(10, &format!("BAD_NAME: {}", strings[0]));
            }
            vec![strings[0].to_string()]
        }
        other => panic!("unexpected scope {other}"),
    };
    for t in &targets {
        match verb {
            "start" => fake.start(t),
            "stop" => fake.set(t, "STOPPED"),
            _ => {}
        }
    }
    if scope == "Process" {
        return response("<boolean>1</boolean>");
    }
    let results: String = targets
        .iter()
        .map(|t| {
            let (g, n) = split(t);
            format!(
                "<value><struct>{}{}{}{}</struct></value>",
                member("name", &format!("<string>{n}</string>")),
                member("group", &format!("<string>{g}</string>")),
                member("status", "<int>80</int>"),
                member("description", "<string>OK</string>"),
            )
        })
        .collect();
    response(&format!("<array><data>{results}</data></array>"))
}

/// A host whose supervisord answers on `/etc/sv/sv.sock` (the config at
/// `/etc/sv/supervisord.conf` says so) and, as supervisorctl, too.
fn host(fake: &Rc<RefCell<Fake>>) -> MockHost {
    let f = fake.clone();
    MockHost::new()
        .on_exec(|cmd| {
            assert_eq!(cmd.program, "cat", "only the config is read by a command");
            assert_eq!(cmd.args, ["/etc/sv/supervisord.conf"]);
            Ok(Completed::ok(CONFIG))
        })
        .on_socket(move |req| {
            assert_eq!(req.address, "/etc/sv/sv.sock");
            let data = String::from_utf8_lossy(&req.data).to_string();
            assert!(data.starts_with("POST /RPC2?supervisor."), "{data}");
            Ok(SocketReply::eof(answer(&mut f.borrow_mut(), &data)))
        })
}

fn args(extra: serde_json::Value) -> serde_json::Value {
    let mut a = json!({ "backend": "supervisor", "config": "/etc/sv/supervisord.conf", "interval": "1ms", "timeout": "2s" });
    a.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    a
}

fn methods(host: &MockHost) -> Vec<String> {
    host.socket_requests()
        .iter()
        .map(|r| {
            let d = String::from_utf8_lossy(&r.data).to_string();
            let m = d.split("<methodName>supervisor.").nth(1).unwrap();
            let m = m.split('<').next().unwrap().to_string();
            let params: Vec<&str> = d
                .split("<string>")
                .skip(1)
                .filter_map(|r| r.split("</string>").next())
                .collect();
            let wait = d.contains("<boolean>1</boolean>");
            format!(
                "{m}({}{})",
                params.join(","),
                if wait { ",wait" } else { "" }
            )
        })
        .filter(|m| m != "getAllProcessInfo()")
        .collect()
}

#[test]
fn start_asks_the_socket_to_start_everything_at_once_and_waits_for_running() {
    let fake = Fake::new(&[
        ("web", "STOPPED"),
        ("workers:w_00", "STOPPED"),
        ("workers:w_01", "STOPPED"),
        ("cron", "RUNNING"),
    ]);
    let host = host(&fake);
    let out = invoke(&host, "start", args(json!({ "programs": "web workers:*" }))).unwrap();
    assert_eq!(out["all-running"], true);
    assert_eq!(
        out["started"],
        json!(["web", "workers:w_00", "workers:w_01"])
    );
    assert_eq!(out["programs"][1]["name"], "workers:w_00");
    assert_eq!(out["programs"][1]["detail"], "pid & uptime");
    assert!(out["programs"][0]["pid"].as_u64().unwrap() >= 500);
    // Not waiting in supervisord: both asked, then the state looked at.
    assert_eq!(
        methods(&host),
        ["startProcess(web)", "startProcessGroup(workers)"]
    );
    assert!(
        lines(&host).is_empty(),
        "no supervisorctl: {:?}",
        lines(&host)
    );
    assert_eq!(host.commands().len(), 1, "the config is read once");
    let looks = host.socket_requests().len() - 2;
    assert!(looks >= 3, "the state was looked at until running: {looks}");
    assert_eq!(host.socket_requests()[0].effect, Effect::Read);
    assert_eq!(host.socket_requests()[1].effect, Effect::Write);
}

#[test]
fn stop_restart_and_reload_go_through_the_socket() {
    let fake = Fake::new(&[("web", "RUNNING"), ("worker", "RUNNING")]);
    let host = host(&fake);
    let out = invoke(&host, "stop", args(json!({ "programs": "web" }))).unwrap();
    assert_eq!(out["was-running"], json!(["web"]));
    assert_eq!(out["running"], json!([]));
    assert_eq!(fake.borrow().progs[1].1, "RUNNING");
    let out = invoke(&host, "restart", args(json!({}))).unwrap();
    assert_eq!(out["all-running"], true);
    invoke(
        &host,
        "reload",
        args(json!({ "programs": "worker", "signal": "USR2" })),
    )
    .unwrap();
    assert_eq!(
        methods(&host),
        [
            "stopProcess(web)",
            "stopAllProcesses(,wait)",
            "startAllProcesses()",
            "signalProcess(worker,USR2)"
        ]
    );
}

#[test]
fn an_unknown_name_given_to_the_socket_fails_the_command_not_the_socket() {
    // Listed when the step began, gone when asked (a config reread between).
    let fake = Fake::new(&[("web", "STOPPED"), ("old", "STOPPED")]);
    let f = fake.clone();
    let host = host(&fake)
        .on_exec(|cmd| match cmd.program.as_str() {
            "cat" => Ok(Completed::ok(CONFIG)),
            // The end of its log, for the error.
            _ => Ok(Completed::ok("no such program\n")),
        })
        .on_socket(move |req| {
            let data = String::from_utf8_lossy(&req.data).to_string();
            if data.contains("startProcess<") && data.contains("<string>old</string>") {
                return Ok(SocketReply::eof(fault(10, "BAD_NAME: old")));
            }
            Ok(SocketReply::eof(answer(&mut f.borrow_mut(), &data)))
        });
    let e = invoke(
        &host,
        "start",
        args(json!({ "programs": "old", "timeout": "50ms" })),
    )
    .unwrap_err();
    assert!(e.message.contains("`old` is STOPPED"), "{}", e.message);
    assert!(
        lines(&host).iter().all(|l| !l.contains(" start")),
        "{:?}",
        lines(&host)
    );
    assert!(
        host.logs()
            .iter()
            .any(|(_, l)| l.contains("old: ERROR (BAD_NAME: old)")),
        "{:?}",
        host.logs()
    );
}

#[test]
fn a_socket_that_does_not_answer_falls_back_to_supervisorctl() {
    let fake = Fake::new(&[("web", "RUNNING")]);
    let f = fake.clone();
    let host = MockHost::new()
        .on_exec(move |cmd| match cmd.program.as_str() {
            "cat" => Ok(Completed::ok(CONFIG)),
            "supervisorctl" => {
                assert_eq!(cmd.args[2], "status");
                Ok(f.borrow_mut().status())
            }
            other => panic!("{other}"),
        })
        .socket_fails("socket: cannot connect to /etc/sv/sv.sock: No such file or directory");
    let out = invoke(&host, "status", args(json!({}))).unwrap();
    assert_eq!(out["running"], json!(["web"]));
    assert_eq!(host.socket_requests().len(), 1);
    assert!(lines(&host).contains(&"supervisorctl -c /etc/sv/supervisord.conf status".to_string()));
    assert!(
        host.logs()
            .iter()
            .any(|(_, l)| l.contains("no answer on /etc/sv/sv.sock")),
        "{:?}",
        host.logs()
    );
}

#[test]
fn a_step_on_another_machine_uses_supervisorctl_there() {
    let fake = Fake::new(&[("web", "RUNNING")]);
    let f = fake.clone();
    let host = MockHost::new().on_exec(move |cmd| {
        assert_eq!(cmd.program, "supervisorctl", "no config read, no socket");
        Ok(f.borrow_mut().status())
    });
    let mut ctx = Context::for_test();
    ctx.target = Some("app1".into());
    let out = host
        .invoke::<crate::Service>(&ctx, "status", args(json!({})))
        .unwrap();
    assert_eq!(out["running"], json!(["web"]));
    assert!(host.socket_requests().is_empty());
}

#[test]
fn a_dry_run_reads_through_the_socket_and_plans_the_start() {
    let fake = Fake::new(&[("web", "STOPPED")]);
    let host = host(&fake).dry_run();
    let ctx = Context::for_test().with_mode(Mode::DryRun);
    let out = host
        .invoke::<crate::Service>(&ctx, "start", args(json!({})))
        .unwrap();
    assert_eq!(out["planned"], true);
    assert_eq!(out["started"], json!(["web"]));
    assert_eq!(fake.borrow().progs[0].1, "STOPPED");
    assert_eq!(methods(&host), ["startAllProcesses()"]);
}

#[test]
fn the_socket_comes_from_the_supervisorctl_section() {
    let at = "/etc/supervisor/supervisord.conf";
    assert_eq!(
        server_url(CONFIG, "/etc/sv/supervisord.conf").as_deref(),
        Some("unix:///etc/sv/sv.sock")
    );
    assert_eq!(
        server_url("[supervisorctl]\nserverurl: http://localhost:9001\n", at).as_deref(),
        Some("http://localhost:9001")
    );
    // Debian's file; a section of another name is not read.
    assert_eq!(
        server_url("[unix_http_server]\nfile=/var/run/supervisor.sock\n\n[supervisorctl]\nserverurl=unix:///var/run/supervisor.sock\n", at).as_deref(),
        Some("unix:///var/run/supervisor.sock")
    );
    assert_eq!(
        server_url("[unix_http_server]\nfile=/run/s.sock\n", at),
        None
    );
    // A login, or a value we cannot expand: left to supervisorctl.
    assert_eq!(
        server_url(
            "[supervisorctl]\nserverurl=unix:///s.sock\nusername=admin\n",
            at
        ),
        None
    );
    assert_eq!(
        server_url("[supervisorctl]\nserverurl=unix://%(ENV_X)s/s.sock\n", at),
        None
    );
}
