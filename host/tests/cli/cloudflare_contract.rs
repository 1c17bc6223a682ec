//! A contract test of the `dns-cutover` plugin's Cloudflare provider: no
//! network reaches Cloudflare from the test machines, so a local server
//! answers in the shapes Cloudflare documents for its v4 DNS API, and the
//! test checks what the plugin asked of it and what the zone holds after.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::Project;

/// What the fake Cloudflare holds and was asked.
#[derive(Default)]
struct CfState {
    records: Vec<Value>,
    next: u32,
    log: Vec<String>,
}

/// A local server answering like Cloudflare's v4 DNS API (shapes from its
/// documentation: `success`/`errors`/`result`/`result_info` envelopes,
/// one record per value with an id, names without the final dot, bearer
/// tokens), one request per connection.
fn fake_cloudflare(token: &'static str) -> (String, Arc<Mutex<CfState>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!(
        "http://127.0.0.1:{}/client/v4",
        l.local_addr().unwrap().port()
    );
    let state = Arc::new(Mutex::new(CfState {
        records: vec![
            json!({ "id": "rec1", "zone_id": "zone1", "name": "www.example.com", "type": "A", "content": "192.0.2.10", "ttl": 300, "proxied": false }),
        ],
        ..CfState::default()
    }));
    let st = state.clone();
    std::thread::spawn(move || {
        for s in l.incoming().take(200) {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let (mut len, mut auth) = (0usize, String::new());
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                let lower = h.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if lower.starts_with("authorization:") {
                    auth = h["authorization:".len()..].trim().to_string();
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap().to_string(),
                parts
                    .next()
                    .unwrap()
                    .trim_start_matches("/client/v4")
                    .to_string(),
            );
            let mut g = st.lock().unwrap();
            g.log.push(format!("{method} {path}"));
            let ok = |v: Value| {
                (
                    200,
                    json!({ "success": true, "errors": [], "messages": [], "result": v, "result_info": { "page": 1, "per_page": 100, "count": 1, "total_count": 1, "total_pages": 1 } }),
                )
            };
            let (code, reply) = if auth != format!("Bearer {token}") {
                (
                    403,
                    json!({ "success": false, "errors": [{ "code": 9109, "message": "Invalid access token" }], "messages": [], "result": null }),
                )
            } else if method == "GET" && path == "/zones?name=example.com" {
                ok(json!([{ "id": "zone1", "name": "example.com", "status": "active" }]))
            } else if method == "GET" && path.starts_with("/zones/zone1/dns_records") {
                ok(json!(g.records.clone()))
            } else if let Some(id) = path.strip_prefix("/zones/zone1/dns_records/") {
                let id = id.to_string();
                let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                match method.as_str() {
                    "PATCH" => {
                        let rec = g
                            .records
                            .iter_mut()
                            .find(|x| x["id"] == id.as_str())
                            .unwrap();
                        for k in ["content", "ttl", "name", "type"] {
                            if !b[k].is_null() {
                                rec[k] = b[k].clone();
                            }
                        }
                        let rec = rec.clone();
                        ok(rec)
                    }
                    "DELETE" => {
                        g.records.retain(|x| x["id"] != id.as_str());
                        ok(json!({ "id": id }))
                    }
                    _ => (
                        405,
                        json!({ "success": false, "errors": [{ "code": 10000, "message": "method" }], "result": null }),
                    ),
                }
            } else if method == "POST" && path == "/zones/zone1/dns_records" {
                let mut b: Value = serde_json::from_slice(&body).unwrap();
                g.next += 1;
                b["id"] = json!(format!("new{}", g.next));
                g.records.push(b.clone());
                ok(b)
            } else {
                (
                    404,
                    json!({ "success": false, "errors": [{ "code": 7003, "message": "Could not route" }], "result": null }),
                )
            };
            let text = reply.to_string();
            let _ = write!(
                s,
                "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (base, state)
}

#[test]
fn cloudflare_contract_switch_and_restore_against_documented_shapes() {
    let (api, state) = fake_cloudflare("cf-test-token-123");
    let p = Project::with_config("project cf-test {\n    secrets { env prefix=DNSCT_; }\n}\n");
    let common = format!(
        "provider cloudflare\n        api \"{api}\"\n        api-token-secret cf_token\n        zone \"example.com\""
    );
    p.runbook(
        "cut",
        &format!(
            r#"runbook cut version=1 {{
    step switch uses=dns-cutover action=switch {{
        {common}
        record name=www type=A to="192.0.2.20,192.0.2.21" ttl=120
    }}
    step back uses=dns-cutover action=restore {{
        {common}
        previous "{{{{ steps.switch.outputs.previous }}}}"
    }}
}}
"#
        ),
    );
    let out = p
        .cmd()
        .args(["run", "cut"])
        .env("DNSCT_CF_TOKEN", "cf-test-token-123")
        .output()
        .unwrap();
    let run = crate::Run::new(&["run", "cut"], out);
    run.success();
    let g = state.lock().unwrap();
    // The switch overwrote the one record and added the second value; the
    // restore deleted the extra one and put the first value back.
    assert!(
        g.log
            .iter()
            .any(|l| l == "PATCH /zones/zone1/dns_records/rec1"),
        "{:?}",
        g.log
    );
    assert!(
        g.log.iter().any(|l| l == "POST /zones/zone1/dns_records"),
        "{:?}",
        g.log
    );
    assert!(
        g.log
            .iter()
            .any(|l| l.starts_with("DELETE /zones/zone1/dns_records/")),
        "{:?}",
        g.log
    );
    assert_eq!(g.records.len(), 1, "{:?}", g.records);
    assert_eq!(g.records[0]["content"], "192.0.2.10");
    assert_eq!(g.records[0]["ttl"], 300);
    assert!(
        !p.journals().contains("cf-test-token-123"),
        "token in the journal"
    );
}
