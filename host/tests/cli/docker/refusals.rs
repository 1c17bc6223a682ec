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

#[test]
fn a_loader_variable_in_a_container_exec_needs_an_exec_env_grant() {
    let Some(lab) = lab() else { return };
    let runbook = format!(
        r#"
runbook box version=1 {{
    step probe uses=docker-probe action=exec {{
        engine {host}
        container {c}
        run sh "-c" "printf '%s' \"$BASH_ENV\""
        env BASH_ENV="/tmp/not-a-script"
        effect read
    }}
}}
"#,
        host = kdl(&lab.host),
        c = kdl(&lab.container)
    );
    let Some(p) = project(&lab.host, &runbook) else {
        return;
    };
    cairn(&p, &["run", "box"], None)
        .code(1)
        .has("exec-env: `BASH_ENV` is not permitted for plugin `docker-probe`");
    // Granted by name, it reaches the container.
    std::fs::write(
        p.join("cairn.kdl"),
        format!(
            "project docker-test {{\n    plugins {{ dir \"plugins\"; }}\n    grant plugin=docker-probe {{ docker {}; exec-env \"BASH_ENV\"; }}\n}}\n",
            kdl(&lab.host)
        ),
    )
    .unwrap();
    cairn(&p, &["run", "box"], None).code(0);
    assert_eq!(outputs(&p, "probe")["stdout"], "/tmp/not-a-script");
}
