//! supervisorctl given `all` and `GROUP:*`: a whole group, or every
//! process, starts and stops together (see `supervisor::namespecs`).

use super::supervisor::{Fake, args};
use super::{invoke, lines};
use serde_json::json;

#[test]
fn whole_groups_and_everything_start_and_stop_together() {
    // `supervisorctl start a b:x b:y` waits each one's startsecs in turn;
    // `b:*` and `all` start theirs together.
    let fake = Fake::new(&[
        ("web", "STOPPED"),
        ("workers:w_00", "STOPPED"),
        ("workers:w_01", "STOPPED"),
        ("cron", "STOPPED"),
    ]);
    let host = Fake::host(&fake);
    let out = invoke(&host, "start", args(json!({ "programs": "web workers" }))).unwrap();
    assert_eq!(out["all-running"], true);
    assert_eq!(
        out["started"],
        json!(["web", "workers:w_00", "workers:w_01"])
    );
    assert!(
        lines(&host).contains(&"supervisorctl -c /etc/sv.conf start web workers:*".to_string()),
        "{:?}",
        lines(&host)
    );
    assert_eq!(fake.borrow().progs[3].1, "STOPPED", "cron was not named");

    let out = invoke(
        &host,
        "stop",
        args(json!({ "programs": "web workers:w_00" })),
    )
    .unwrap();
    assert_eq!(out["stopped"], json!(["web", "workers:w_00"]));
    assert!(
        lines(&host).contains(&"supervisorctl -c /etc/sv.conf stop web workers:w_00".to_string())
    );
    assert_eq!(
        fake.borrow().progs[2].1,
        "RUNNING",
        "the other worker runs on"
    );

    let out = invoke(&host, "stop", args(json!({}))).unwrap();
    assert_eq!(out["stopped"], json!(["workers:w_01"]));
    let out = invoke(&host, "start", args(json!({}))).unwrap();
    assert_eq!(out["all-running"], true);
    assert!(lines(&host).contains(&"supervisorctl -c /etc/sv.conf start all".to_string()));
}
