//! list, show, plugin list/inspect, completions, project discovery, stock runbooks.

use crate::Project;

#[test]
fn list_shows_project_and_stock_runbooks() {
    let p = Project::new();
    p.runbook("mine", "runbook mine version=7 {\n    description \"Mine\"\n    step a uses=exec { run \"true\"; }\n}\n");
    p.cairn(&["list"])
        .success()
        .stdout_has("mine")
        .stdout_has("7")
        .stdout_has("disk-triage")
        .stdout_has("stock");
}

#[test]
fn show_lists_params_steps_and_plugins() {
    let p = Project::new();
    p.runbook(
        "mine",
        "runbook mine version=1 {\n    param branch default=\"main\" help=\"git branch\"\n    step a uses=exec target=local { run \"true\"; }\n    step b uses=http-check { url \"http://127.0.0.1:1/\"; }\n}\n",
    );
    p.cairn(&["show", "mine"])
        .success()
        .stdout_has("branch")
        .stdout_has("git branch")
        .stdout_has("exec@")
        .stdout_has("http-check@");
}

#[test]
fn plugin_list_and_inspect_show_the_stock_set() {
    let p = Project::new();
    p.cairn(&["plugin", "list"])
        .success()
        .stdout_has("exec")
        .stdout_has("http-check");
    p.cairn(&["plugin", "inspect", "exec"])
        .success()
        .stdout_has("sha256")
        .stdout_has("exec *");
    p.cairn(&["plugin", "inspect", "nope"])
        .code(2)
        .stderr_has("unknown plugin `nope`");
}

#[test]
fn completions_are_printed() {
    let p = Project::new();
    p.cairn(&["completions", "bash"])
        .success()
        .stdout_has("cairn");
}

#[test]
fn the_project_is_found_upward_or_with_dash_c() {
    let p = Project::new();
    p.runbook(
        "mine",
        "runbook mine version=1 {\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    std::fs::create_dir_all(p.join("deep/er")).unwrap();
    let out = p
        .cmd()
        .current_dir(p.join("deep/er"))
        .arg("list")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("mine"));
    let elsewhere = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(elsewhere.path())
        .args(["-C", p.path().to_str().unwrap(), "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("mine"));
}

#[test]
fn the_stock_disk_triage_runbook_runs_on_the_embedded_defaults() {
    // No cairn.kdl anywhere: the embedded defaults apply.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/big.bin"), vec![0u8; 2 << 20]).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args([
            "--json",
            "run",
            "disk-triage",
            "-p",
            "path=data",
            "-p",
            "min-size=1M",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "step-finished" && e["step"] == "biggest-files")
        .unwrap();
    assert!(
        files["outputs"]["stdout"]
            .as_str()
            .unwrap()
            .contains("big.bin"),
        "{files}"
    );
}
