//! The demo project's backup and recovery rehearsal, and the stock DR
//! rehearsal: restore, compare, clean up.

use super::*;

/// The demo: `run backup`, then `rehearse dr-rehearsal`, in a copy.
#[test]
fn the_demo_backs_up_and_rehearses_its_recovery() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo");
    let dir = tempfile::Builder::new()
        .prefix("cairn-demo-")
        .tempdir()
        .unwrap();
    let ok = Command::new("cp")
        .arg("-R")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(ok.success());
    let _ = std::fs::remove_dir_all(dir.path().join(".cairn"));
    let cairn = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .arg("-C")
            .arg(dir.path())
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "cairn {args:?}:\n{text}");
        text
    };
    cairn(&["validate"]);
    cairn(&["run", "backup"]);
    let objects = files_under(&dir.path().join(".cairn/objects"));
    assert_eq!(objects.len(), 4, "{objects:?}");
    let out = cairn(&["rehearse", "dr-rehearsal"]);
    assert!(out.contains("every check passed"), "{out}");
    let runs = dir.path().join(".cairn/runs");
    let report = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("report.json"))
        .find(|r| r.is_file())
        .expect("report.json");
    assert!(report.with_file_name("report.md").is_file());
    let r: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(r["passed"], true, "{r:#}");
    assert_eq!(r["checks"].as_array().unwrap().len(), 2);
    assert!(r["backup"]["created"].as_str().unwrap().ends_with('Z'));
    assert!(
        !dir.path().join(".cairn/rehearsal").exists(),
        "scratch cleaned up"
    );
}

/// The stock `backup` then `cairn rehearse dr-rehearsal` against the lab:
/// a scratch database on the new server, compared with the primary, then
/// dropped.
#[test]
fn the_stock_dr_rehearsal_restores_compares_and_cleans_up() {
    let Some(lab) = lab() else { return };
    let p = Project::new();
    let db = unique("rehearsal");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={}", lab.primary),
        "-p",
        &format!("media-dir={}", lab.media),
    ])
    .success();
    let scratch_dir = p.join("scratch-media");
    p.cairn(&[
        "rehearse",
        "dr-rehearsal",
        "-p",
        &format!("source-url={}", lab.primary),
        "-p",
        &format!("server-url={}", lab.new_admin),
        "-p",
        &format!("database={db}"),
        "-p",
        "owner=cairn",
        "-p",
        &format!("media-dir={}", lab.media),
        "-p",
        &format!("restore-dir={}", scratch_dir.display()),
    ])
    .success()
    .stdout_has("every check passed")
    .stdout_has("tables,");
    let report = files_under(&p.join(".cairn/runs"))
        .into_iter()
        .find(|f| f.ends_with("report.json"))
        .expect("report.json");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(r["passed"], true, "{r:#}");
    let checks: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["rows-match", "files-match"]);
    assert!(r["backup"]["age_seconds"].as_i64().is_some(), "{r:#}");
    assert!(!databases(&lab.new_admin).contains(&db), "scratch dropped");
    assert!(!scratch_dir.exists(), "scratch directory removed");
}
