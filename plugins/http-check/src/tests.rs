use super::{HttpCheck, head};
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::json;
use std::time::Duration;

fn check(host: &MockHost, args: serde_json::Value) -> Result<Outputs, PluginError> {
    host.invoke::<HttpCheck>(&Context::for_test(), "check", args)
}

#[test]
fn describes_itself() {
    let d = HttpCheck::describe();
    assert_eq!(d.name, "http-check");
    assert_eq!(d.default_action.as_deref(), Some("check"));
    assert_eq!(d.find_action("check").unwrap().effect, Effect::Read);
    assert_eq!(d.capabilities[0].name, "http");
}

#[test]
fn a_200_passes_with_defaults() {
    let host = MockHost::new().http_returns(Response::new(200, "all ok\n"));
    let out = check(&host, json!({ "url": "http://app.test/health/" })).unwrap();
    assert_eq!(out["status"], 200);
    assert_eq!(out["body"], "all ok\n");
    assert_eq!(out["planned"], false);
    assert!(out["elapsed-ms"].is_u64());

    let req = &host.requests()[0];
    assert_eq!(req.method, "GET");
    assert_eq!(req.url, "http://app.test/health/");
    assert_eq!(req.timeout, Some(Duration::from_secs(10)));
    assert!(req.follow_redirects);
    assert!(req.headers.is_empty() && req.body.is_none());
}

#[test]
fn a_wrong_status_fails_naming_the_url() {
    let host = MockHost::new().http_returns(Response::new(503, "down"));
    let e = check(&host, json!({ "url": "http://app.test/health/" })).unwrap_err();
    assert_eq!(
        e.message,
        "expected status 200 from `http://app.test/health/`, got 503"
    );
}

#[test]
fn several_statuses_may_be_expected() {
    let host = MockHost::new()
        .http_returns(Response::new(204, ""))
        .http_returns(Response::new(302, ""));
    let args = json!({ "url": "https://x.test/", "expect": { "status": [200, "204"] } });
    check(&host, args.clone()).unwrap();
    let e = check(&host, args).unwrap_err();
    assert_eq!(
        e.message,
        "expected status 200 or 204 from `https://x.test/`, got 302"
    );
}

#[test]
fn body_contains_checks_every_text() {
    let host = MockHost::new()
        .http_returns(Response::new(200, "db: ok, cache: ok"))
        .http_returns(Response::new(200, "db: ok, cache: down"));
    let args = json!({ "url": "http://x.test/", "expect": { "status": 200, "body-contains": ["db: ok", "cache: ok"] } });
    check(&host, args.clone()).unwrap();
    let e = check(&host, args).unwrap_err();
    assert_eq!(
        e.message,
        "body of `http://x.test/` does not contain `cache: ok`"
    );
}

#[test]
fn method_headers_body_timeout_and_redirects_are_passed() {
    let host = MockHost::new().http_returns(Response::new(200, ""));
    check(
        &host,
        json!({
            "url": "http://10.0.0.5/health",
            "method": "post",
            "headers": { "Host": "example.com" },
            "body": "{}",
            "timeout": "2s",
            "follow-redirects": false,
        }),
    )
    .unwrap();
    let req = &host.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.headers,
        [("Host".to_string(), MaybeSecret::from("example.com"))]
    );
    assert_eq!(req.body.as_deref(), Some(&b"{}"[..]));
    assert_eq!(req.timeout, Some(Duration::from_secs(2)));
    assert!(!req.follow_redirects);
}

#[test]
fn a_dry_run_of_a_write_is_planned_and_a_read_is_performed() {
    let host = MockHost::new()
        .dry_run()
        .http_returns(Response::new(200, "ok"));
    let out = check(&host, json!({ "url": "http://x.test/", "method": "PURGE" })).unwrap();
    assert_eq!(out["planned"], true);
    let out = check(&host, json!({ "url": "http://x.test/" })).unwrap();
    assert_eq!(
        (out["planned"].clone(), out["status"].clone()),
        (json!(false), json!(200))
    );
}

#[test]
fn the_body_output_is_cut_at_64_kib() {
    let big = "é".repeat(40_000); // 80 000 bytes
    let host = MockHost::new().http_returns(Response::new(200, big.clone()));
    let out = check(
        &host,
        json!({ "url": "http://x.test/", "expect": { "body-contains": "é" } }),
    )
    .unwrap();
    let body = out["body"].as_str().unwrap();
    assert_eq!(body.len(), 64 * 1024);
    assert!(big.starts_with(body));

    assert_eq!(head("aé".as_bytes(), 2), "a");
    assert_eq!(head(b"abc", 10), "abc");
}

#[test]
fn argument_errors_name_the_argument() {
    let host = MockHost::new();
    let e = check(&host, json!({})).unwrap_err();
    assert_eq!(e.message, "missing argument `url`");

    let e = check(&host, json!({ "url": "ftp://x/" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("url"));
    assert_eq!(
        e.message,
        "argument `url`: `ftp://x/` is not an http:// or https:// URL"
    );

    let e = check(
        &host,
        json!({ "url": "http://x/", "expect": { "status": "ok" } }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("expect.status"));
    assert_eq!(
        e.message,
        "argument `expect.status`: invalid type: string \"ok\", expected u16"
    );

    let e = check(&host, json!({ "url": "http://x/", "method": "GET /" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("method"));

    let e = check(
        &host,
        json!({ "url": "http://x/", "retry": { "attempts": 3 } }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("retry"));
    assert!(host.requests().is_empty());
}

#[test]
fn host_errors_fail_the_step() {
    let host = MockHost::new().http_fails("host `x.test` is not permitted");
    let e = check(&host, json!({ "url": "http://x.test/" })).unwrap_err();
    assert_eq!(e.message, "host `x.test` is not permitted");
}
