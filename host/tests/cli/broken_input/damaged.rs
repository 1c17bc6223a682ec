//! Files cairn wrote, damaged by hand or by a crash: a journal torn in its
//! last record, a `cairn.lock` edited into nonsense, a `.cairn` that is not
//! a directory. A clear message, no panic, nothing stored lost.

use super::bounded;
use crate::Project;

const THREE: &str = r#"runbook three version=1 {
    step a uses=exec { run sh "-c" "echo a >> counted"; cwd "{{ project.root }}"; }
    step b uses=exec { run sh "-c" "echo b >> counted"; cwd "{{ project.root }}"; }
    step c uses=exec { run sh "-c" "echo c >> counted"; cwd "{{ project.root }}"; }
}
"#;

fn only_run_dir(p: &Project) -> std::path::PathBuf {
    let mut dirs: Vec<_> = std::fs::read_dir(p.join(".cairn/runs"))
        .expect("runs")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs.remove(0)
}

#[test]
fn a_journal_torn_in_its_last_record_resumes_after_its_last_complete_one() {
    let p = Project::new();
    p.runbook("three", THREE);
    bounded(&p, &["run", "three"]).success();
    let dir = only_run_dir(&p);
    let journal = dir.join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).expect("journal");
    // Keep every record up to step `b`'s end, then half of the next one:
    // the run looks killed while step `c` was starting.
    let lines: Vec<&str> = text.lines().collect();
    let b_end = lines
        .iter()
        .position(|l| l.contains("\"step-finished\"") && l.contains("\"step\":\"b\""))
        .unwrap_or_else(|| panic!("no end of step b in\n{text}"));
    let mut torn: String = lines[..=b_end].iter().map(|l| format!("{l}\n")).collect();
    let next = lines[b_end + 1];
    torn.push_str(&next[..next.len() / 2]);
    std::fs::write(&journal, &torn).expect("tear the journal");

    let history = bounded(&p, &["--json", "history"]);
    let runs: serde_json::Value = serde_json::from_str(&history.stdout).expect("history json");
    assert_eq!(runs[0]["result"], "interrupted", "{}", history.stdout);
    let id = runs[0]["id"].as_str().expect("id").to_string();
    bounded(&p, &["resume", &id]).success();
    assert_eq!(
        std::fs::read_to_string(p.join("counted")).expect("counted"),
        "a\nb\nc\nc\n",
        "a and b are not run again"
    );
    // What was stored stays; every record after the torn one is whole.
    let after = std::fs::read_to_string(&journal).expect("journal");
    assert!(after.starts_with(&torn), "the stored records are kept");
    let appended = &after[torn.len()..];
    assert!(appended.starts_with('\n'), "the torn record is ended");
    for line in appended.lines().filter(|l| !l.is_empty()) {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("a record after the torn one is damaged ({e}): {line}"));
    }
    assert!(appended.contains("\"run-resumed\""), "{appended}");
    let runs: serde_json::Value =
        serde_json::from_str(&bounded(&p, &["--json", "history"]).stdout).expect("json");
    assert_eq!(runs[0]["result"], "success");
}

#[test]
fn a_nonsense_cairn_lock_is_refused_with_its_place_and_kept() {
    let p = Project::new();
    p.runbook("three", THREE);
    let nonsense = "{\"version\": 1, \"plugins\": [ {\"name\": 7 ]\n";
    p.file("cairn.lock", nonsense);
    let r = bounded(&p, &["run", "three"]);
    assert_ne!(r.out.status.code(), Some(0), "{}", r.stderr);
    r.stderr_has("cairn.lock:1:");
    assert!(!p.join("counted").exists(), "nothing ran");
    assert_eq!(
        std::fs::read_to_string(p.join("cairn.lock")).expect("lock"),
        nonsense,
        "the lock file is not overwritten"
    );
    p.file("cairn.lock", "\u{0}\u{1}garbage");
    let r = bounded(&p, &["lock"]);
    assert_ne!(r.out.status.code(), Some(0), "{}", r.stderr);
    r.stderr_has("cairn.lock");
}

#[test]
fn a_state_dir_that_is_not_a_directory_is_a_clear_error() {
    let p = Project::new();
    p.runbook("three", THREE);
    p.file(".cairn", "not a directory");
    let r = bounded(&p, &["run", "three"]);
    assert_ne!(r.out.status.code(), Some(0), "{}", r.stderr);
    r.stderr_has("cannot take the project lock")
        .stderr_has(".cairn` is not a directory");
    assert!(!p.join("counted").exists(), "nothing ran");
    assert_eq!(
        std::fs::read_to_string(p.join(".cairn")).expect(".cairn"),
        "not a directory"
    );
}
