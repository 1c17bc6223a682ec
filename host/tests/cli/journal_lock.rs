//! The journal, history, log, and the one-run-at-a-time lock.

use crate::Project;

const TWO: &str = r#"
runbook two version=4 {
    step a uses=exec { run echo "alpha"; effect read; }
    step b uses=exec { run echo "beta"; effect read; }
}
"#;

#[test]
fn the_journal_records_every_event_in_order() {
    let p = Project::new();
    p.runbook("two", TWO);
    p.cairn(&["run", "two"]).success();
    let events = p.last_journal();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"run-started"));
    assert_eq!(kinds.last(), Some(&"run-finished"));
    assert_eq!(kinds.iter().filter(|k| **k == "step-finished").count(), 2);
    let start = &events[0];
    assert_eq!(start["runbook"], "two");
    assert_eq!(start["version"], 4);
    assert_eq!(start["sha256"].as_str().unwrap().len(), 64);
    assert!(events.iter().all(|e| e["ts"].is_string()));
}

#[test]
fn history_and_log_show_past_runs() {
    let p = Project::new();
    p.runbook("two", TWO);
    p.runbook(
        "bad",
        "runbook bad version=1 {\n    step x uses=exec { run \"false\"; }\n}\n",
    );
    p.cairn(&["run", "two"]).success();
    p.cairn(&["run", "bad"]).code(1);
    p.cairn(&["run", "two", "--dry-run"]).success();
    let h = p.cairn(&["history"]);
    h.success()
        .stdout_has("two@4")
        .stdout_has("bad@1")
        .stdout_has("failed")
        .stdout_has("dry-run");
    let filtered = p.cairn(&["history", "bad"]);
    filtered.stdout_lacks("two@4");
    let json = p.cairn(&["--json", "history"]);
    let runs: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 3);
    let id = runs[0]["id"].as_str().unwrap().to_string();
    p.cairn(&["log", &id])
        .success()
        .stdout_has("alpha")
        .stdout_has("end succeeded");
    p.cairn(&["log", "no-such-run"]).code(2);
}

#[test]
fn a_second_run_fails_fast_naming_the_holder() {
    let p = Project::new();
    p.runbook("two", TWO);
    p.runbook(
        "hold",
        "runbook hold version=1 {\n    step wait uses=exec {\n        run sh \"-c\" \"touch waiting; while [ ! -f go ]; do sleep 0.02; done\"\n        cwd \"{{ project.root }}\"\n    }\n}\n",
    );
    // A run holds the lock while its step waits.
    let mut holder = p
        .cmd()
        .args(["run", "hold"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !p.join("waiting").exists() {
        if std::time::Instant::now() > deadline {
            let _ = holder.kill();
            let _ = holder.wait();
            panic!("the holding run did not start");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = p.cairn(&["run", "two"]);
    // A dry-run changes nothing and does not need the lock.
    let dry = p.cairn(&["run", "two", "--dry-run"]);
    std::fs::write(p.join("go"), "").unwrap();
    let held = holder.wait().unwrap();
    second
        .code(3)
        .stderr_has("another run holds the project lock")
        .stderr_has("of `hold`")
        .stderr_has(&format!("pid {}", holder.id()));
    dry.success();
    assert!(held.success());
    // Released at the end: the next run takes it without a word about a
    // stale lock.
    p.cairn(&["run", "two"])
        .success()
        .stdout_lacks("stale lock");
}

#[test]
fn a_lock_left_by_a_killed_run_is_taken_over_with_a_warning() {
    let p = Project::new();
    p.runbook("two", TWO);
    // What a killed run leaves: its details in the file, no lock held.
    let lock = serde_json::json!({"pid": 99_999_999u32, "run_id": "20260101-000000-beef", "runbook": "deploy", "started": "2026-01-01T00:00:00Z"});
    std::fs::create_dir_all(p.join(".cairn")).unwrap();
    std::fs::write(p.join(".cairn/lock"), lock.to_string()).unwrap();
    p.cairn(&["run", "two"])
        .success()
        .stdout_has("stale lock")
        .stdout_has("20260101-000000-beef");
}

#[test]
fn json_output_is_one_event_per_line() {
    let p = Project::new();
    p.runbook("two", TWO);
    let r = p.cairn(&["--json", "run", "two"]);
    r.success();
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.first().unwrap()["event"], "run-started");
    assert_eq!(lines.last().unwrap()["event"], "run-finished");
    assert_eq!(lines.last().unwrap()["result"], "success");
}

#[test]
fn compiled_components_are_cached_by_digest_and_a_corrupt_entry_is_replaced() {
    // A project plugin (the stock `noop` component, as a file of the
    // project's plugins/): the stock plugins themselves come precompiled
    // and never touch the cache.
    let p = Project::with_config("project test-site {\n    plugins { dir plugins }\n}\n");
    let noop = cairn::runtime::catalog::stock_plugins()
        .iter()
        .find(|s| s.name == "noop")
        .unwrap();
    std::fs::create_dir_all(p.join("plugins")).unwrap();
    std::fs::write(p.join("plugins/noop.wasm"), noop.wasm).unwrap();
    p.runbook(
        "two",
        "runbook two version=1 {\n    step a uses=noop\n    step b uses=noop\n}\n",
    );
    p.cairn(&["run", "two"]).success();
    let cache = p.join(".cairn/cache");
    let entries: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "one compiled component (the project's noop): {entries:?}"
    );
    let name = entries[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        name.split('-').next().unwrap().len(),
        64,
        "named by sha256: {name}"
    );
    std::fs::write(&entries[0], b"garbage").unwrap();
    p.cairn(&["run", "two"]).success();
    assert!(
        std::fs::metadata(&entries[0]).unwrap().len() > 1000,
        "recompiled and rewritten"
    );
}
