//! Saved plans through the real binary against the lab's real HAProxy (a
//! private one in front of the lab's nginx app servers) and PowerDNS (a zone
//! of the test's own): `cairn plan --out` keeps every value the dry-run
//! read and no secret; `cairn apply` runs an unchanged plan and refuses,
//! naming each difference, one whose reads, runbook or plugins changed.

use crate::Project;
use crate::dns_cutover::Pdns;
use crate::fixture_haproxy::PrivateHaproxy;

const STEPS: &str = r#"
    param url required=#true
    step lb uses=haproxy action=status {
        socket "SOCK"
        backend be_site
    }
    step dns uses=dns-cutover action=show {
        provider powerdns
        api "API"
        api-key-secret pdns_key
        zone "ZONE"
        record name=www
    }
    step echo uses=exec {
        effect read
        run sh "-c" "echo \"$1\"" echo "{{ params.url }}"
    }
    step out uses=haproxy action=drain {
        socket "SOCK"
        backend be_site
        server app2
        timeout "20s"
    }
    step back uses=haproxy action=ready {
        socket "SOCK"
        backend be_site
        server app2
    }
"#;

struct Lab {
    h: PrivateHaproxy,
    z: Pdns,
    p: Project,
    /// The lab's PostgreSQL URL, its password in it.
    url: String,
}

impl Lab {
    fn new() -> Option<Lab> {
        let h = crate::haproxy::start()?;
        let z = Pdns::new()?;
        let url = std::env::var("CAIRN_LAB_PG_PRIMARY").ok()?;
        let p = Project::with_config("project plans {\n    secrets { env prefix=PLANT_; }\n}\n");
        p.runbook("mv", &runbook(&h, &z, ""));
        Some(Lab { h, z, p, url })
    }

    fn cairn(&self, args: &[&str]) -> crate::Run {
        let out = self
            .p
            .cmd()
            .args(args)
            .env("PLANT_PDNS_KEY", &self.z.key)
            .output()
            .unwrap();
        crate::Run::new(args, out)
    }

    fn plan(&self) -> String {
        let url = format!("url={}", self.url);
        self.cairn(&["plan", "mv", "-p", &url, "--out", "mv.plan.json"])
            .success()
            .stdout_has("plan written to mv.plan.json");
        std::fs::read_to_string(self.p.join("mv.plan.json")).unwrap()
    }

    fn apply(&self) -> crate::Run {
        let url = format!("url={}", self.url);
        self.cairn(&["apply", "mv.plan.json", "-p", &url])
    }

    fn real_runs(&self) -> usize {
        self.p.journals().matches("\"mode\":\"apply\"").count()
    }
}

fn runbook(h: &PrivateHaproxy, z: &Pdns, extra: &str) -> String {
    format!("runbook mv version=1 {{{extra}{STEPS}}}\n")
        .replace("SOCK", &h.socket.display().to_string())
        .replace("API", &z.api)
        .replace("ZONE", &z.zone)
}

#[test]
fn a_plan_holds_every_read_and_no_secret_and_runs_unchanged() {
    let Some(l) = Lab::new() else { return };
    let text = l.plan();
    let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    // What the dry-run read: HAProxy's servers, the DNS record, the echo.
    let lb = &plan["steps"][0];
    assert_eq!(lb["step"], "lb");
    assert_eq!(lb["reads"]["servers"][0]["state"], "ready", "{lb}");
    assert!(lb["volatile"].to_string().contains("servers.*.sessions"));
    assert!(text.contains("127.0.0.1"), "the record's value: {text}");
    assert_eq!(
        plan["plugins"]["haproxy"]["digest"].as_str().map(str::len),
        Some(64)
    );
    assert_eq!(plan["runbook"]["sha256"].as_str().map(str::len), Some(64));
    // No secret value: not the API key, not the database password.
    for secret in [l.z.key.as_str(), "cairn-lab-pw", "cairn-lab-super"] {
        assert!(!text.contains(secret), "the plan holds `{secret}`: {text}");
    }
    assert_eq!(plan["masked"], serde_json::json!(["url"]));

    // The masked param must be given again, and be the same.
    l.cairn(&["apply", "mv.plan.json"])
        .code(3)
        .stderr_has("param `url` masked");
    l.cairn(&[
        "apply",
        "mv.plan.json",
        "-p",
        "url=postgresql://other:pw@127.0.0.9/x",
    ])
    .code(3)
    .stderr_has("param `url` differs from the plan's");
    assert_eq!(l.real_runs(), 0);

    l.apply().success().stdout_has("none changed; running it");
    assert_eq!(l.real_runs(), 1, "{}", l.p.journals());
    assert_eq!(l.h.admin_state("app2"), 0, "app2 ready again after the run");
}

#[test]
fn a_plan_is_refused_naming_a_drained_server_a_changed_record_or_runbook() {
    let Some(l) = Lab::new() else { return };
    l.plan();

    l.h.api("set server be_site/app1 state drain");
    let run = l.apply();
    run.code(3)
        .stderr_has("is out of date: what it read has changed")
        .stderr_has("lb (haproxy status): servers[app1].state ready → drain");
    l.h.api("set server be_site/app1 state ready");
    assert_eq!(l.real_runs(), 0, "nothing ran");
    assert_eq!(l.h.admin_state("app2"), 0, "app2 never drained");

    let www = format!("www.{}", l.z.zone);
    let (code, body) = l.z.call(
        "PATCH",
        &format!("/servers/localhost/zones/{}", l.z.zone),
        Some(serde_json::json!({"rrsets": [{"name": www, "type": "A", "ttl": 300, "changetype": "REPLACE",
            "records": [{"content": "127.0.0.7", "disabled": false}]}]})),
    );
    assert_eq!(code, 204, "{body}");
    l.apply()
        .code(3)
        .stderr_has("dns (dns-cutover show): records[")
        .stderr_has("127.0.0.1 → 127.0.0.7");

    // Today's values, but another runbook than the plan's.
    l.plan();
    l.p.runbook("mv", &runbook(&l.h, &l.z, "\n    description \"changed\""));
    l.apply()
        .code(3)
        .stderr_has("the runbook or a plugin changed")
        .stderr_has("runbook `mv` (");
    assert_eq!(l.real_runs(), 0);
}
