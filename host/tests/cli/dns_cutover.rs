//! The stock `dns-cutover` plugin through the real binary: against the lab's
//! real PowerDNS (a zone of its own per test, created and deleted through
//! the API; the lab's `example.test.` is never touched), over its HTTP API
//! and over RFC 2136 with TSIG. Cloudflare: `cloudflare_contract.rs`.

use serde_json::{Value, json};

use crate::Project;
use crate::backup::{outputs, unique};

pub(crate) struct Pdns {
    pub(crate) api: String,
    pub(crate) key: String,
    pub(crate) dns: String,
    pub(crate) zone: String,
}

impl Pdns {
    pub(crate) fn new() -> Option<Pdns> {
        let get = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let (Some(api), Some(key), Some(dns)) = (
            get("CAIRN_LAB_PDNS_API"),
            get("CAIRN_LAB_PDNS_KEY"),
            get("CAIRN_LAB_DNS"),
        ) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but the lab's PowerDNS is not up"
            );
            eprintln!("skipped: no lab PowerDNS (eval \"$(tests/lab/up dns)\")");
            return None;
        };
        let zone = format!("{}.cairn-test.", unique("z").replace('_', "-"));
        let p = Pdns {
            api,
            key,
            dns,
            zone,
        };
        let mut rrsets = vec![
            json!({ "name": format!("www.{}", p.zone), "type": "A", "ttl": 300, "records": [{ "content": "127.0.0.1", "disabled": false }] }),
            json!({ "name": format!("api.{}", p.zone), "type": "A", "ttl": 300, "records": [{ "content": "127.0.0.1", "disabled": false }] }),
        ];
        rrsets.push(json!({ "name": format!("ns1.{}", p.zone), "type": "A", "ttl": 3600, "records": [{ "content": "127.0.0.1", "disabled": false }] }));
        let (code, body) = p.call("POST", "/servers/localhost/zones", Some(json!({
            "name": p.zone, "kind": "Native", "nameservers": [format!("ns1.{}", p.zone)], "rrsets": rrsets
        })));
        assert_eq!(code, 201, "create zone: {body}");
        Some(p)
    }

    pub(crate) fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
        let mut c = std::process::Command::new("curl");
        c.args(["-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method, "-H"])
            .arg(format!("X-API-Key: {}", self.key))
            .arg(format!("{}{path}", self.api));
        if let Some(b) = body {
            c.args(["-H", "Content-Type: application/json", "--data-binary"])
                .arg(b.to_string());
        }
        let out = c.output().expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// `(ttl, values)` of an A record set of the zone, from the API.
    pub(crate) fn a(&self, name: &str) -> Option<(u64, Vec<String>)> {
        let (_, body) = self.call(
            "GET",
            &format!("/servers/localhost/zones/{}", self.zone),
            None,
        );
        let v: Value = serde_json::from_str(&body).unwrap();
        v["rrsets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == format!("{name}.{}", self.zone) && r["type"] == "A")
            .map(|r| {
                (
                    r["ttl"].as_u64().unwrap(),
                    r["records"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x["content"].as_str().unwrap().to_string())
                        .collect(),
                )
            })
    }

    fn project(&self, steps: &str) -> Project {
        let p = Project::with_config("project dns-test {\n    secrets { env prefix=DNSCT_; }\n}\n");
        let common = format!(
            "provider powerdns\n        api \"{}\"\n        api-key-secret pdns_key\n        zone \"{}\"",
            self.api, self.zone
        );
        p.runbook(
            "cut",
            &format!(
                "runbook cut version=1 {{\n{}\n}}\n",
                steps.replace("COMMON", &common).replace("DNS", &self.dns)
            ),
        );
        p
    }

    fn cairn(&self, p: &Project, args: &[&str]) -> crate::Run {
        let out = p
            .cmd()
            .args(args)
            .env("DNSCT_PDNS_KEY", &self.key)
            .output()
            .unwrap();
        crate::Run::new(args, out)
    }
}

impl Drop for Pdns {
    fn drop(&mut self) {
        // Only the zone this test created: its name is unique to this run.
        self.call(
            "DELETE",
            &format!("/servers/localhost/zones/{}", self.zone),
            None,
        );
    }
}

#[test]
fn powerdns_switch_verify_and_put_back() {
    let Some(z) = Pdns::new() else { return };
    let p = z.project(
        r#"    step prepare uses=dns-cutover action=prepare {
        COMMON
        record name=www
        ttl 60
    }
    step switch uses=dns-cutover action=switch {
        COMMON
        record name=www type=A to="127.0.0.2"
    }
    step verify uses=dns-cutover action=verify {
        COMMON
        record name=www type=A to="127.0.0.2"
        servers "DNS"
        timeout "60s"
    }
    step back uses=dns-cutover action=restore {
        COMMON
        previous "{{ steps.switch.outputs.previous }}"
    }
    step ttl uses=dns-cutover action=restore-ttl {
        COMMON
        previous "{{ steps.prepare.outputs.previous }}"
    }
    step verify-old uses=dns-cutover action=verify {
        COMMON
        record name=www type=A to="127.0.0.1"
        servers "DNS"
        timeout "60s"
    }"#,
    );
    z.cairn(&p, &["run", "cut"]).success();
    assert_eq!(outputs(&p, "prepare")["wait-seconds"], 300);
    assert_eq!(
        outputs(&p, "switch")["previous"][0]["values"],
        json!(["127.0.0.1"])
    );
    assert_eq!(outputs(&p, "switch")["previous"][0]["ttl"], 60);
    assert_eq!(z.a("www"), Some((300, vec!["127.0.0.1".to_string()])));
    assert_eq!(
        z.a("api"),
        Some((300, vec!["127.0.0.1".to_string()])),
        "a record not named is untouched"
    );
    assert!(
        !p.journals().contains(&z.key),
        "the API key reached the journal"
    );
}

#[test]
fn a_dry_run_prints_the_record_diff_and_changes_nothing() {
    let Some(z) = Pdns::new() else { return };
    let p = z.project(
        r#"    step switch uses=dns-cutover action=switch {
        COMMON
        record name=www type=A to="127.0.0.2" ttl=60
    }"#,
    );
    let run = z.cairn(&p, &["run", "cut", "--dry-run"]);
    run.success().stdout_has(&format!(
        "A www.{} 127.0.0.1 → 127.0.0.2, TTL 300 → 60",
        z.zone
    ));
    assert_eq!(z.a("www"), Some((300, vec!["127.0.0.1".to_string()])));
}

#[test]
fn deleting_a_record_is_refused_without_allow_delete() {
    let Some(z) = Pdns::new() else { return };
    let p = z.project(
        r#"    step switch uses=dns-cutover action=switch {
        COMMON
        record name=api type=A to=""
    }"#,
    );
    let run = z.cairn(&p, &["run", "cut"]);
    run.code(1);
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("allow-delete"),
        "{}",
        run.stdout
    );
    assert!(z.a("api").is_some());
}

#[test]
fn rfc2136_updates_signed_with_tsig_are_applied_and_a_wrong_key_is_refused() {
    let Some(z) = Pdns::new() else { return };
    // A TSIG key of this test's own, allowed to update only its zone.
    let key_name = format!("key-{}", z.zone.trim_end_matches('.'));
    let key = "c2VjcmV0LWtleS1mb3ItY2Fpcm4tdGVzdHMtMDEyMzQ1Njc4OQ==";
    let (code, body) = z.call(
        "POST",
        "/servers/localhost/tsigkeys",
        Some(json!({ "name": key_name, "algorithm": "hmac-sha256", "key": key })),
    );
    assert_eq!(code, 201, "{body}");
    struct DropKey<'a>(&'a Pdns, String);
    impl Drop for DropKey<'_> {
        fn drop(&mut self) {
            self.0.call(
                "DELETE",
                &format!("/servers/localhost/tsigkeys/{}.", self.1),
                None,
            );
        }
    }
    let _key = DropKey(&z, key_name.clone());
    let (code, body) = z.call(
        "PUT",
        &format!(
            "/servers/localhost/zones/{}/metadata/TSIG-ALLOW-DNSUPDATE",
            z.zone
        ),
        Some(json!({ "metadata": [key_name] })),
    );
    assert_eq!(code, 200, "{body}");
    let p = Project::with_config("project dns-test {\n    secrets { env prefix=DNSCT_; }\n}\n");
    p.runbook(
        "cut",
        &format!(
            r#"runbook cut version=1 {{
    step switch uses=dns-cutover action=switch {{
        provider rfc2136
        api "{dns}"
        tsig-key-name "{key_name}"
        tsig-key-secret tsig_key
        zone "{zone}"
        record name=www type=A to="127.0.0.3,127.0.0.4"
    }}
    step verify uses=dns-cutover action=verify {{
        provider rfc2136
        api "{dns}"
        tsig-key-name "{key_name}"
        tsig-key-secret tsig_key
        zone "{zone}"
        record name=www type=A to="127.0.0.3,127.0.0.4"
        servers "{dns}"
        timeout "30s"
    }}
}}
"#,
            dns = z.dns,
            zone = z.zone
        ),
    );
    let run = |k: &str| {
        crate::Run::new(
            &["run", "cut"],
            p.cmd()
                .args(["run", "cut"])
                .env("DNSCT_TSIG_KEY", k)
                .output()
                .unwrap(),
        )
    };
    // A key the server does not know: refused, nothing changed.
    let wrong = run("d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc=");
    wrong.code(1);
    assert!(
        format!("{}{}", wrong.stdout, wrong.stderr).contains("refused the UPDATE"),
        "{}",
        wrong.stdout
    );
    assert_eq!(z.a("www"), Some((300, vec!["127.0.0.1".to_string()])));
    run(key).success();
    assert_eq!(
        outputs(&p, "switch")["previous"][0]["values"],
        json!(["127.0.0.1"])
    );
    assert_eq!(
        z.a("www"),
        Some((300, vec!["127.0.0.3".to_string(), "127.0.0.4".to_string()]))
    );
    assert!(
        !p.journals().contains(key),
        "the TSIG key reached the journal"
    );
}
