use std::cell::RefCell;
use std::rc::Rc;

use super::{invoke, lines};
use crate::compose::parse_ps;
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::json;

/// `docker compose -f site.yml`: services web (with a health check) and
/// worker; `up -d` makes web `starting` for one look, then `healthy`.
fn fake(web: &str, worker: &str) -> (Rc<RefCell<(String, String)>>, MockHost) {
    let st = Rc::new(RefCell::new((web.to_string(), worker.to_string())));
    let s = st.clone();
    let host = MockHost::new().on_exec(move |cmd| {
        assert_eq!(cmd.program, "docker");
        assert_eq!(&cmd.args[..3], ["compose", "-f", "site.yml"]);
        let a: Vec<&str> = cmd.args[3..].iter().map(String::as_str).collect();
        let mut s = s.borrow_mut();
        Ok(match a[0] {
            "config" => Completed::ok("web\nworker\n"),
            "ps" => {
                assert_eq!(a, ["ps", "--all", "--format", "json"]);
                let web_line = match s.0.as_str() {
                    "starting" => {
                        s.0 = "healthy".into();
                        r#"{"Service":"web","Name":"site-web-1","State":"running","Health":"starting","ExitCode":0}"#.to_string()
                    }
                    "healthy" => r#"{"Service":"web","Name":"site-web-1","State":"running","Health":"healthy","ExitCode":0}"#.to_string(),
                    "crashed" => r#"{"Service":"web","Name":"site-web-1","State":"exited","Health":"","ExitCode":3}"#.to_string(),
                    _ => r#"{"Service":"web","Name":"site-web-1","State":"exited","Health":"","ExitCode":0}"#.to_string(),
                };
                let worker_line = if s.1 == "running" {
                    r#"{"Service":"worker","Name":"site-worker-1","State":"running","Health":"","ExitCode":0}"#
                } else {
                    r#"{"Service":"worker","Name":"site-worker-1","State":"exited","Health":"","ExitCode":137}"#
                };
                Completed::ok(format!("{web_line}\n{worker_line}\n"))
            }
            "up" => {
                assert_eq!(a[1], "-d");
                for svc in &a[2..] {
                    match *svc {
                        "web" => s.0 = if s.0 == "broken" { "crashed".into() } else { "starting".into() },
                        _ => s.1 = "running".into(),
                    }
                }
                Completed::ok("")
            }
            "stop" => {
                for svc in &a[1..] {
                    match *svc {
                        "web" => s.0 = "exited".into(),
                        _ => s.1 = "exited".into(),
                    }
                }
                Completed::ok("")
            }
            "pull" => Completed::ok("web Pulled\n"),
            "logs" => Completed::ok("web-1  | Error: DATABASE_URL is not set\n"),
            other => panic!("unexpected compose {other}"),
        })
    });
    (st, host)
}

fn args(extra: serde_json::Value) -> serde_json::Value {
    let mut a =
        json!({ "backend": "compose", "file": "site.yml", "interval": "1ms", "timeout": "2s" });
    a.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    a
}

#[test]
fn ps_json_is_read_as_lines_or_as_one_array() {
    let one = r#"[{"Service":"web","Name":"a","State":"running","Health":"","ExitCode":0}]"#;
    assert_eq!(parse_ps(one).unwrap().len(), 1);
    let e = parse_ps("NAME  COMMAND  SERVICE\n").unwrap_err();
    assert!(e.message.contains("not JSON"), "{}", e.message);
}

#[test]
fn start_is_up_d_and_waits_until_healthy() {
    let (st, host) = fake("exited", "exited");
    let out = invoke(&host, "start", args(json!({}))).unwrap();
    assert_eq!(out["started"], json!(["web", "worker"]));
    assert_eq!(out["all-running"], true);
    assert_eq!(out["programs"][0]["state"], "running (healthy)");
    assert_eq!(st.borrow().0, "healthy");
    assert!(lines(&host).contains(&"docker compose -f site.yml up -d web worker".to_string()));
}

#[test]
fn stop_returns_the_running_services() {
    let (_, host) = fake("healthy", "exited");
    let out = invoke(&host, "stop", args(json!({}))).unwrap();
    assert_eq!(out["was-running"], json!(["web"]));
    assert!(lines(&host).contains(&"docker compose -f site.yml stop web".to_string()));
}

#[test]
fn a_service_that_exits_with_an_error_fails_the_start_with_its_logs() {
    let (_, host) = fake("broken", "running");
    let e = invoke(&host, "start", args(json!({ "programs": "web" }))).unwrap_err();
    assert_eq!(
        e.message,
        "compose `web` did not start: exited (site-web-1 exited with code 3); \
         its log ends with: web-1  | Error: DATABASE_URL is not set"
    );
}

#[test]
fn pull_and_an_unknown_service() {
    let (_, host) = fake("healthy", "running");
    let out = invoke(&host, "pull", args(json!({ "programs": "web" }))).unwrap();
    assert_eq!(out["pulled"], json!(["web"]));
    let e = invoke(&host, "pull", args(json!({ "programs": "db" }))).unwrap_err();
    assert_eq!(
        e.message,
        "argument `programs`: the compose project has no service `db` (it has: web, worker)"
    );
}

#[test]
fn docker_compose_v2_standalone_is_accepted() {
    let host = MockHost::new().on_exec(|cmd| {
        assert_eq!(cmd.program, "docker-compose");
        assert_eq!(&cmd.args[..2], ["-f", "site.yml"]);
        Ok(if cmd.args[2] == "config" {
            Completed::ok("web\n")
        } else {
            Completed::ok("")
        })
    });
    let out = invoke(
        &host,
        "status",
        args(json!({ "compose-command": "docker-compose" })),
    )
    .unwrap();
    assert_eq!(out["programs"][0]["state"], "absent");
}
