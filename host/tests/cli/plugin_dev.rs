//! `cairn plugin new`, `build` and `test`: a project's own plugins from
//! source, in Rust and in Python, up to a run and a dry-run of a runbook
//! that uses them; and `examples/own-plugins`, both languages side by side.
//!
//! The Rust plugins build with the real cargo (one target directory shared
//! by these tests); the Python ones with componentize-py, which `tests/run`
//! installs and names in `CAIRN_COMPONENTIZE_PY` (without it, the tests that
//! need it say so and skip).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{Project, Run};

/// A target directory shared by the Rust plugins of these tests, so that
/// the SDK's dependencies build once.
fn plugin_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-dev")
}

fn cairn(p: &Project, args: &[&str]) -> Run {
    let out = p
        .cmd()
        .env("CAIRN_PLUGIN_TARGET_DIR", plugin_target())
        .args(args)
        .output()
        .expect("run cairn");
    Run::new(args, out)
}

/// componentize-py, or `None` (and why) when this machine has none.
fn componentize_py() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CAIRN_COMPONENTIZE_PY") {
        return Some(PathBuf::from(p));
    }
    let found = std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("componentize-py"))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "skipped: no componentize-py (tests/run installs it; or `pip install componentize-py==0.25.1`)"
        );
    }
    found
}

/// Every value of `key` anywhere in the run's journal.
fn journal_values(p: &Project, key: &str) -> Vec<Value> {
    fn walk(v: &Value, key: &str, out: &mut Vec<Value>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == key {
                        out.push(v.clone());
                    }
                    walk(v, key, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, key, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for e in p.last_journal() {
        walk(&e, key, &mut out);
    }
    out
}

#[test]
fn plugin_new_refuses_a_bad_name_a_taken_one_and_no_project() {
    let p = Project::new();
    cairn(&p, &["plugin", "new", "Site_Cache"])
        .code(2)
        .stderr_has("`Site_Cache` is not a plugin name");
    cairn(&p, &["plugin", "new", "greeter"]).success();
    cairn(&p, &["plugin", "new", "greeter", "--lang", "python"])
        .code(2)
        .stderr_has("`plugins/greeter` exists already");
    cairn(&p, &["plugin", "build", "nothing"])
        .code(2)
        .stderr_has("no plugin sources in `plugins/nothing`");
    let empty = tempfile::tempdir().unwrap();
    let out = p
        .cmd()
        .current_dir(empty.path())
        .args(["plugin", "new", "greeter"])
        .output()
        .unwrap();
    let run = Run::new(&["plugin", "new", "greeter"], out);
    run.code(2).stderr_has("needs a project");
    assert!(!empty.path().join("plugins").exists());
}

#[test]
fn plugin_new_writes_the_plugin_its_runbook_and_its_grant() {
    let p = Project::with_config("project site {\n    target local { local }\n}\n");
    cairn(&p, &["plugin", "new", "site-cache", "--lang", "python"])
        .success()
        .stdout_has("plugins/site-cache/app.py")
        .stdout_has("runbooks/site-cache-hello.kdl");
    let kdl = std::fs::read_to_string(p.join("cairn.kdl")).unwrap();
    assert_eq!(
        kdl,
        "project site {\n    target local { local }\n    plugins { dir \"plugins\"; }\n    grant plugin=site-cache { exec \"echo\"; }\n}\n"
    );
    for f in [
        "app.py",
        "test_app.py",
        "cairn_sdk.py",
        "wit/cairn-plugin.wit",
    ] {
        assert!(p.join(&format!("plugins/site-cache/{f}")).is_file(), "{f}");
    }
    // The Python unit tests pass as written, with the plain interpreter.
    cairn(&p, &["plugin", "test", "site-cache"])
        .success()
        .stdout_has("plugin `site-cache`: tests passed");
    // A second plugin keeps the first one's grant and plugin directory.
    cairn(&p, &["plugin", "new", "other"]).success();
    let kdl2 = std::fs::read_to_string(p.join("cairn.kdl")).unwrap();
    assert_eq!(kdl2.matches("plugins {").count(), 1, "{kdl2}");
    assert!(
        kdl2.contains("grant plugin=other { exec \"echo\"; }"),
        "{kdl2}"
    );
}

#[test]
fn a_python_unit_test_that_fails_fails_plugin_test() {
    let p = Project::new();
    cairn(&p, &["plugin", "new", "greeter", "--lang", "python"]).success();
    let app = p.join("plugins/greeter/app.py");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(
        &app,
        text.replace("f\"hello, {args.who}\"", "f\"bye, {args.who}\""),
    )
    .unwrap();
    cairn(&p, &["plugin", "test", "greeter"])
        .code(1)
        .stderr_has("testing plugin `greeter`");
}

#[test]
fn a_rust_plugin_from_new_to_a_run_and_a_dry_run() {
    let p = Project::new();
    cairn(&p, &["plugin", "new", "greeter"]).success();
    let started = std::time::Instant::now();
    cairn(&p, &["plugin", "test", "greeter"])
        .success()
        .stdout_has("plugin `greeter`: tests passed");
    eprintln!(
        "rust: plugin test took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    // A runbook of another plugin, not built yet, does not stop the pin.
    cairn(&p, &["plugin", "new", "other", "--lang", "python"]).success();
    cairn(&p, &["plugin", "build", "greeter"])
        .success()
        .stdout_has("pinned greeter 0.1.0");
    assert!(p.join("plugins/greeter.wasm").is_file());
    let lock = std::fs::read_to_string(p.join("cairn.lock")).unwrap();
    assert!(lock.contains("greeter"), "{lock}");
    assert!(lock.contains("echo"), "{lock}");
    cairn(&p, &["plugin", "show", "greeter"])
        .success()
        .stdout_has("Who to greet.");
    // The args schema is checked before anything runs.
    p.runbook(
        "typo",
        "runbook typo version=1 {\n    step greet uses=greeter {\n        woh \"ops\"\n    }\n}\n",
    );
    cairn(&p, &["validate", "typo"])
        .code(2)
        .stderr_has("did you mean `who`");
    std::fs::remove_file(p.join("runbooks/typo.kdl")).unwrap();
    cairn(&p, &["run", "greeter-hello", "--dry-run"]).success();
    let outputs = journal_values(&p, "outputs");
    assert_eq!(
        outputs.iter().map(|o| &o["planned"]).collect::<Vec<_>>(),
        [&Value::Bool(true)],
        "{outputs:?}"
    );
    cairn(&p, &["run", "greeter-hello", "-p", "who=ops"]).success();
    assert_eq!(journal_values(&p, "greeting"), [Value::from("hello, ops")]);
    // A rebuilt plugin that changed renews its own pin.
    let lib = p.join("plugins/greeter/src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        text.replace("\"Greets someone\"", "\"Greets anyone\""),
    )
    .unwrap();
    cairn(&p, &["plugin", "build", "greeter"])
        .success()
        .stdout_has("updated: ");
    cairn(&p, &["run", "greeter-hello"]).success();
}

/// `examples/own-plugins`, copied: its Rust plugin's SDK path made absolute.
fn example() -> Project {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/own-plugins");
    let p = Project::new();
    copy_tree(&src, p.path(), &[".cairn", "target", "cairn.lock"]);
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    let cargo = p.join("plugins/greeter-rs/Cargo.toml");
    let text = std::fs::read_to_string(&cargo).unwrap();
    assert!(text.contains("path = \"../../../../sdk\""), "{text}");
    let text = text.replace(
        "../../../../sdk",
        &sdk.canonicalize().unwrap().display().to_string(),
    );
    std::fs::write(&cargo, text).unwrap();
    p
}

fn copy_tree(from: &Path, to: &Path, skip: &[&str]) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        if skip.iter().any(|s| name == *s) || name.to_string_lossy().ends_with(".wasm") {
            continue;
        }
        let dest = to.join(&name);
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&e.path(), &dest, skip);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn the_example_s_copies_of_the_python_sdk_and_the_wit_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let plugin = root.join("examples/own-plugins/plugins/greeter-py");
    for (copy, source) in [
        ("cairn_sdk.py", "sdk-python/cairn_sdk.py"),
        ("wit/cairn-plugin.wit", "wit/cairn-plugin.wit"),
    ] {
        assert_eq!(
            std::fs::read_to_string(plugin.join(copy)).unwrap(),
            std::fs::read_to_string(root.join(source)).unwrap(),
            "examples/own-plugins/plugins/greeter-py/{copy} differs from {source}"
        );
    }
}

#[test]
fn the_example_builds_and_runs_a_rust_and_a_python_plugin_side_by_side() {
    let Some(cpy) = componentize_py() else { return };
    let p = example();
    let ran = |args: &[&str]| {
        let out = p
            .cmd()
            .env("CAIRN_PLUGIN_TARGET_DIR", plugin_target())
            .env("CAIRN_COMPONENTIZE_PY", &cpy)
            .args(args)
            .output()
            .expect("run cairn");
        Run::new(args, out)
    };
    ran(&["plugin", "test"])
        .success()
        .stdout_has("plugin `greeter-py`: tests passed")
        .stdout_has("plugin `greeter-rs`: tests passed");
    let started = std::time::Instant::now();
    ran(&["plugin", "build"])
        .success()
        .stdout_has("pinned greeter-py 0.1.0")
        .stdout_has("pinned greeter-rs 0.1.0");
    eprintln!("both built in {:.1}s", started.elapsed().as_secs_f64());
    // The Python component is a component like any other: the first run
    // compiles it (and caches the compiled code), the second reuses that.
    let started = std::time::Instant::now();
    ran(&["run", "greet-both", "--dry-run"]).success();
    eprintln!(
        "first dry-run (compiles both) {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let outputs = journal_values(&p, "outputs");
    assert_eq!(
        outputs.iter().map(|o| &o["planned"]).collect::<Vec<_>>(),
        [&Value::Bool(true), &Value::Bool(true)],
        "{outputs:?}"
    );
    let started = std::time::Instant::now();
    ran(&["run", "greet-both", "-p", "who=ops"]).success();
    eprintln!("run (cached) {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(
        journal_values(&p, "greeting"),
        [
            Value::from("hello, ops"),
            Value::from("HELLO, OPS (AFTER HELLO, OPS)")
        ]
    );
    // The Python plugin gets the same grants as a Rust one: without its
    // grant, its `echo` is refused.
    let kdl = std::fs::read_to_string(p.join("cairn.kdl")).unwrap();
    std::fs::write(
        p.join("cairn.kdl"),
        kdl.replace("grant plugin=greeter-py { exec \"echo\"; }", ""),
    )
    .unwrap();
    ran(&["run", "greet-both", "--yes"])
        .code(3)
        .stderr_has("greeter-py");
}
