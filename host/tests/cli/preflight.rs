//! The preflight: every secret, storage, target, plugin and grant a run
//! needs is checked before its first step, and `cairn validate` checks the same.

use crate::Project;

const CONFIG: &str = r#"project test-site {
    secrets {
        file "secrets.json"
    }
}
"#;

/// Step 1 writes a file; step 3 needs a secret that no source holds.
const LATE_SECRET: &str = r#"
runbook late-secret version=1 {
    step write uses=exec {
        run touch "{{ project.root }}/written"
    }
    step middle uses=exec {
        run "true"
    }
    step call uses=exec {
        run sh "-c" "test -n \"$TOKEN\""
        secret-env TOKEN="api_token"
    }
}
"#;

#[test]
fn a_missing_secret_named_by_an_argument_stops_the_run_before_its_first_step() {
    let p = Project::with_config(CONFIG);
    p.file("secrets.json", r#"{"other_token": "not-the-one"}"#);
    p.runbook("late-secret", LATE_SECRET);
    p.cairn(&["run", "late-secret"])
        .code(2)
        .stderr_has("api_token")
        .stderr_has("step `call`");
    assert!(
        !p.join("written").exists(),
        "nothing runs when a later step's secret is missing"
    );
    assert!(p.journals().is_empty(), "no run starts");
    p.cairn(&["validate", "late-secret"])
        .code(2)
        .stderr_has("api_token")
        .stderr_has("step `call`");
    p.cairn(&["validate"]).code(2).stderr_has("api_token");

    // Once the secret exists the same runbook runs and validates.
    p.file("secrets.json", r#"{"api_token": "s3cr3t-value"}"#);
    p.cairn(&["validate", "late-secret"]).success();
    p.cairn(&["run", "late-secret"]).success();
    assert!(p.join("written").exists());
}

#[test]
fn validate_reports_a_missing_secret_reference_like_a_run_does() {
    let p = Project::with_config(CONFIG);
    p.file("secrets.json", r#"{"other_token": "x-value"}"#);
    p.runbook(
        "ref",
        r#"
runbook ref version=1 {
    step write uses=exec {
        run touch "{{ project.root }}/written"
    }
    step call uses=exec {
        run echo "{{ secrets.db_pass }}"
    }
}
"#,
    );
    p.cairn(&["run", "ref"]).code(2).stderr_has("db_pass");
    assert!(!p.join("written").exists());
    p.cairn(&["validate", "ref"]).code(2).stderr_has("db_pass");
}

#[test]
fn a_missing_storage_and_a_secret_the_grant_does_not_allow_are_found_before_running() {
    let p = Project::with_config(
        r#"project test-site {
    secrets {
        file "secrets.json"
    }
    grant plugin=exec {
        exec touch sh "true"
        secrets other_token
    }
}
"#,
    );
    p.file(
        "secrets.json",
        r#"{"other_token": "x-value", "api_token": "y-value"}"#,
    );
    p.runbook("late-secret", LATE_SECRET);
    p.cairn(&["run", "late-secret"])
        .code(3)
        .stderr_has("api_token")
        .stderr_has("grant");
    assert!(!p.join("written").exists());
    p.cairn(&["validate", "late-secret"])
        .code(2)
        .stderr_has("api_token");

    p.runbook(
        "store",
        r#"
runbook store version=1 {
    step write uses=exec {
        run touch "{{ project.root }}/written"
    }
    step dump uses=backup action=files {
        dir "{{ project.root }}"
        storage "offsite"
    }
}
"#,
    );
    p.cairn(&["run", "store"])
        .code(2)
        .stderr_has("storage `offsite`");
    assert!(!p.join("written").exists());
    p.cairn(&["validate", "store"])
        .code(2)
        .stderr_has("storage `offsite`");
}
