//! An engine not granted is refused; a missing container is named.

use super::*;

#[test]
fn an_ungranted_engine_is_refused() {
    let Some(lab) = lab() else { return };
    let Some(p) = project(
        "unix:///run/elsewhere/docker.sock",
        &format!(
            r#"
runbook box version=1 {{
    step look uses=docker-probe action=inspect {{ engine {host}; container {c}; }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&lab.container)
        ),
    ) else {
        return;
    };
    cairn(&p, &["run", "box"], None).code(1).has(&format!(
        "docker: `{}` is not permitted for plugin `docker-probe` (grant it in cairn.kdl: `grant plugin=docker-probe {{ docker \"{}\" }}`)",
        lab.host, lab.host
    ));
    // The default engine is checked as what it resolves to.
    p.runbook(
        "box",
        &format!(
            "runbook box version=1 {{\n    step look uses=docker-probe action=inspect {{ container {}; }}\n}}\n",
            kdl(&lab.container)
        ),
    );
    cairn(&p, &["run", "box"], Some(&lab.host))
        .code(1)
        .has(&format!("docker: `{}` is not permitted", lab.host));
}

#[test]
fn a_missing_container_is_named() {
    let Some(lab) = lab() else { return };
    let Some(p) = project(
        &lab.host,
        &format!(
            r#"
runbook box version=1 {{
    step look uses=docker-probe action=inspect {{ engine {host}; container "cairn-no-such-box"; }}
}}
"#,
            host = kdl(&lab.host),
        ),
    ) else {
        return;
    };
    cairn(&p, &["run", "box"], None).code(1).has(&format!(
        "docker: no container `cairn-no-such-box` on {}",
        lab.host
    ));
}
