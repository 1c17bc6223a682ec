//! The journal records a resume trusts reach the disk: the end of each step
//! that performed a write, and the run's verdict, are followed by an
//! `fdatasync` of the journal; steps that only read cost none. Counted with
//! strace (installed by the lab).

use crate::Project;

#[test]
fn the_end_of_each_writing_step_and_the_verdict_of_a_writing_run_are_synced() {
    if std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but strace is missing (tests/lab/up installs it)"
        );
        eprintln!("skipped: no strace");
        return;
    }
    let p = Project::new();
    p.runbook(
        "mixed",
        "runbook mixed version=1 {\n    step r1 uses=exec {\n        run \"true\"\n        effect read\n    }\n    step w1 uses=exec {\n        run \"true\"\n    }\n    step r2 uses=exec {\n        run \"true\"\n        effect read\n    }\n    step w2 uses=exec {\n        run \"true\"\n    }\n    step r3 uses=noop\n}\n",
    );
    let trace = p.join("trace.txt");
    let out = std::process::Command::new("strace")
        .args(["-f", "-qq", "-y", "-e", "trace=fdatasync,fsync", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_cairn"))
        .args(["run", "mixed"])
        .current_dir(p.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&trace).unwrap();
    let synced: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("journal.jsonl"))
        .collect();
    assert_eq!(
        synced.len(),
        3,
        "two writing steps and the verdict:\n{text}"
    );

    // A dry-run writes nothing, and a run whose steps only read has nothing
    // a crash could make it repeat to harm: neither syncs anything, not
    // even its verdict.
    p.runbook(
        "reads",
        "runbook reads version=1 {\n    step r1 uses=exec {\n        run \"true\"\n        effect read\n    }\n    step r2 uses=noop\n}\n",
    );
    for args in [&["run", "mixed", "--dry-run"][..], &["run", "reads"]] {
        let out = std::process::Command::new("strace")
            .args(["-f", "-qq", "-y", "-e", "trace=fdatasync,fsync", "-o"])
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_cairn"))
            .args(args)
            .current_dir(p.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = std::fs::read_to_string(&trace).unwrap();
        assert_eq!(
            text.lines().filter(|l| l.contains("journal.jsonl")).count(),
            0,
            "{args:?}: {text}"
        );
    }
}
