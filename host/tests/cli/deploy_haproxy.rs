//! `deploy-update` with `maintenance-backend haproxy`: the site of
//! `deploy_update` (its clone, database, supervisord and nginx) behind an
//! HAProxy of the test's own (the lab's haproxy binary, `fixture_haproxy`),
//! whose backend's `errorfile 503` is the maintenance page. During the
//! update a client going through HAProxy sees the site or that page, and
//! after it the site again, with the server back in service.

use crate::deploy_update::{Deploy, Poller};
use crate::fixture_haproxy::{PAGE_TEXT, PrivateHaproxy};
use crate::fixture_services::http_get;

#[test]
fn an_update_behind_haproxy_puts_its_servers_in_maintenance_and_back() {
    let Some(d) = Deploy::new_variant(false) else {
        return;
    };
    let h = PrivateHaproxy::start(&[("app1", d.services.nginx_port)]);
    let site = &d.sp.site;
    let target = d.target_with_flag(&[]);
    let mut params: Vec<String> = d
        .params()
        .into_iter()
        .filter(|p| !p.starts_with("maintenance-file=") && !p.starts_with("site-url="))
        .collect();
    params.extend([
        "maintenance-backend=haproxy".to_string(),
        format!("haproxy-socket={}", h.socket.display()),
        "haproxy-backend=be_site".to_string(),
        format!("site-url={}", h.url()),
        format!("revision={target}"),
    ]);

    // The dry-run says which servers would go in maintenance, and changes
    // nothing.
    d.run_params(&params, &["--dry-run"])
        .success()
        .stdout_lacks("would not complete");
    assert_eq!(h.admin_state("app1"), 0);

    let poller = Poller::start_for(format!("{}health/", h.url()), PAGE_TEXT);
    let r = d.run_params(&params, &[]);
    let (ok, page, other) = poller.finish();
    r.success();

    assert_eq!(site.head(), target);
    assert_eq!(d.applied(), ["0001_initial", "0002_note_flag"]);
    assert_eq!(h.admin_state("app1"), 0, "app1 is still in maintenance");
    let (status, body) = http_get(&format!("{}health/", h.url())).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        !d.services.maintenance_file.exists(),
        "the flag file was written though the page is HAProxy's"
    );
    assert!(
        other.is_empty(),
        "answers other than 200 or the maintenance page through HAProxy: {other:?} ({ok} x 200, {page} x page)"
    );
    assert!(
        page > 0,
        "the client never saw the maintenance page ({ok} x 200)"
    );
    assert!(ok > 0, "the client never saw the site");
    let out = crate::backup::outputs(&d.sp.p, "page-up");
    assert_eq!(out["put-in-maintenance"], serde_json::json!(["app1"]));
    eprintln!("through haproxy during the update: {ok} x 200, {page} x maintenance page");
    d.sp.no_password_in_dot_cairn();
}
