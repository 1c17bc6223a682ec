//! list, show, plugin list/show/inspect, completions, project discovery, stock runbooks.

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
fn plugin_show_prints_each_action_s_arguments_with_their_help() {
    let p = Project::new();
    p.cairn(&["plugin", "show", "http-check"])
        .success()
        .stdout_has("check (default): ")
        .stdout_has("    url  a string, required")
        .stdout_has("    timeout  a duration");
    p.cairn(&["plugin", "show", "exec"])
        .success()
        .stdout_has("    run  a string or a list of strings, required\n        The program and its arguments.")
        .stdout_has("    effect  `read` or `write`");
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

#[test]
fn a_cold_run_uses_the_stock_plugins_precompiled_by_the_build() {
    // A fresh project: `.cairn/cache` is empty. The stock plugins' native
    // code comes from the build, so nothing is compiled: the cache receives
    // the build's artefacts as they are (the next run maps them from there),
    // where the fallback (compiling here) would write code of its own.
    let p = Project::new();
    p.runbook(
        "both",
        "runbook both version=1 {\n    step a uses=exec { run \"true\"; effect read; }\n    step b uses=noop\n}\n",
    );
    for _ in 0..2 {
        p.cairn(&["-vv", "run", "both"])
            .success()
            .stderr_has("plugin `exec` (stock): using the precompiled component built into cairn")
            .stderr_has("plugin `noop` (stock): using the precompiled component built into cairn");
        let mut cached: Vec<std::path::PathBuf> = std::fs::read_dir(p.join(".cairn/cache"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
            .collect();
        cached.sort();
        assert_eq!(cached.len(), 2, "{cached:?}");
        for name in ["exec", "noop"] {
            let stock = cairn::runtime::catalog::stock_plugins()
                .iter()
                .find(|s| s.name == name)
                .unwrap();
            let file = cached
                .iter()
                .find(|f| {
                    f.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with(stock.sha256)
                })
                .unwrap_or_else(|| panic!("{name} not in the cache: {cached:?}"));
            assert!(
                std::fs::read(file).unwrap() == stock.precompiled.unwrap(),
                "the cache holds other code than the build's for {name}"
            );
        }
    }
}

#[test]
fn a_runbook_is_found_by_its_declared_name_and_a_name_declared_twice_is_refused() {
    let p = Project::new();
    // `a.kdl` declares `b`: it is the runbook `b`, whatever its file is
    // called. With `b.kdl` declaring `b` too, neither wins: both are named.
    p.runbook(
        "a",
        "runbook b version=1 {\n    description \"from a.kdl\"\n    step s uses=noop\n}\n",
    );
    p.cairn(&["show", "b"]).success().stdout_has("from a.kdl");
    p.runbook(
        "b",
        "runbook b version=2 {\n    description \"from b.kdl\"\n    step s uses=noop\n}\n",
    );
    p.cairn(&["show", "b"])
        .code(2)
        .stderr_has("runbook `b` is declared twice")
        .stderr_has("runbooks/a.kdl")
        .stderr_has("runbooks/b.kdl");
    std::fs::remove_file(p.join("runbooks/b.kdl")).unwrap();
    // A project runbook shadows the stock one of the same name, whatever
    // its file is called, also when the name is spelt with an escape.
    p.file(
        "runbooks/triage.kdl",
        "runbook \"disk-tri\\u{61}ge\" version=9 {\n    description \"the project's own\"\n    step s uses=noop\n}\n",
    );
    p.cairn(&["show", "disk-triage"])
        .success()
        .stdout_has("the project's own");
    // A file named after the runbook that does not load: its errors.
    p.runbook("broken", "runbook broken {\n");
    p.cairn(&["run", "broken"]).code(2).stderr_has("broken.kdl");
    // Not found: a hint from every runbook's name.
    p.cairn(&["run", "disk-triag"])
        .code(2)
        .stderr_has("no runbook named `disk-triag` (did you mean `disk-triage`?)");
}
