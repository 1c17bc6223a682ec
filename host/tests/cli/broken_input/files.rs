//! Runbooks and `cairn.kdl` that are not regular files (a FIFO, a device, a
//! directory) or are too large: refused with a clear error before anything
//! is read without end; invalid UTF-8 names the byte.

use std::process::Command;

use super::bounded;
use crate::Project;

pub(super) fn mkfifo(path: &std::path::Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(st.success(), "mkfifo {}", path.display());
}

#[test]
fn a_runbook_that_is_a_fifo_is_refused_without_blocking() {
    let p = Project::new();
    mkfifo(&p.join("runbooks/fifo.kdl"));
    bounded(&p, &["validate"])
        .code(2)
        .stderr_has("cannot read `runbooks/fifo.kdl`: it is a FIFO, not a regular file");
    bounded(&p, &["run", "fifo"])
        .code(2)
        .stderr_has("it is a FIFO");
}

#[test]
fn a_runbook_linked_to_dev_zero_is_refused_without_reading_it() {
    let p = Project::new();
    std::os::unix::fs::symlink("/dev/zero", p.join("runbooks/zero.kdl")).expect("symlink");
    bounded(&p, &["run", "zero"])
        .code(2)
        .stderr_has("cannot read `runbooks/zero.kdl`: it is a device, not a regular file");
    bounded(&p, &["list"]).success().stdout_has("invalid");
    bounded(&p, &["validate"]).code(2).stderr_has("a device");
}

#[test]
fn a_runbook_over_4_mib_is_refused_with_its_size() {
    let p = Project::new();
    let mut text =
        String::from("runbook big version=1 {\n    step a uses=exec { run \"true\"; }\n}\n");
    text.push_str(&"// padding\n".repeat(400_000));
    p.runbook("big", &text);
    bounded(&p, &["run", "big"])
        .code(2)
        .stderr_has("it is larger than 4 MiB (4400")
        .stderr_has("bytes)");
}

#[test]
fn a_project_file_over_4_mib_or_a_fifo_is_refused() {
    let mut config = String::from("project big {\n}\n");
    config.push_str(&"// padding\n".repeat(400_000));
    let p = Project::with_config(&config);
    bounded(&p, &["list"])
        .code(2)
        .stderr_has("cannot read `cairn.kdl`: it is larger than 4 MiB");
    std::fs::remove_file(p.join("cairn.kdl")).expect("rm");
    mkfifo(&p.join("cairn.kdl"));
    bounded(&p, &["list"]).code(2).stderr_has("cairn.kdl");
}

#[test]
fn a_runbook_given_by_path_that_is_a_directory_or_fifo_is_refused() {
    let p = Project::new();
    std::fs::create_dir_all(p.join("elsewhere/dir.kdl")).expect("mkdir");
    mkfifo(&p.join("elsewhere/fifo.kdl"));
    bounded(&p, &["run", "elsewhere/dir.kdl"]).code(2);
    bounded(&p, &["run", "elsewhere/fifo.kdl"]).code(2);
}

#[test]
fn a_runbook_that_is_not_utf8_names_the_first_bad_byte() {
    let p = Project::new();
    let text = b"runbook bad version=1 {\n    step a uses=exec { run \"caf\xe9\"; }\n}\n";
    let at = text.iter().position(|b| *b == 0xe9).expect("the bad byte");
    std::fs::write(p.join("runbooks/bad.kdl"), text).expect("write");
    bounded(&p, &["validate", "bad"])
        .code(2)
        .stderr_has(&format!(
            "`runbooks/bad.kdl` is not valid UTF-8 text (at byte {at})"
        ));
}
