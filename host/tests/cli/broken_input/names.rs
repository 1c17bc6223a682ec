//! Link loops in the runbook directory or in a `use` chain, and two files
//! that declare the same runbook name.

use std::os::unix::fs::symlink;

use super::bounded;
use crate::Project;

const A: &str = "runbook a version=1 {\n    step a uses=exec { run \"true\"; }\n}\n";

#[test]
fn a_link_loop_in_the_runbook_directory_is_walked_once() {
    let p = Project::new();
    p.runbook("a", A);
    std::fs::create_dir_all(p.join("runbooks/sub")).expect("mkdir");
    symlink("..", p.join("runbooks/sub/up")).expect("symlink");
    symlink(".", p.join("runbooks/here")).expect("symlink");
    symlink("sub", p.join("runbooks/sub2")).expect("symlink");
    let r = bounded(&p, &["list"]);
    r.success();
    let rows = r.stdout.lines().filter(|l| l.starts_with("a ")).count();
    assert_eq!(rows, 1, "the runbook is listed once:\n{}", r.stdout);
    bounded(&p, &["run", "a"]).success();
}

#[test]
fn a_use_through_a_link_loop_or_back_to_itself_is_reported() {
    let p = Project::new();
    p.runbook(
        "a",
        "runbook a version=1 {\n    use \"runbooks/loop.kdl\"\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    symlink("loop.kdl", p.join("runbooks/loop.kdl")).expect("symlink");
    bounded(&p, &["validate", "a"])
        .code(2)
        .stderr_has("cannot read `runbooks/loop.kdl`")
        .stderr_has("symbolic links");
    std::fs::remove_file(p.join("runbooks/loop.kdl")).expect("rm");
    // b.kdl is a link to a.kdl, which uses it: a cycle.
    p.runbook(
        "a",
        "runbook a version=1 {\n    use \"runbooks/b.kdl\"\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    symlink("a.kdl", p.join("runbooks/b.kdl")).expect("symlink");
    bounded(&p, &["validate", "a"])
        .code(2)
        .stderr_has("`use` cycle");
}

#[test]
fn a_use_chain_deeper_than_16_files_is_refused() {
    let p = Project::new();
    for i in 0..40 {
        p.file(
            &format!("lib/u{i}.kdl"),
            &format!(
                "runbook u{i} version=1 {{\n    use \"lib/u{}.kdl\"\n    step s{i} uses=exec {{ run \"true\"; }}\n}}\n",
                i + 1
            ),
        );
    }
    p.file(
        "lib/u40.kdl",
        "runbook u40 version=1 {\n    step s40 uses=exec { run \"true\"; }\n}\n",
    );
    p.runbook(
        "a",
        "runbook a version=1 {\n    use \"lib/u0.kdl\"\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    bounded(&p, &["validate", "a"])
        .code(2)
        .stderr_has("`use` chains more than 16 files deep");
}

#[test]
fn two_runbooks_with_the_same_name_are_both_reported() {
    let p = Project::new();
    p.runbook("first", &A.replace("runbook a", "runbook same"));
    p.runbook("second", &A.replace("runbook a", "runbook same"));
    for args in [&["run", "same"][..], &["validate", "same"], &["validate"]] {
        bounded(&p, args)
            .code(2)
            .stderr_has("runbook `same` is declared twice")
            .stderr_has("runbooks/first.kdl")
            .stderr_has("runbooks/second.kdl");
    }
    assert!(!p.join(".cairn/runs").exists(), "nothing ran");
    // A link to a runbook file is the same runbook, not a second one.
    std::fs::remove_file(p.join("runbooks/second.kdl")).expect("rm");
    symlink("first.kdl", p.join("runbooks/second.kdl")).expect("symlink");
    bounded(&p, &["run", "same"]).success();
    bounded(&p, &["validate"]).success();
}
