//! The stock `maintenance` plugin against an nginx of the test's own that
//! includes the shipped snippet (`examples/maintenance/nginx-maintenance.conf`),
//! in front of the lab's fixture site (see `fixture_services.rs`).

use crate::Project;
use crate::fixture_services::{Services, http_get, services_lab};

fn one_step(s: &Services, action: &str, file: &str) -> String {
    format!(
        r#"
runbook page version=1 {{
    step page uses=maintenance action={action} {{
        file "{file}"
        url "{url}/"
        timeout "10s"
    }}
}}
"#,
        url = s.nginx_url(),
    )
}

fn outputs(p: &Project) -> serde_json::Value {
    p.last_journal()
        .into_iter()
        .find(|e| e["event"] == "step-finished")
        .expect("a step-finished event")["outputs"]
        .clone()
}

#[test]
fn on_puts_up_a_page_visitors_get_and_off_brings_the_site_back() {
    let Some(lab) = services_lab() else { return };
    let s = Services::start(&lab, &[]);
    let file = s.maintenance_file.display().to_string();
    let url = format!("{}/health/", s.nginx_url());
    assert_eq!(http_get(&url).unwrap().0, 200);
    let p = Project::new();

    p.runbook("page", &one_step(&s, "on", &file));
    p.cairn(&["run", "page"]).success();
    let out = outputs(&p);
    assert_eq!(out["verified"], true);
    assert_eq!(out["was-on"], false);
    let (status, body) = http_get(&url).unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("Down for maintenance"), "{body}");
    assert!(body.contains("<!-- cairn:maintenance run="), "{body}");

    // on again: already on, nothing written
    let before = std::fs::read_to_string(&s.maintenance_file).unwrap();
    p.cairn(&["run", "page"]).success();
    assert_eq!(outputs(&p)["was-on"], true);
    assert_eq!(
        std::fs::read_to_string(&s.maintenance_file).unwrap(),
        before
    );

    p.runbook("page", &one_step(&s, "off", &file));
    p.cairn(&["run", "page"]).success();
    assert_eq!(outputs(&p)["verified"], true);
    assert!(!s.maintenance_file.exists());
    assert_eq!(http_get(&url).unwrap().0, 200);
}

#[test]
fn off_refuses_a_flag_file_cairn_did_not_write() {
    let Some(lab) = services_lab() else { return };
    let s = Services::start(&lab, &[]);
    std::fs::write(
        &s.maintenance_file,
        "<h1>Planned outage, back on Monday</h1>\n",
    )
    .unwrap();
    let p = Project::new();
    p.runbook(
        "page",
        &one_step(&s, "off", &s.maintenance_file.display().to_string()),
    );
    p.cairn(&["run", "page"])
        .code(1)
        .stdout_has("was not written by cairn")
        .stdout_has("it was left in place");
    assert_eq!(
        std::fs::read_to_string(&s.maintenance_file).unwrap(),
        "<h1>Planned outage, back on Monday</h1>\n"
    );
    let (status, body) = http_get(&format!("{}/", s.nginx_url())).unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("back on Monday"));
}

#[test]
fn a_dry_run_reports_the_state_and_changes_nothing() {
    let Some(lab) = services_lab() else { return };
    let s = Services::start(&lab, &[]);
    let file = s.maintenance_file.display().to_string();
    let url = format!("{}/health/", s.nginx_url());
    let p = Project::new();

    p.runbook("page", &one_step(&s, "on", &file));
    p.cairn(&["run", "page", "--dry-run"]).success();
    let out = outputs(&p);
    assert_eq!(out["planned"], true);
    assert_eq!(out["was-on"], false);
    assert!(!s.maintenance_file.exists());
    assert_eq!(http_get(&url).unwrap().0, 200);

    p.cairn(&["run", "page"]).success();
    let page = std::fs::read_to_string(&s.maintenance_file).unwrap();
    p.runbook("page", &one_step(&s, "off", &file));
    p.cairn(&["run", "page", "--dry-run"]).success();
    assert_eq!(outputs(&p)["was-on"], true);
    assert_eq!(std::fs::read_to_string(&s.maintenance_file).unwrap(), page);
    assert_eq!(http_get(&url).unwrap().0, 503);

    p.runbook("page", &one_step(&s, "status", &file));
    p.cairn(&["run", "page"]).success();
    let out = outputs(&p);
    assert_eq!(out["on"], true);
    assert_eq!(out["cairn-page"], true);
    assert_eq!(out["http-status"], 503);
    assert_eq!(out["verified"], true);
}

#[test]
fn on_fails_and_takes_its_file_back_when_the_server_does_not_serve_it() {
    let Some(lab) = services_lab() else { return };
    let s = Services::start(&lab, &[]);
    // a file nginx does not look at
    let elsewhere = s.maintenance_file.with_file_name("other.html");
    let p = Project::new();
    p.runbook(
        "page",
        &one_step(&s, "on", &elsewhere.display().to_string()).replace("\"10s\"", "\"2s\""),
    );
    p.cairn(&["run", "page"])
        .code(1)
        .stdout_has("the maintenance page is not served at")
        .stdout_has("got 200")
        .stdout_has("was removed again");
    assert!(!elsewhere.exists());
}

/// Backend `haproxy` against a private HAProxy (`fixture_haproxy.rs`) in
/// front of two small servers; `app2` was put in maintenance by hand.
#[test]
fn haproxy_on_serves_the_errorfile_page_and_off_puts_back_only_its_servers() {
    use crate::fixture_haproxy::{PAGE_TEXT, PrivateHaproxy};
    let app1 = crate::http_check::Server::start(200, "the site");
    let app2 = crate::http_check::Server::start(200, "the site");
    let port =
        |s: &crate::http_check::Server| s.url().rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let h = PrivateHaproxy::start(&[("app1", port(&app1)), ("app2", port(&app2))]);
    h.api("set server be_site/app2 state maint");
    assert_eq!(http_get(&h.url()).unwrap().0, 200);
    let step = |action: &str, extra: &str| {
        format!(
            r#"
runbook page version=1 {{
    step page uses=maintenance action={action} {{
        backend haproxy
        socket "{sock}"
        haproxy-backend be_site
        url "{url}"
        expect-text "{PAGE_TEXT}"
        timeout "5s"
        {extra}
    }}
}}
"#,
            sock = h.socket.display(),
            url = h.url(),
        )
    };
    let p = Project::new();
    p.runbook("page", &step("on", ""));
    p.cairn(&["run", "page"]).success();
    let out = outputs(&p);
    assert_eq!(out["put-in-maintenance"], serde_json::json!(["app1"]));
    assert_eq!(out["verified"], true);
    let (status, body) = http_get(&h.url()).unwrap();
    assert_eq!(status, 503);
    assert!(body.contains(PAGE_TEXT), "{body}");

    p.runbook("page", &step("off", ""));
    p.cairn(&["run", "page"])
        .code(1)
        .stdout_has("needs `servers`");
    assert_eq!(http_get(&h.url()).unwrap().0, 503);

    p.runbook("page", &step("off", "servers app1"));
    p.cairn(&["run", "page", "--dry-run"]).success();
    assert_eq!(h.admin_state("app1"), 1, "a dry-run changes nothing");
    p.cairn(&["run", "page"]).success();
    assert_eq!(outputs(&p)["verified"], true);
    assert_eq!(http_get(&h.url()).unwrap().0, 200);
    assert_eq!(h.admin_state("app1"), 0);
    assert_eq!(
        h.admin_state("app2"),
        1,
        "the server put in maintenance by hand stays there"
    );
}
