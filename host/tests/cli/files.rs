//! `files` grants: the directories a plugin may see, as WASI preopens.

use std::path::Path;

use crate::Project;

fn project() -> Option<Project> {
    let wasm = Path::new(env!("CAIRN_TEST_PLUGINS")).join("files-probe.wasm");
    if !wasm.is_file() {
        eprintln!("skipped: no test plugin `{}`", wasm.display());
        return None;
    }
    let p = Project::with_config(
        "project files-test {\n    plugins { dir \"plugins\"; }\n    grant plugin=files-probe { files \"data\"; }\n}\n",
    );
    std::fs::create_dir_all(p.join("plugins")).unwrap();
    std::fs::copy(&wasm, p.join("plugins/files-probe.wasm")).unwrap();
    p.file("data/in.txt", "hello from data");
    p.file("secret.txt", "not granted");
    p.runbook(
        "files",
        r#"
runbook files version=1 {
    step read uses=files-probe action=read { path "data/in.txt"; }
    step write uses=files-probe action=write {
        path "data/out.txt"
        content "written by the plugin"
    }
}
"#,
    );
    Some(p)
}

#[test]
fn a_granted_directory_is_readable_and_writable() {
    let Some(p) = project() else { return };
    p.cairn(&["run", "files"]).success();
    let events = p.last_journal();
    let read = events
        .iter()
        .find(|e| e["event"] == "step-finished" && e["step"] == "read")
        .unwrap();
    assert_eq!(read["outputs"]["text"], "hello from data");
    assert_eq!(
        std::fs::read_to_string(p.join("data/out.txt")).unwrap(),
        "written by the plugin"
    );
}

#[test]
fn nothing_outside_the_granted_directory_is_visible() {
    let Some(p) = project() else { return };
    for path in [
        "secret.txt",
        "data/../secret.txt",
        "/etc/passwd",
        "cairn.kdl",
    ] {
        p.runbook(
            "peek",
            &format!("runbook peek version=1 {{\n    step peek uses=files-probe action=read {{ path \"{path}\"; }}\n}}\n"),
        );
        p.cairn(&["run", "peek"]).code(1).stdout_has("cannot read");
    }
}

#[test]
fn in_a_dry_run_the_granted_directory_is_read_only() {
    let Some(p) = project() else { return };
    p.cairn(&["run", "files", "--dry-run"])
        .code(1)
        .stdout_has("cannot write");
    assert!(!p.join("data/out.txt").exists(), "a dry-run changed a file");
}
