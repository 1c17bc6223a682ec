use std::cell::RefCell;
use std::rc::Rc;

use super::{invoke, lines};
use crate::compose_v1::{is_v1, parse_table};
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::json;

/// `docker-compose ps -a` of docker-compose 1.29.2, as it printed it (the
/// header centred, the command cut at 30 characters).
const TABLE: &str = "      Name                    Command                  State       Ports
------------------------------------------------------------------------
site_other_1       sh -c exit 3                     Exit 3              
site_web_1         sh -c trap 'exit 0' TERM;  ...   Up (healthy)        
site_web_2         echo Up   Exit 1                 Up (health: starting)   127.0.0.1:8000->8000/tcp
site_web_run_3f2   sh                               Up                  
custom-name        sleep 1000                       Up                  
";

fn services() -> Vec<String> {
    vec!["web".into(), "other".into()]
}

#[test]
fn the_table_of_compose_1_is_read_by_service() {
    let got: Vec<(String, String, String, String, i64)> = parse_table(TABLE, &services(), None)
        .into_iter()
        .map(|c| (c.service, c.name, c.state, c.health, c.exit_code))
        .collect();
    let row = |s: &str, n: &str, st: &str, h: &str, code| {
        (
            s.to_string(),
            n.to_string(),
            st.to_string(),
            h.to_string(),
            code,
        )
    };
    assert_eq!(
        got,
        [
            row("other", "site_other_1", "exited", "", 3),
            row("web", "site_web_1", "running", "healthy", 0),
            // A command that looks like a state is not the state.
            row("web", "site_web_2", "running", "starting", 0),
        ]
    );
    // `ps -a SERVICE`: every row is that service's.
    let one = parse_table(TABLE, &services(), Some("cache"));
    assert_eq!(one.len(), 5);
    assert!(one.iter().all(|c| c.service == "cache"));
    assert!(is_v1("1.29.2\n") && !is_v1("2.24.6") && !is_v1("v2.24.6"));
}

/// docker-compose 1.29: service web (a health check) and worker (named
/// `custom-worker` by `container_name:`); `up -d` makes web `health:
/// starting` for one look, then healthy.
fn fake() -> (Rc<RefCell<String>>, MockHost) {
    let st = Rc::new(RefCell::new("Exit 137".to_string()));
    let s = st.clone();
    let host = MockHost::new().on_exec(move |cmd| {
        assert_eq!(cmd.program, "docker-compose");
        assert_eq!(&cmd.args[..2], ["-f", "site.yml"]);
        let env: Vec<(&str, String)> = cmd
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), format!("{v:?}")))
            .collect();
        assert_eq!(env.len(), 1, "{env:?}");
        assert_eq!(env[0].0, "DOCKER_HOST");
        assert!(env[0].1.contains("unix:///srv/docker.sock"), "{env:?}");
        let a: Vec<&str> = cmd.args[2..].iter().map(String::as_str).collect();
        let mut s = s.borrow_mut();
        let head = "Name   Command   State   Ports\n------------------------------\n";
        Ok(match a.as_slice() {
            ["version", "--short"] => Completed::ok("1.29.2\n"),
            ["config", "--services"] => Completed::ok("web\nworker\n"),
            ["ps", "-a"] => {
                let row = format!("site_web_1   gunicorn site.wsgi   {}   \n", s.as_str());
                if s.as_str() == "Up (health: starting)" {
                    *s = "Up (healthy)".into();
                }
                Completed::ok(format!("{head}{row}"))
            }
            ["ps", "-a", "worker"] => {
                Completed::ok(format!("{head}custom-worker   python worker.py   Up   \n"))
            }
            ["up", "-d", "web"] => {
                *s = "Up (health: starting)".into();
                Completed::ok("")
            }
            ["ps", "--all", "--format", "json"] => panic!("compose 1 has no JSON ps"),
            other => panic!("unexpected docker-compose {other:?}"),
        })
    });
    (st, host)
}

#[test]
fn compose_1_start_waits_until_healthy() {
    let (st, host) = fake();
    let args = json!({ "backend": "compose", "file": "site.yml", "compose-command": "docker-compose",
        "docker-host": "unix:///srv/docker.sock", "interval": "1ms", "timeout": "2s" });
    let out = invoke(&host, "status", args.clone()).unwrap();
    assert_eq!(out["programs"][0]["state"], "exited");
    assert_eq!(out["programs"][1]["state"], "running");
    assert_eq!(out["programs"][1]["detail"], "custom-worker");

    let mut start = args;
    start["programs"] = json!("web");
    let out = invoke(&host, "start", start).unwrap();
    assert_eq!(out["started"], json!(["web"]));
    assert_eq!(out["programs"][0]["state"], "running (healthy)");
    assert_eq!(st.borrow().as_str(), "Up (healthy)");
    let l = lines(&host);
    assert!(
        l.contains(&"docker-compose -f site.yml up -d web".to_string()),
        "{l:?}"
    );
    // Asked once per step.
    assert_eq!(
        l.iter().filter(|c| c.ends_with("version --short")).count(),
        2
    );
}
