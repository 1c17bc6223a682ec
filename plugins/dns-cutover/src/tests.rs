//! The plugin against a simulated PowerDNS API and a simulated Cloudflare
//! API (the mock host's http handler keeps the zone), and scripted DNS
//! answers for `verify`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::{Value, json};

use crate::DnsCutover;

const API: &str = "http://127.0.0.1:8081/api/v1";
const ZONE_URL: &str = "http://127.0.0.1:8081/api/v1/servers/localhost/zones/example.test.";

/// `TYPE name.` → (ttl, values).
type Zone = Rc<RefCell<BTreeMap<(String, String), (u32, Vec<String>)>>>;

fn zone(extra: usize) -> Zone {
    let mut z = BTreeMap::new();
    z.insert(
        ("www.example.test.".into(), "A".into()),
        (300, vec!["10.0.0.1".into()]),
    );
    z.insert(
        ("example.test.".into(), "NS".into()),
        (3600, vec!["ns1.example.test.".into()]),
    );
    z.insert(
        ("ns1.example.test.".into(), "A".into()),
        (3600, vec!["10.0.0.53".into()]),
    );
    for i in 0..extra {
        z.insert(
            (format!("h{i}.example.test."), "A".into()),
            (300, vec![format!("10.1.0.{i}")]),
        );
    }
    Rc::new(RefCell::new(z))
}

fn powerdns(z: &Zone) -> MockHost {
    let z = z.clone();
    MockHost::new().with_secret("pdns-key", "k3y").on_http(move |req| {
        assert_eq!(req.url, ZONE_URL);
        match req.method.as_str() {
            "GET" => {
                let rrsets: Vec<Value> = z
                    .borrow()
                    .iter()
                    .map(|((n, t), (ttl, vals))| {
                        json!({ "name": n, "type": t, "ttl": ttl, "records": vals.iter().map(|v| json!({"content": v, "disabled": false})).collect::<Vec<_>>() })
                    })
                    .collect();
                Ok(Response::new(200, json!({ "name": "example.test.", "rrsets": rrsets }).to_string()))
            }
            "PATCH" => {
                let body: Value = serde_json::from_slice(req.body.as_deref().unwrap()).unwrap();
                for r in body["rrsets"].as_array().unwrap() {
                    let key = (r["name"].as_str().unwrap().to_string(), r["type"].as_str().unwrap().to_string());
                    if r["changetype"] == "DELETE" {
                        z.borrow_mut().remove(&key);
                    } else {
                        let vals = r["records"].as_array().unwrap().iter().map(|x| x["content"].as_str().unwrap().to_string()).collect();
                        z.borrow_mut().insert(key, (r["ttl"].as_u64().unwrap() as u32, vals));
                    }
                }
                Ok(Response::new(204, ""))
            }
            m => panic!("unexpected {m}"),
        }
    })
}

fn args(action_args: Value) -> Value {
    let mut a = json!({ "provider": "powerdns", "api": API, "api-key-secret": "pdns-key", "zone": "example.test" });
    a.as_object_mut()
        .unwrap()
        .extend(action_args.as_object().unwrap().clone());
    a
}

fn run(host: &MockHost, mode: Mode, action: &str, a: Value) -> Result<Outputs, PluginError> {
    DnsCutover::run(
        host,
        &Context::for_test().with_mode(mode),
        action,
        Args::from_value(a).unwrap(),
    )
}

fn www(z: &Zone) -> (u32, Vec<String>) {
    z.borrow()[&("www.example.test.".to_string(), "A".to_string())].clone()
}

#[test]
fn switch_changes_the_record_and_restore_puts_it_back() {
    let z = zone(0);
    let host = powerdns(&z);
    let out = run(
        &host,
        Mode::Apply,
        "switch",
        args(json!({ "record": { "name": "www", "type": "A", "to": "10.0.0.2" } })),
    )
    .unwrap();
    assert_eq!(www(&z), (300, vec!["10.0.0.2".to_string()]));
    assert_eq!(out.get("changed").unwrap(), 1);
    let previous = out.get("previous").unwrap().clone();
    assert_eq!(previous[0]["values"], json!(["10.0.0.1"]));
    // The API key went by handle, as a header.
    let patch = host
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert!(
        patch.headers.iter().any(|(n, v)| n == "X-API-Key"
            && matches!(v, MaybeSecret::Secret(s) if s.name() == "pdns-key"))
    );
    // The undo gets the output as the text of a template.
    let back = run(
        &host,
        Mode::Apply,
        "restore",
        args(json!({ "previous": previous.to_string() })),
    )
    .unwrap();
    assert_eq!(back.get("restored").unwrap(), 1);
    assert_eq!(www(&z), (300, vec!["10.0.0.1".to_string()]));
}

#[test]
fn prepare_lowers_the_ttl_and_says_when_the_old_one_has_expired() {
    let z = zone(0);
    let host = powerdns(&z);
    let out = run(
        &host,
        Mode::Apply,
        "prepare",
        args(json!({ "record": [{ "name": "www" }, { "name": "ns1" }], "ttl": 60 })),
    )
    .unwrap();
    assert_eq!(www(&z).0, 60);
    assert_eq!(out.get("wait-seconds").unwrap(), 3600);
    assert!(
        out.get("expired-at")
            .unwrap()
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    // After the switch, the TTLs go back but the new value stays.
    run(
        &host,
        Mode::Apply,
        "switch",
        args(json!({ "record": { "name": "www", "to": "10.0.0.9" } })),
    )
    .unwrap();
    run(
        &host,
        Mode::Apply,
        "restore-ttl",
        args(json!({ "previous": out.get("previous").unwrap() })),
    )
    .unwrap();
    assert_eq!(www(&z), (300, vec!["10.0.0.9".to_string()]));
}

#[test]
fn a_dry_run_prints_the_diff_from_the_real_zone_and_changes_nothing() {
    let z = zone(0);
    let host = powerdns(&z).dry_run();
    let out = run(
        &host,
        Mode::DryRun,
        "switch",
        args(json!({ "record": { "name": "www", "to": "10.0.0.2", "ttl": 60 } })),
    )
    .unwrap();
    assert_eq!(out.get("planned").unwrap(), true);
    assert_eq!(www(&z), (300, vec!["10.0.0.1".to_string()]));
    let logs: Vec<String> = host.logs().into_iter().map(|(_, m)| m).collect();
    assert!(
        logs.iter()
            .any(|l| l == "A www.example.test. 10.0.0.1 → 10.0.0.2, TTL 300 → 60 (would change)"),
        "{logs:?}"
    );
}

/// The undo of a switch in a dry-run: `previous` is the value cairn shows
/// for an output known only when the switch runs, and nothing is read.
#[test]
fn a_dry_run_restore_of_a_previous_not_known_yet_is_planned_without_reading() {
    let host = MockHost::new()
        .dry_run()
        .with_secret("pdns-key", "k")
        .on_http(|_| Ok(Response::planned()));
    let out = run(
        &host,
        Mode::DryRun,
        "restore",
        args(json!({ "previous": "(known after the step runs)" })),
    )
    .unwrap();
    assert_eq!(out.get("planned").unwrap(), true);
    let logs: Vec<String> = host.logs().into_iter().map(|(_, m)| m).collect();
    assert!(
        logs.iter()
            .any(|l| l.contains("would put back the record sets")),
        "{logs:?}"
    );
    // Applied, the same value is an error.
    let err = run(
        &MockHost::new()
            .with_secret("pdns-key", "k")
            .on_http(|_| Ok(Response::planned())),
        Mode::Apply,
        "restore",
        args(json!({ "previous": "(known after the step runs)" })),
    )
    .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("previous"));
}

#[test]
fn deletes_and_large_shares_of_a_zone_are_refused_unless_raised() {
    let z = zone(0);
    let host = powerdns(&z);
    let err = run(
        &host,
        Mode::Apply,
        "switch",
        args(json!({ "record": { "name": "www", "to": "" } })),
    )
    .unwrap_err();
    assert!(
        err.message.contains("would delete A www.example.test."),
        "{}",
        err.message
    );
    run(
        &host,
        Mode::Apply,
        "switch",
        args(json!({ "record": { "name": "www", "to": "" }, "allow-delete": true })),
    )
    .unwrap();
    assert!(
        !z.borrow()
            .contains_key(&("www.example.test.".to_string(), "A".to_string()))
    );

    // 4 of 12 record sets is 33 %: over octoDNS's default 30 %.
    let z = zone(9);
    let host = powerdns(&z);
    let four: Vec<Value> = (0..4)
        .map(|i| json!({ "name": format!("h{i}"), "to": "10.9.9.9" }))
        .collect();
    let err = run(
        &host,
        Mode::Apply,
        "switch",
        args(json!({ "record": four })),
    )
    .unwrap_err();
    assert!(
        err.message.contains("changes 4 of the 12 record sets"),
        "{}",
        err.message
    );
    assert_eq!(
        z.borrow()[&("h0.example.test.".to_string(), "A".to_string())].1,
        ["10.1.0.0"]
    );
    run(
        &host,
        Mode::Apply,
        "switch",
        args(json!({ "record": four, "max-change-share": 0.5 })),
    )
    .unwrap();
    assert_eq!(
        z.borrow()[&("h0.example.test.".to_string(), "A".to_string())].1,
        ["10.9.9.9"]
    );
}

#[test]
fn verify_waits_until_every_server_answers_the_new_value() {
    let answers = Rc::new(RefCell::new(0u32));
    let n = answers.clone();
    let host = MockHost::new().on_dns(move |q| {
        *n.borrow_mut() += 1;
        // The second server lags for its first two answers.
        let v = if q.resolver == "10.0.0.54:53" && *n.borrow() <= 4 {
            "10.0.0.1"
        } else {
            "10.0.0.2"
        };
        Ok(DnsAnswer::records(vec![DnsRecord::new(
            &q.name, "A", 60, v,
        )]))
    });
    let a = args(
        json!({ "record": { "name": "www", "to": "10.0.0.2" }, "servers": ["10.0.0.53:53", "10.0.0.54:53"], "timeout": "10s" }),
    );
    let out = run(&host, Mode::Apply, "verify", a).unwrap();
    assert_eq!(out.get("servers").unwrap(), 2);
    assert!(*answers.borrow() >= 5);

    let host = MockHost::new().on_dns(|q| {
        Ok(DnsAnswer::records(vec![DnsRecord::new(
            &q.name, "A", 60, "10.0.0.1",
        )]))
    });
    let a = args(
        json!({ "record": { "name": "www", "to": "10.0.0.2" }, "servers": "10.0.0.53", "timeout": "1s" }),
    );
    let err = run(&host, Mode::Apply, "verify", a).unwrap_err();
    assert!(
        err.message
            .contains("10.0.0.53 answers A www.example.test. 10.0.0.1"),
        "{}",
        err.message
    );
}

#[test]
fn cloudflare_records_are_changed_value_by_value() {
    // Cloudflare keeps one record per value, each with an id.
    let recs = Rc::new(RefCell::new(vec![
        json!({ "id": "r1", "name": "www.example.test", "type": "A", "content": "10.0.0.1", "ttl": 300, "proxied": false }),
        json!({ "id": "r2", "name": "www.example.test", "type": "A", "content": "10.0.0.3", "ttl": 300, "proxied": false }),
    ]));
    let r = recs.clone();
    let host = MockHost::new().with_secret("cf", "tok").on_http(move |req| {
        assert_eq!(req.headers.iter().find(|(n, _)| n == "Authorization").map(|(_, v)| v.clone()), Some(MaybeSecret::Plain("Bearer tok".into())));
        let path = req.url.trim_start_matches("https://api.cloudflare.com/client/v4");
        let ok = |v: Value| Ok(Response::new(200, json!({ "success": true, "errors": [], "result": v, "result_info": { "page": 1, "total_pages": 1 } }).to_string()));
        match (req.method.as_str(), path) {
            ("GET", "/zones?name=example.test") => ok(json!([{ "id": "z1", "name": "example.test" }])),
            ("GET", p) if p.starts_with("/zones/z1/dns_records?") => ok(json!(r.borrow().clone())),
            ("PATCH", p) => {
                let id = p.rsplit('/').next().unwrap();
                let body: Value = serde_json::from_slice(req.body.as_deref().unwrap()).unwrap();
                let mut all = r.borrow_mut();
                let rec = all.iter_mut().find(|x| x["id"] == id).unwrap();
                rec["content"] = body["content"].clone();
                rec["ttl"] = body["ttl"].clone();
                ok(rec.clone())
            }
            ("DELETE", p) => {
                let id = p.rsplit('/').next().unwrap().to_string();
                r.borrow_mut().retain(|x| x["id"] != id.as_str());
                ok(json!({ "id": id }))
            }
            other => panic!("unexpected {other:?}"),
        }
    });
    let a = json!({ "provider": "cloudflare", "api-token-secret": "cf", "zone": "example.test.", "record": { "name": "www", "to": "10.0.0.3" } });
    let out = run(&host, Mode::Apply, "switch", a).unwrap();
    assert_eq!(
        out.get("previous").unwrap()[0]["values"],
        json!(["10.0.0.1", "10.0.0.3"])
    );
    // 10.0.0.3 kept as it was, 10.0.0.1 deleted; no POST.
    let all = recs.borrow();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["id"], "r2");
    assert!(host.requests().iter().all(|r| r.method != "POST"));
}

#[test]
fn unknown_providers_and_missing_records_are_clear_errors() {
    let z = zone(0);
    let host = powerdns(&z);
    let err = run(
        &host,
        Mode::Apply,
        "switch",
        args(json!({ "provider": "route53", "record": { "name": "www", "to": "1.2.3.4" } })),
    )
    .unwrap_err();
    assert_eq!(err.field.as_deref(), Some("provider"));
    let err = run(
        &host,
        Mode::Apply,
        "prepare",
        args(json!({ "record": { "name": "nope" } })),
    )
    .unwrap_err();
    assert!(
        err.message.contains("A nope.example.test. does not exist"),
        "{}",
        err.message
    );
    assert_eq!(
        crate::actions::rfc3339_for_test(1_796_292_000),
        "2026-12-03T10:00:00Z"
    );
}

#[test]
fn rfc2136_sends_one_signed_update_per_record_set() {
    use crate::model::RRset;
    let msg = crate::rfc2136::message_for_test(
        b"0123456789abcdef",
        "example.test.",
        &RRset::new("www.example.test.", "A", 60, vec!["10.0.0.2".into()]),
    );
    let (len, m) = (u16::from_be_bytes([msg[0], msg[1]]) as usize, &msg[2..]);
    assert_eq!(len, m.len(), "framed for tcp");
    assert_eq!(m[2] >> 3 & 0x0f, 5, "opcode UPDATE");
    // one zone, no prerequisite, delete + add, one TSIG record
    assert_eq!(
        [m[4], m[5], m[6], m[7], m[8], m[9], m[10], m[11]],
        [0, 1, 0, 0, 0, 2, 0, 1]
    );
    let text = String::from_utf8_lossy(m);
    assert!(
        text.contains("hmac-sha256"),
        "the TSIG record names its algorithm"
    );
    assert!(
        m.windows(4).any(|w| w == [10, 0, 0, 2]),
        "the new address is in the update"
    );
}
