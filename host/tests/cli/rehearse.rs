//! `cairn rehearse`: a real run against the rehearsal overrides, the verify
//! checks, and the report.

use crate::Project;

const RESTORE: &str = r#"
runbook restore-files version=3 {
    param dest default="live"
    param archive default="backup.tar"

    step find-backup uses=noop action=echo {
        backup-created "2026-11-20T03:00:00Z"
        key "{{ params.archive }}"
    }
    step unpack uses=exec {
        run sh "-c" "mkdir -p \"$1\" && tar -xf \"$2\" -C \"$1\"" sh "{{ params.dest }}" "{{ params.archive }}"
        cwd "{{ project.root }}"
    }
    rehearsal {
        param dest "scratch"
        verify {
            step file-count uses=exec {
                run sh "-c" "test $(find \"$1\" -type f | wc -l) -eq 3" sh "{{ params.dest }}"
                cwd "{{ project.root }}"
            }
            step same-content uses=exec {
                run sh "-c" "cd \"$1\" && sha256sum -c ../expected.sha256" sh "{{ params.dest }}"
                cwd "{{ project.root }}"
            }
        }
    }
    finally {
        step cleanup uses=exec when="{{ run.mode }} == \"rehearsal\"" {
            run rm "-rf" "{{ params.dest }}"
            cwd "{{ project.root }}"
        }
    }
}
"#;

fn site(p: &Project) {
    for (name, body) in [("a.txt", "alpha"), ("b.txt", "beta"), ("c/d.txt", "delta")] {
        p.file(&format!("media/{name}"), body);
    }
    let ok = std::process::Command::new("sh")
        .arg("-c")
        .arg("cd media && tar -cf ../backup.tar . && find . -type f | sort | xargs sha256sum > ../expected.sha256")
        .current_dir(p.path())
        .status()
        .unwrap();
    assert!(ok.success());
}

fn report(p: &Project) -> serde_json::Value {
    let runs = p.join(".cairn/runs");
    let mut dirs: Vec<_> = std::fs::read_dir(runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let dir = dirs.last().unwrap();
    assert!(dir.join("report.md").exists(), "report.md written");
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn a_rehearsal_restores_into_scratch_verifies_cleans_up_and_reports() {
    let p = Project::new();
    site(&p);
    p.runbook("restore-files", RESTORE);
    p.cairn(&["rehearse", "restore-files"])
        .success()
        .stdout_has("every check passed")
        .stdout_has("recovery time");
    let r = report(&p);
    assert_eq!(r["passed"], true, "{r:#}");
    assert_eq!(r["runbook"], "restore-files");
    assert_eq!(r["version"], 3);
    assert!(r["recovery_time_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(r["backup"]["created"], "2026-11-20T03:00:00Z");
    assert!(r["backup"]["age_seconds"].as_i64().unwrap() > 0);
    let checks = r["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|c| c["passed"] == true));
    assert_eq!(r["params"]["dest"], "scratch");
    // The overrides were used: the live destination was never touched, and
    // the scratch one was cleaned up.
    assert!(!p.join("live").exists());
    assert!(!p.join("scratch").exists());
}

#[test]
fn a_failed_check_fails_the_rehearsal_and_the_report_says_which() {
    let p = Project::new();
    site(&p);
    // The backup lost a file.
    let ok = std::process::Command::new("sh")
        .arg("-c")
        .arg("cd media && rm b.txt && tar -cf ../backup.tar .")
        .current_dir(p.path())
        .status()
        .unwrap();
    assert!(ok.success());
    p.runbook("restore-files", RESTORE);
    p.cairn(&["rehearse", "restore-files"])
        .code(1)
        .stdout_has("checks failed");
    let r = report(&p);
    assert_eq!(r["passed"], false);
    let failed: Vec<_> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert!(failed.contains(&"file-count".to_string()), "{failed:?}");
    assert!(
        !p.join("scratch").exists(),
        "cleanup ran after the failed check"
    );
}

/// A check whose `when` is false does not apply: it is reported as
/// skipped and fails nothing (the stock dr-rehearsal's `files-match`
/// without media).
#[test]
fn a_check_skipped_by_its_when_fails_nothing() {
    let p = Project::new();
    p.runbook(
        "skips",
        "runbook skips version=1 {\n    param media default=\"\"\n    step a uses=exec { run \"true\"; }\n    rehearsal {\n        verify {\n            step data uses=exec { run \"true\"; }\n            step files uses=exec when=\"{{ params.media }}\" { run \"false\"; }\n        }\n    }\n}\n",
    );
    p.cairn(&["rehearse", "skips"])
        .success()
        .stdout_has("every check passed");
    let r = report(&p);
    assert_eq!(r["passed"], true, "{r:#}");
    let files = &r["checks"][1];
    assert_eq!(files["id"], "files");
    assert_eq!(files["status"], "skipped");
    assert_eq!(files["passed"], serde_json::Value::Null);
    // Applied, the same check fails the rehearsal.
    p.cairn(&["rehearse", "skips", "-p", "media=yes"])
        .code(1)
        .stdout_has("checks failed");
}

#[test]
fn a_runbook_without_a_rehearsal_block_cannot_be_rehearsed() {
    let p = Project::new();
    p.runbook(
        "plain",
        "runbook plain version=1 {\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    p.cairn(&["rehearse", "plain"])
        .code(2)
        .stderr_has("no `rehearsal` block");
}
