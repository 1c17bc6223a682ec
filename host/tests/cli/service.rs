//! The stock `service` plugin against a real supervisord of the test's own
//! running the lab's fixture site (see `fixture_services.rs`).

use std::time::{Duration, Instant};

use crate::Project;
use crate::fixture_services::{ExtraProgram, Services, alive, http_get, services_lab};

/// A runbook of one `service` step with `body` as its arguments (besides
/// the backend and the config).
fn one_step(s: &Services, action: &str, body: &str) -> String {
    format!(
        r#"
runbook svc version=1 {{
    step svc uses=service action={action} {{
        backend supervisor
        config "{conf}"
        {body}
    }}
}}
"#,
        conf = s.supervisor_conf.display()
    )
}

fn outputs(p: &Project, step: &str) -> serde_json::Value {
    p.last_journal()
        .into_iter()
        .find(|e| e["event"] == "step-finished" && e["step"] == step)
        .unwrap_or_else(|| panic!("no step-finished of `{step}`"))["outputs"]
        .clone()
}

#[test]
fn stop_really_stops_and_start_waits_until_the_site_answers() {
    let Some(lab) = services_lab() else { return };
    let s = Services::start(&lab, &[]);
    let (_, web_pid) = s.program("web");
    let web_pid = web_pid.expect("gunicorn runs");
    let (_, worker_pid) = s.program("worker:worker_00");
    let worker_pid = worker_pid.expect("the worker runs");
    let p = Project::new();

    p.runbook("svc", &one_step(&s, "stop", r#"programs web "worker:*""#));
    p.cairn(&["run", "svc"]).success();
    let out = outputs(&p, "svc");
    assert_eq!(
        out["was-running"],
        serde_json::json!(["web", "worker:worker_00", "worker:worker_01"])
    );
    assert_eq!(out["running"], serde_json::json!([]));
    // cairn returned: the processes are gone and the port refuses.
    assert!(!alive(web_pid), "gunicorn (pid {web_pid}) still runs");
    assert!(
        !alive(worker_pid),
        "the worker (pid {worker_pid}) still runs"
    );
    assert!(
        http_get(&format!("{}/health/", s.gunicorn_url())).is_err(),
        "gunicorn's port still answers"
    );
    assert_eq!(s.program("web").0, "STOPPED");

    let ready = format!("{}/health/", s.gunicorn_url());
    p.runbook(
        "svc",
        &one_step(
            &s,
            "start",
            &format!(
                r#"programs web worker
        ready-url "{ready}"
        timeout "60s""#
            ),
        ),
    );
    p.cairn(&["run", "svc"]).success();
    let out = outputs(&p, "svc");
    assert_eq!(out["all-running"], true);
    // right after cairn returned, no waiting of the test's own:
    let (status, body) = http_get(&ready).expect("the site answers");
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.program("web").0, "RUNNING");
    assert_eq!(s.program("worker:worker_01").0, "RUNNING");
    assert_ne!(s.program("web").1, Some(web_pid), "a new gunicorn");
}

#[test]
fn an_undo_starts_exactly_what_was_running_before_the_stop() {
    let Some(lab) = services_lab() else { return };
    let s = Services::start(&lab, &[]);
    s.supervisorctl(&["stop", "worker:worker_01"]);
    assert_eq!(s.program("worker:worker_01").0, "STOPPED");
    let conf = s.supervisor_conf.display();
    let p = Project::new();
    p.runbook(
        "svc",
        &format!(
            r#"
runbook svc version=1 {{
    step stop uses=service action=stop {{
        backend supervisor
        config "{conf}"
        programs web "worker:*"
    }}
    step start-again uses=service action=start {{
        backend supervisor
        config "{conf}"
        programs "{{{{ steps.stop.outputs.was-running }}}}"
    }}
}}
"#
        ),
    );
    p.cairn(&["run", "svc"]).success();
    assert_eq!(
        outputs(&p, "stop")["was-running"],
        serde_json::json!(["web", "worker:worker_00"])
    );
    assert_eq!(
        outputs(&p, "start-again")["started"],
        serde_json::json!(["web", "worker:worker_00"])
    );
    assert_eq!(s.program("web").0, "RUNNING");
    assert_eq!(s.program("worker:worker_00").0, "RUNNING");
    assert_eq!(
        s.program("worker:worker_01").0,
        "STOPPED",
        "it was not running before: it stays stopped"
    );
}

#[test]
fn a_program_that_fails_to_start_fails_within_the_timeout_saying_why() {
    let Some(lab) = services_lab() else { return };
    let broken = format!(
        "{}/bin/python -c \"import sys; print('broken: DATABASE_URL is not set', flush=True); sys.exit(3)\"",
        lab.venv
    );
    let s = Services::start(
        &lab,
        &[ExtraProgram {
            name: "broken",
            command: &broken,
        }],
    );
    let p = Project::new();
    p.runbook(
        "svc",
        &one_step(&s, "start", "programs broken\n        timeout \"20s\""),
    );
    let started = Instant::now();
    let run = p.cairn(&["run", "svc"]);
    run.code(1)
        .stdout_has("supervisor `broken` did not start: ")
        .stdout_has("broken: DATABASE_URL is not set");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn status_lists_every_program_and_a_dry_run_stops_nothing() {
    let Some(lab) = services_lab() else { return };
    let s = Services::start(
        &lab,
        &[ExtraProgram {
            name: "cron",
            command: "sleep 1000",
        }],
    );
    let p = Project::new();
    p.runbook("svc", &one_step(&s, "status", ""));
    p.cairn(&["run", "svc"]).success();
    let out = outputs(&p, "svc");
    let states: Vec<(String, String)> = out["programs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = |n: &str, st: &str| (n.to_string(), st.to_string());
    assert_eq!(
        states,
        [
            want("cron", "STOPPED"),
            want("web", "RUNNING"),
            want("worker:worker_00", "RUNNING"),
            want("worker:worker_01", "RUNNING"),
        ]
    );
    assert_eq!(out["all-running"], false);

    let (_, pid) = s.program("web");
    p.runbook("svc", &one_step(&s, "stop", "programs web"));
    p.cairn(&["run", "svc", "--dry-run"])
        .success()
        .stdout_has("would send to socket")
        .stdout_has("supervisor.stopProcess(web,false)");
    assert_eq!(s.program("web"), ("RUNNING".to_string(), pid));
    assert_eq!(
        outputs(&p, "svc")["was-running"],
        serde_json::json!(["web"])
    );
}

/// The capability of each host call of the last run, with its summary.
fn calls(p: &Project) -> Vec<(String, String)> {
    p.last_journal()
        .into_iter()
        .filter(|e| e["event"] == "capability")
        .map(|e| {
            (
                e["capability"].as_str().unwrap_or("").to_string(),
                e["summary"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn supervisord_is_asked_on_its_socket_and_through_supervisorctl_when_it_takes_a_login() {
    let Some(lab) = services_lab() else { return };
    let s = Services::start(&lab, &[]);
    let p = Project::new();
    p.runbook("svc", &one_step(&s, "stop", "programs worker"));
    p.cairn(&["run", "svc"]).success();
    let by_socket = outputs(&p, "svc");
    let c = calls(&p);
    assert!(
        c.iter().any(|(cap, sum)| cap == "socket"
            && sum.contains("supervisor.stopProcessGroup(worker,false)")),
        "{c:?}"
    );
    assert!(
        !c.iter().any(|(_, sum)| sum.contains("supervisorctl")),
        "the config names the socket: {c:?}"
    );
    assert_eq!(s.program("worker:worker_00").0, "STOPPED");

    // A [supervisorctl] section with a login (supervisord, which asks
    // for none, ignores it): left to supervisorctl.
    let text = std::fs::read_to_string(&s.supervisor_conf).unwrap();
    let login = s.supervisor_conf.with_file_name("with-login.conf");
    std::fs::write(
        &login,
        text.replace(
            "[supervisorctl]\n",
            "[supervisorctl]\nusername=ops\npassword=unused\n",
        ),
    )
    .unwrap();
    let step = one_step(&s, "start", "programs worker").replace(
        &s.supervisor_conf.display().to_string(),
        &login.display().to_string(),
    );
    p.runbook("svc", &step);
    p.cairn(&["run", "svc"]).success();
    let c = calls(&p);
    assert!(
        c.iter().any(|(cap, sum)| cap == "exec"
            && sum.contains("supervisorctl")
            && sum.contains(" start 'worker:*'")),
        "{c:?}"
    );
    assert!(!c.iter().any(|(cap, _)| cap == "socket"), "{c:?}");
    let by_ctl = outputs(&p, "svc");
    assert_eq!(by_ctl["all-running"], true);
    assert_eq!(s.program("worker:worker_00").0, "RUNNING");
    // Both ways name the processes alike.
    let names = |o: &serde_json::Value| -> Vec<String> {
        o["programs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&by_socket), names(&by_ctl));
}
