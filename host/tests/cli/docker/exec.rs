//! `docker` exec: env, cwd and the exit status.

use super::*;

#[test]
fn exec_runs_with_env_and_cwd_and_reports_the_status() {
    let Some(lab) = lab() else { return };
    let Some(p) = project(
        &lab.host,
        &format!(
            r#"
runbook box version=1 {{
    step probe uses=docker-probe action=exec {{
        engine {host}
        container {c}
        run sh "-c" "printf '%s|%s' \"$GREETING\" \"$(pwd)\"; echo oops >&2; exit 3"
        env GREETING="hello box" OTHER=x
        cwd "/tmp"
        effect read
    }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&lab.container)
        ),
    ) else {
        return;
    };
    // Reads run in a dry-run too.
    cairn(&p, &["run", "box", "--dry-run"], None).code(0);
    let out = outputs(&p, "probe");
    assert_eq!(out["stdout"], "hello box|/tmp");
    assert_eq!(out["stderr"], "oops");
    assert_eq!(out["status"], 3);
    assert_eq!(out["planned"], false);
    // The journal names the variables, not their values.
    let journal = p.journals();
    assert!(journal.contains("GREETING=…"), "{journal}");
    assert!(
        journal.contains(r#""env":["GREETING","OTHER"]"#),
        "{journal}"
    );
}
