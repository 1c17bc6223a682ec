//! `-p` values that are odd but possible: newlines, a value of 120 KB (near
//! the kernel's 128 KiB limit for one argument), bytes that are not UTF-8.
//! Each reaches the step byte for byte, or is refused with a clear error.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::{bounded, wait_bounded};
use crate::Project;
use crate::harness::Run;

const ECHO: &str = r#"runbook echo version=1 {
    param v
    step write uses=exec {
        run "sh" "-c" "printf %s \"$1\" > out" "sh" "{{ params.v }}"
        cwd "{{ project.root }}"
    }
}
"#;

#[test]
fn newlines_and_a_120_kb_value_reach_the_step_byte_for_byte() {
    let p = Project::new();
    p.runbook("echo", ECHO);
    for value in [
        "line one\nline two\n\ttabbed\r\n".to_string(),
        "é{{ not a reference }}\u{1}".to_string(),
        "x".repeat(120_000),
    ] {
        bounded(&p, &["run", "echo", "-p", &format!("v={value}")]).success();
        let out = std::fs::read_to_string(p.join("out")).expect("out");
        assert!(
            out == value,
            "the value changed on its way ({} bytes)",
            out.len()
        );
    }
}

#[test]
fn a_value_that_is_not_utf8_is_refused_with_a_clear_error() {
    let p = Project::new();
    p.runbook("echo", ECHO);
    let child = p
        .cmd()
        .args([OsStr::new("run"), OsStr::new("echo"), OsStr::new("-p")])
        .arg(OsStr::from_bytes(b"v=caf\xe9"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start cairn");
    let r = Run::new(
        &["run", "echo", "-p", "v=caf\\xe9"],
        wait_bounded(child, &["run"]),
    );
    super::no_crash(&r);
    r.code(2).stderr_has("UTF-8");
    assert!(!p.join("out").exists(), "nothing ran");
}
