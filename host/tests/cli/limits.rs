//! `limits { ... }` through the real binary against the lab's real HAProxy
//! (a private one in front of the lab's nginx app servers) and PowerDNS (a
//! zone of the test's own): counted across the run, refused before the step
//! that would exceed one, in a dry-run and in a real run; shown by a plan;
//! an unknown limit is a diagnostic with its place.

use crate::Project;
use crate::dns_cutover::Pdns;

const TWO_DOWN: &str = r#"runbook lim version=1 {
    limits {
        max-servers-down 1
    }
    step one uses=haproxy action=drain {
        socket "SOCK"
        backend be_site
        server app1
        timeout "20s"
    }
    step two uses=haproxy action=maint {
        socket "SOCK"
        backend be_site
        server app2
        allow-empty-backend #true
    }
}
"#;

#[test]
fn a_second_server_down_is_refused_before_its_step_in_a_dry_run_and_a_run() {
    let Some(h) = crate::haproxy::start() else {
        return;
    };
    let p = Project::new();
    p.runbook(
        "lim",
        &TWO_DOWN.replace("SOCK", &h.socket.display().to_string()),
    );
    let refusal = "limit `max-servers-down 1` would be exceeded: step `two` counts 1, 1 counted before it (2 > 1)";

    let dry = p.cairn(&["run", "lim", "--dry-run"]);
    dry.code(3);
    assert!(
        format!("{}{}", dry.stdout, dry.stderr).contains(refusal),
        "{}\n{}",
        dry.stdout,
        dry.stderr
    );
    assert_eq!((h.admin_state("app1"), h.admin_state("app2")), (0, 0));

    let run = p.cairn(&["run", "lim"]);
    run.code(3);
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains(refusal),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    // `one` ran (app1 drained, admin state 8), `two` never did.
    assert_eq!(
        h.admin_state("app2"),
        0,
        "{}",
        h.api("show servers state be_site")
    );
    assert_ne!(
        h.admin_state("app1"),
        0,
        "{}",
        h.api("show servers state be_site")
    );
    h.api("set server be_site/app1 state ready");

    // A server put back gives its count back: drain, ready, drain again fits.
    let fits = TWO_DOWN
        .replace(
            "    step two",
            "    step again uses=haproxy action=ready {\n        socket \"SOCK\"\n        backend be_site\n        server app1\n    }\n    step two",
        )
        .replace("action=maint", "action=drain")
        .replace("allow-empty-backend #true", "timeout \"20s\"")
        .replace("SOCK", &h.socket.display().to_string());
    p.runbook("lim", &fits);
    p.cairn(&["plan", "lim", "--out", "lim.plan.json"])
        .success()
        .stdout_has("limit max-servers-down 1: 1 counted");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("lim.plan.json")).unwrap()).unwrap();
    assert_eq!(
        plan["limits"],
        serde_json::json!([{"limit": "max-servers-down", "max": 1, "count": 1}])
    );
    p.cairn(&["run", "lim"]).success();
    h.api("set server be_site/app2 state ready");
}

#[test]
fn dns_changes_past_the_limit_are_refused_before_the_switch() {
    let Some(z) = Pdns::new() else { return };
    let p = Project::with_config("project lim {\n    secrets { env prefix=LIMT_; }\n}\n");
    p.runbook(
        "cut",
        &format!(
            r#"runbook cut version=1 {{
    limits {{ max-dns-changes 1; }}
    step switch uses=dns-cutover action=switch {{
        provider powerdns
        api "{}"
        api-key-secret pdns_key
        zone "{}"
        record name=www type=A to="127.0.0.2"
        record name=api type=A to="127.0.0.2"
    }}
}}
"#,
            z.api, z.zone
        ),
    );
    for args in [&["run", "cut", "--dry-run"][..], &["run", "cut"][..]] {
        let out = p
            .cmd()
            .args(args)
            .env("LIMT_PDNS_KEY", &z.key)
            .output()
            .unwrap();
        let run = crate::Run::new(args, out);
        run.code(3);
        assert!(
            format!("{}{}", run.stdout, run.stderr).contains(
                "limit `max-dns-changes 1` would be exceeded: step `switch` counts 2, 0 counted before it (2 > 1)"
            ),
            "{}\n{}",
            run.stdout,
            run.stderr
        );
        assert_eq!(z.a("www").map(|a| a.1), Some(vec!["127.0.0.1".to_string()]));
    }
}

#[test]
fn an_unknown_limit_is_a_diagnostic_at_its_place() {
    let p = Project::new();
    p.runbook(
        "lim",
        "runbook lim version=1 {\n    limits {\n        max-dns-change 5\n        max-servers-down \"1\"\n    }\n    step a uses=noop\n}\n",
    );
    p.cairn(&["validate", "lim"])
        .code(2)
        .stderr_has("unknown node `max-dns-change` in `limits`")
        .stderr_has("lim.kdl:3:9")
        .stderr_has("max-dns-changes")
        .stderr_has("limit `max-servers-down` must be a whole number");
}
