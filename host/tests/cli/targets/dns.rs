//! The `dns` capability against the lab's PowerDNS: lookups, a dead
//! resolver, resolvers not granted.

use super::*;

const DNS_VARS: &[&str] = &[
    "CAIRN_LAB_DNS",
    "CAIRN_LAB_OLD_SERVER_IP",
    "CAIRN_LAB_NEW_SERVER_IP",
];

#[test]
fn dns_lookups_against_the_lab_powerdns() {
    let Some(v) = lab(DNS_VARS) else { return };
    let (resolver, old_ip, new_ip) = (&v[0], &v[1], &v[2]);
    let Some(p) = probe_project(&format!("dns {}", kdl(resolver))) else {
        return;
    };
    p.runbook(
        "lookups",
        r#"
runbook lookups version=1 {
    param resolver
    step www uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "www.example.test"; type A; }
    step www-tcp uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "www.example.test."; type a; tcp #true; }
    step soa uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "example.test"; type SOA; }
    step ns uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "example.test"; type NS; }
    step nodata uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "www.example.test"; type TXT; }
    step missing uses=net-probe action=dns { resolver "{{ params.resolver }}"; name "missing.example.test"; type A; }
}
"#,
    );
    cairn(
        &p,
        &["run", "lookups", "-p", &format!("resolver={resolver}")],
        &[],
    )
    .code(0);
    // A move-site test may have pointed `www` at the new server meanwhile.
    let www = text(&p, "www", "value");
    assert!(
        www == *old_ip || www == *new_ip,
        "www.example.test A is {www}"
    );
    assert_eq!(output(&p, "www", "rcode"), "NOERROR");
    assert_eq!(output(&p, "www", "authoritative"), true);
    assert_eq!(text(&p, "www-tcp", "value"), www);
    let soa = text(&p, "soa", "value");
    assert!(soa.contains(" hostmaster.example.test. "), "{soa}");
    assert!(
        output(&p, "ns", "values")
            .as_array()
            .unwrap()
            .contains(&Value::from("ns1.example.test."))
    );
    assert_eq!(output(&p, "nodata", "rcode"), "NOERROR");
    assert_eq!(output(&p, "nodata", "values"), serde_json::json!([]));
    assert_eq!(output(&p, "missing", "rcode"), "NXDOMAIN");
    assert_eq!(output(&p, "missing", "value"), "");
    let records = output(&p, "missing", "records");
    assert!(
        records[0].as_str().unwrap().contains(" SOA "),
        "NXDOMAIN comes with the zone's SOA: {records}"
    );
    let journal = p.journals();
    assert!(journal.contains(&format!("look up www.example.test. A at {resolver}")));
}

#[test]
fn a_dead_resolver_times_out_within_the_step_deadline() {
    let Some(p) = probe_project("dns \"127.0.0.1\"") else {
        return;
    };
    // Bound and never read: queries vanish, as with a dead server.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    p.runbook(
        "dead",
        &r#"
runbook dead version=1 {
    step short uses=net-probe action=dns continue-on-error=#true {
        resolver "127.0.0.1:PORT"; name "www.example.test"; timeout "500ms"
    }
    step deadline uses=net-probe action=dns timeout="2s" {
        resolver "127.0.0.1:PORT"; name "www.example.test"; timeout "1m"
    }
}
"#
        .replace("PORT", &port.to_string()),
    );
    let r = cairn(&p, &["run", "dead"], &[]);
    r.code(1)
        .has(&format!(
            "dns: www.example.test. A at 127.0.0.1:{port}: no answer in 500ms (udp)"
        ))
        .has("✗ deadline");
    assert!(
        r.elapsed < Duration::from_secs(8),
        "the lookups outlived their deadlines: {:?}",
        r.elapsed
    );
    let f = finished(&p, "deadline");
    assert!(
        f["duration_ms"].as_f64().unwrap() < 3500.0,
        "the 2s step took {f}"
    );
}

#[test]
fn dns_resolvers_not_granted_are_refused() {
    let Some(p) = probe_project("dns \"127.0.0.1:58053\"") else {
        return;
    };
    p.runbook(
        "other",
        r#"
runbook other version=1 {
    step other uses=net-probe action=dns { resolver "127.0.0.2:58053"; name "www.example.test"; }
}
"#,
    );
    cairn(&p, &["run", "other"], &[])
        .code(1)
        .has("dns: `127.0.0.2:58053` is not permitted for plugin `net-probe` (grant it in cairn.kdl: `grant plugin=net-probe { dns \"127.0.0.2:58053\" }`)");
}
