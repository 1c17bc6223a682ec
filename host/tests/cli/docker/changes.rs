//! `docker` writes: restart, stop and start (and a dry-run that changes
//! nothing), a slow exec ended at the step's deadline.

use super::*;

#[test]
fn restart_changes_started_at_and_the_container_runs_again() {
    let Some(lab) = lab() else { return };
    let scratch = lab.scratch("restart");
    let Some(p) = project(
        &lab.host,
        &format!(
            r#"
runbook box version=1 {{
    step before uses=docker-probe action=inspect {{ engine {host}; container {c}; }}
    step bounce uses=docker-probe action=restart {{ engine {host}; container {c}; timeout "5s"; }}
    step after uses=docker-probe action=inspect {{ engine {host}; container {c}; }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&scratch.name)
        ),
    ) else {
        return;
    };
    let (at_first, _) = lab.started_at(&scratch.name);
    cairn(&p, &["run", "box"], None).code(0);
    let before = outputs(&p, "before");
    let bounce = outputs(&p, "bounce");
    let after = outputs(&p, "after");
    assert_eq!(before["started-at"], at_first.as_str());
    assert_ne!(after["started-at"], before["started-at"]);
    assert_eq!(bounce["started-at"], after["started-at"]);
    assert_eq!(
        (bounce["planned"].clone(), after["running"].clone()),
        (Value::Bool(false), Value::Bool(true))
    );
    let (at_now, running) = lab.started_at(&scratch.name);
    assert!(running, "the container runs again");
    assert_eq!(after["started-at"], at_now.as_str());
}

#[test]
fn a_dry_run_restart_changes_nothing() {
    let Some(lab) = lab() else { return };
    let scratch = lab.scratch("dry");
    let Some(p) = project(
        "*",
        &format!(
            r#"
runbook box version=1 {{
    step bounce uses=docker-probe action=restart {{ engine {host}; container {c}; }}
    step stop uses=docker-probe action=stop {{ engine {host}; container {c}; }}
    step touch uses=docker-probe action=exec {{ engine {host}; container {c}; run touch "/tmp/touched"; }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&scratch.name)
        ),
    ) else {
        return;
    };
    let (at_before, _) = lab.started_at(&scratch.name);
    cairn(&p, &["run", "box", "--dry-run"], None)
        .code(0)
        .has(&format!(
            "would restart container {} on {}",
            scratch.name, lab.host
        ))
        .has(&format!(
            "would stop container {} on {}",
            scratch.name, lab.host
        ))
        .has(&format!(
            "would run touch /tmp/touched in container {} on {}",
            scratch.name, lab.host
        ));
    assert_eq!(lab.started_at(&scratch.name), (at_before.clone(), true));
    let bounce = outputs(&p, "bounce");
    assert_eq!(bounce["planned"], true);
    // The plan shows the container as it is.
    assert_eq!(bounce["started-at"], at_before.as_str());
    assert_eq!(outputs(&p, "touch")["planned"], true);
    let touched = lab.docker(&["exec", &scratch.name, "test", "-e", "/tmp/touched"]);
    assert!(!touched.status.success(), "the write exec did not run");
}

#[test]
fn stop_then_start_and_a_slow_exec_ends_at_the_step_deadline() {
    let Some(lab) = lab() else { return };
    let scratch = lab.scratch("stop");
    let Some(p) = project(
        &lab.host,
        &format!(
            r#"
runbook box version=1 {{
    step stop uses=docker-probe action=stop {{ engine {host}; container {c}; timeout "2s"; }}
    step start uses=docker-probe action=start {{ engine {host}; container {c}; }}
    step slow uses=docker-probe action=exec timeout="2s" {{
        engine {host}
        container {c}
        run sleep "30"
        effect read
    }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&scratch.name)
        ),
    ) else {
        return;
    };
    let started = std::time::Instant::now();
    cairn(&p, &["run", "box"], None)
        .code(1)
        .has(&format!(
            "docker: `sleep` in container `{}` on {} did not finish in",
            scratch.name, lab.host
        ))
        .has("and was killed");
    // Stopped, not left running in the container.
    let ps = lab.docker(&["exec", &scratch.name, "ps", "-o", "args"]);
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(!ps.contains("sleep 30"), "{ps}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "the deadline ended the exec: {:?}",
        started.elapsed()
    );
    let stop = outputs(&p, "stop");
    assert_eq!(
        (stop["running"].clone(), stop["state"].clone()),
        (Value::Bool(false), Value::from("exited"))
    );
    assert_eq!(stop["exit-code"], 0, "the container's trap exits 0 on TERM");
    let start = outputs(&p, "start");
    assert_eq!(start["running"], true);
    assert!(lab.started_at(&scratch.name).1);
}
