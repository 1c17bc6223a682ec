//! `tracing` spans for the run, each step, each plugin call and a line per
//! host call, shown with `CAIRN_LOG` (or `RUST_LOG`) on stderr, the `--json`
//! event stream on stdout unchanged.

use crate::Project;

fn project() -> Project {
    let p = Project::new();
    p.runbook(
        "traced",
        "runbook traced version=1 {\n    step hello uses=exec {\n        run echo hi\n        effect read\n    }\n}\n",
    );
    p
}

fn events(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON event per line");
            v["event"].as_str().unwrap_or("").to_string()
        })
        .collect()
}

#[test]
fn runs_steps_plugin_and_host_calls_are_spans_with_ids_and_durations() {
    let p = project();
    let out = p
        .cmd()
        .args(["--json", "run", "traced"])
        .env("CAIRN_LOG", "cairn=debug")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let run_id = stdout
        .lines()
        .find_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            v["run_id"].as_str().map(str::to_string)
        })
        .expect("a run id in the events");
    let host_call = err
        .lines()
        .find(|l| l.contains("cairn::host_call"))
        .unwrap_or_else(|| panic!("no host call line:\n{err}"));
    for part in [
        format!("run{{run_id={run_id} runbook=traced"),
        "step{step=hello phase=Main plugin=exec target=local".to_string(),
        "plugin_call{plugin=exec action=run".to_string(),
        "capability=exec".to_string(),
        "effect=read".to_string(),
    ] {
        assert!(host_call.contains(&part), "{part} missing in: {host_call}");
    }
    for span in [
        "cairn::engine: close",
        "cairn::engine::step: close",
        "cairn::runtime: close",
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(span))
            .unwrap_or_else(|| panic!("no `{span}` line:\n{err}"));
        assert!(line.contains("duration_ms="), "{line}");
    }

    // The same run without logging writes the same events on stdout.
    let plain = p.cmd().args(["--json", "run", "traced"]).output().unwrap();
    assert_eq!(
        events(&String::from_utf8_lossy(&plain.stdout)),
        events(&stdout)
    );
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("cairn::host_call"));
}

#[test]
fn rust_log_is_honoured_too() {
    let p = project();
    let out = p
        .cmd()
        .args(["run", "traced"])
        .env("RUST_LOG", "cairn=debug")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("cairn::host_call"));
}
