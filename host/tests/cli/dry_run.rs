//! `--dry-run`: writes recorded and not performed, reads performed.

use crate::Project;

const TOUCH: &str = r#"
runbook touchy version=1 {
    step probe uses=exec {
        run sh "-c" "echo probed > probe-ran; echo looked"
        cwd "{{ project.root }}"
        effect read
    }
    step touch uses=exec {
        run touch "{{ project.root }}/created"
    }
    step remove uses=exec {
        run rm "-f" "{{ project.root }}/keep-me"
    }
}
"#;

#[test]
fn dry_run_changes_nothing_and_prints_the_plan() {
    let p = Project::new();
    p.runbook("touchy", TOUCH);
    p.file("keep-me", "precious");
    let r = p.cairn(&["run", "touchy", "--dry-run"]);
    r.success()
        .stdout_has("dry-run")
        .stdout_has("would run: touch")
        .stdout_has("would run: rm -f");
    assert!(
        !p.join("created").exists(),
        "a dry-run must not create the file"
    );
    assert!(
        p.join("keep-me").exists(),
        "a dry-run must not remove the file"
    );
    // Reads are performed, so the plan reflects reality.
    assert!(p.join("probe-ran").exists(), "read steps run in a dry-run");
    let events = p.last_journal();
    let planned: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "capability" && e["planned"] == true)
        .collect();
    assert_eq!(planned.len(), 2, "{planned:?}");
    assert_eq!(events[0]["mode"], "dry-run");
}

#[test]
fn offline_dry_run_performs_not_even_reads() {
    let p = Project::new();
    p.runbook("touchy", TOUCH);
    p.cairn(&["run", "touchy", "--dry-run", "--offline"])
        .success();
    assert!(!p.join("probe-ran").exists());
    assert!(!p.join("created").exists());
}

#[test]
fn apply_performs_the_writes() {
    let p = Project::new();
    p.runbook("touchy", TOUCH);
    p.file("keep-me", "x");
    p.cairn(&["run", "touchy"]).success();
    assert!(p.join("created").exists());
    assert!(!p.join("keep-me").exists());
}

#[test]
fn dry_run_of_http_writes_sends_nothing() {
    let server = crate::http_check::Server::start(200, "ok");
    let p = Project::new();
    p.runbook(
        "post",
        &format!(
            r#"
runbook post version=1 {{
    step hook uses=http-check {{
        url "{}/hook"
        method "POST"
    }}
}}
"#,
            server.url()
        ),
    );
    p.cairn(&["run", "post", "--dry-run"])
        .success()
        .stdout_has("would POST");
    assert_eq!(server.hits(), 0);
    p.cairn(&["run", "post"]).success();
    assert_eq!(server.hits(), 1);
}
