use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{MARKER, Maintenance};
use crate::flag::with_marker;
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::{Value, json};

type Files = Rc<RefCell<BTreeMap<String, String>>>;

/// A target whose files are a map, running the plugin's `sh` scripts as
/// they would, and a web server that answers 503 with the flag file as the
/// page while `serving_file` exists (when `snippet` is in place), 200
/// otherwise.
fn site(files: &[(&str, &str)], snippet: bool) -> (Files, MockHost) {
    let fs: Files = Rc::new(RefCell::new(
        files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    ));
    let f = fs.clone();
    let g = fs.clone();
    let host = MockHost::new()
        .on_exec(move |cmd| {
            assert_eq!(cmd.program, "sh");
            assert_eq!(cmd.args[0], "-c");
            assert_eq!(cmd.args[2], "sh");
            let script = cmd.args[1].as_str();
            let path = cmd.args[3].clone();
            let mut f = f.borrow_mut();
            Ok(if script.starts_with("if [ -f") {
                assert_eq!(cmd.effect, Effect::Read);
                match f.get(&path) {
                    Some(t) if t == "<dir>" => Completed::ok("other\n"),
                    Some(t) => Completed::ok(format!("file\n{t}")),
                    None => Completed::ok("absent\n"),
                }
            } else if script.contains("ln -- ") {
                assert_eq!(cmd.effect, Effect::Write);
                match f.entry(path.clone()) {
                    std::collections::btree_map::Entry::Occupied(_) => {
                        Completed::new(3, "", format!("{path} exists"))
                    }
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(String::from_utf8(cmd.stdin.clone().unwrap()).unwrap());
                        Completed::ok("")
                    }
                }
            } else if script.contains("grep -qF") {
                assert_eq!(cmd.effect, Effect::Write);
                match f.get(&path) {
                    Some(t) if t.contains(cmd.args[4].as_str()) => {
                        f.remove(&path);
                        Completed::ok("")
                    }
                    Some(_) => Completed::new(3, "", format!("{path} does not hold the marker")),
                    None => Completed::ok(""),
                }
            } else if script.starts_with("cat") {
                match f.get(&path) {
                    Some(t) => Completed::ok(t.clone()),
                    None => {
                        Completed::new(1, "", format!("cat: {path}: No such file or directory"))
                    }
                }
            } else {
                panic!("unexpected script {script}")
            })
        })
        .on_http(move |req| {
            assert_eq!(req.method, "GET");
            let g = g.borrow();
            Ok(match g.get("/srv/m/maintenance.html") {
                Some(page) if snippet => Response::new(503, page.clone()),
                _ => Response::new(200, "the site"),
            })
        });
    (fs, host)
}

fn args(extra: Value) -> Value {
    let mut a = json!({ "file": "/srv/m/maintenance.html", "url": "http://127.0.0.1:8080/", "timeout": "50ms", "interval": "5ms" });
    a.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    a
}

fn invoke(host: &MockHost, action: &str, a: Value) -> Result<Outputs, PluginError> {
    host.invoke::<Maintenance>(&Context::for_test(), action, a)
}

#[test]
fn describes_itself() {
    let d = Maintenance::describe();
    assert_eq!(d.name, "maintenance");
    assert_eq!(d.default_action.as_deref(), Some("status"));
    assert_eq!(d.find_action("on").unwrap().effect, Effect::Write);
    assert_eq!(d.find_action("off").unwrap().effect, Effect::Write);
    assert_eq!(d.find_action("status").unwrap().effect, Effect::Read);
    assert_eq!(d.capabilities[0].values, ["sh"]);
}

#[test]
fn on_writes_the_page_with_the_marker_and_sees_it_served() {
    let (fs, host) = site(&[], true);
    let out = invoke(&host, "on", args(json!({}))).unwrap();
    assert_eq!(out["on"], true);
    assert_eq!(out["was-on"], false);
    assert_eq!(out["changed"], true);
    assert_eq!(out["verified"], true);
    assert_eq!(out["http-status"], 503);
    let page = fs.borrow()["/srv/m/maintenance.html"].clone();
    assert!(page.contains("Down for maintenance"));
    assert!(
        page.contains("<!-- cairn:maintenance run=test-run step=test-step -->\n</body>"),
        "{page}"
    );
}

#[test]
fn on_copies_the_given_page() {
    let (fs, host) = site(&[("/srv/site/page.html", "<p>Back soon</p>")], true);
    invoke(&host, "on", args(json!({ "page": "/srv/site/page.html" }))).unwrap();
    let page = fs.borrow()["/srv/m/maintenance.html"].clone();
    assert!(
        page.starts_with("<p>Back soon</p>\n<!-- cairn:maintenance"),
        "{page}"
    );
    let e = invoke(
        &host,
        "on",
        args(json!({ "file": "/srv/m/other.html", "page": "/nope.html" })),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("page"));
}

#[test]
fn on_when_already_on_changes_nothing_and_says_so() {
    let mine = with_marker("<html><body>x</body></html>", "r0", "s0");
    let (fs, host) = site(&[("/srv/m/maintenance.html", &mine)], true);
    let out = invoke(&host, "on", args(json!({}))).unwrap();
    assert_eq!(out["was-on"], true);
    assert_eq!(out["changed"], false);
    assert_eq!(out["verified"], true);
    assert_eq!(fs.borrow()["/srv/m/maintenance.html"], mine);
    assert_eq!(host.commands().len(), 1, "only the read");
}

#[test]
fn on_that_is_not_served_fails_and_takes_its_file_back() {
    let (fs, host) = site(&[], false);
    let e = invoke(&host, "on", args(json!({}))).unwrap_err();
    assert_eq!(
        e.message,
        format!(
            "the maintenance page is not served at `http://127.0.0.1:8080/`: expected 503 with `{MARKER}`, \
             got 200 for 50ms; `/srv/m/maintenance.html` was removed again (does the web server check this file?)"
        )
    );
    assert!(fs.borrow().is_empty());
}

#[test]
fn off_removes_the_page_cairn_wrote_and_sees_the_site_again() {
    let (fs, host) = site(&[], true);
    invoke(&host, "on", args(json!({}))).unwrap();
    let out = invoke(&host, "off", args(json!({}))).unwrap();
    assert_eq!(out["on"], false);
    assert_eq!(out["was-on"], true);
    assert_eq!(out["verified"], true);
    assert_eq!(out["http-status"], 200);
    assert!(fs.borrow().is_empty());
    // again: nothing to do
    let out = invoke(&host, "off", args(json!({}))).unwrap();
    assert_eq!(out["was-on"], false);
    assert_eq!(out["changed"], false);
}

#[test]
fn off_refuses_a_file_cairn_did_not_write() {
    let (fs, host) = site(&[("/srv/m/maintenance.html", "<h1>hand-made</h1>")], true);
    let e = invoke(&host, "off", args(json!({}))).unwrap_err();
    assert_eq!(
        e.message,
        format!(
            "`/srv/m/maintenance.html` was not written by cairn (it lacks the marker `{MARKER}`): \
             it was left in place; remove it by hand if the maintenance is over"
        )
    );
    assert_eq!(fs.borrow()["/srv/m/maintenance.html"], "<h1>hand-made</h1>");
    assert_eq!(host.commands().len(), 1, "only the read");
}

#[test]
fn a_directory_where_the_flag_goes_is_an_error() {
    let (_, host) = site(&[("/srv/m/maintenance.html", "<dir>")], true);
    let e = invoke(&host, "on", args(json!({}))).unwrap_err();
    assert!(e.message.contains("is not a regular file"), "{}", e.message);
}

#[test]
fn status_reads_the_file_and_the_site() {
    let (_, host) = site(&[], true);
    let out = invoke(&host, "status", args(json!({}))).unwrap();
    assert_eq!(out["on"], false);
    assert_eq!(out["http-status"], 200);
    assert_eq!(out["verified"], true);
    invoke(&host, "on", args(json!({}))).unwrap();
    let out = invoke(&host, "status", args(json!({}))).unwrap();
    assert_eq!(out["on"], true);
    assert_eq!(out["cairn-page"], true);
    assert_eq!(out["verified"], true);
}

#[test]
fn a_dry_run_reads_the_state_and_writes_nothing() {
    let (fs, host) = site(&[], true);
    let host = host.dry_run();
    let ctx = Context::for_test().with_mode(Mode::DryRun);
    let out = host
        .invoke::<Maintenance>(&ctx, "on", args(json!({})))
        .unwrap();
    assert_eq!(out["planned"], true);
    assert_eq!(out["was-on"], false);
    assert!(fs.borrow().is_empty());
    assert!(
        host.requests().is_empty(),
        "no check of a page that was not put up"
    );
}

#[test]
fn a_dry_run_whose_reads_are_planned_too_plans_off_and_on() {
    // A step after a planned one (its `when` reads `was-on` of a page that
    // was only planned) runs offline: even the read of the flag file is
    // planned. Nothing is known, nothing fails, no check is made.
    for action in ["off", "on"] {
        let host = MockHost::new().dry_run().exec_returns(Completed::planned());
        let ctx = Context::for_test().with_mode(Mode::DryRun);
        let out = host
            .invoke::<Maintenance>(&ctx, action, args(json!({})))
            .unwrap_or_else(|e| panic!("{action}: {e:?}"));
        assert_eq!(out["planned"], true, "{action}");
        assert!(host.requests().is_empty(), "{action}: a check was made");
    }
}

#[test]
fn a_dry_run_takes_servers_known_only_later_as_not_known_yet() {
    // deploy-update passes `put-in-maintenance` of its planned `on` to
    // `off`: in a dry-run that is the host's placeholder, not server names.
    let host = MockHost::new().dry_run().exec_returns(Completed::planned());
    let ctx = Context::for_test().with_mode(Mode::DryRun);
    let later = json!({ "servers": cairn_sdk::KNOWN_LATER });
    let out = host
        .invoke::<Maintenance>(&ctx, "off", args(later.clone()))
        .unwrap();
    assert_eq!(out["planned"], true);
    // In a real run the same value is refused: names given to `flag-file`.
    let (_, host) = site(&[], true);
    let e = invoke(&host, "off", args(later)).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("servers"));
}

#[test]
fn bad_arguments_are_refused() {
    let (_, host) = site(&[], true);
    let e = invoke(&host, "on", json!({ "backend": "haproxy", "file": "/x" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("file"));
    let e = invoke(
        &host,
        "on",
        json!({ "file": "/x", "socket": "/run/h.sock" }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("socket"));
    let e = invoke(&host, "on", json!({})).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("file"));
    let e = invoke(&host, "on", json!({ "file": "maintenance.html" })).unwrap_err();
    assert!(e.message.contains("not an absolute path"), "{}", e.message);
    let e = invoke(&host, "on", json!({ "file": "/x", "url": "x.test" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("url"));
    assert!(host.commands().is_empty());
}

mod haproxy;
