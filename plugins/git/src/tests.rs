use super::Git;
use super::export::refusal;
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::json;

const OLD: &str = "1111111111111111111111111111111111111111";
const NEW: &str = "2222222222222222222222222222222222222222";

/// A repository at OLD on `main`, with `origin/main` at NEW and `status`
/// answering `porcelain`.
fn repo(porcelain: &'static str) -> MockHost {
    let mut head = OLD;
    MockHost::new().on_exec(move |cmd| {
        let a: Vec<&str> = cmd.args.iter().map(String::as_str).collect();
        Ok(match &a[2..] {
            ["rev-parse", "--verify", "HEAD"] => Completed::ok(format!("{head}\n")),
            ["symbolic-ref", ..] => Completed::ok("main\n"),
            ["status", ..] => Completed::ok(porcelain),
            ["rev-parse", "--verify", "--quiet", "--end-of-options", spec] => {
                if *spec == "origin/main^{commit}" {
                    Completed::ok(format!("{NEW}\n"))
                } else {
                    Completed::new(1, "", "")
                }
            }
            ["checkout", "--quiet", "--detach", to, "--"] => {
                head = if *to == NEW { NEW } else { OLD };
                Completed::ok("")
            }
            _ => Completed::new(99, "", format!("unexpected {a:?}")),
        })
    })
}

fn run(host: &MockHost, action: &str, args: serde_json::Value) -> Result<Outputs, PluginError> {
    host.invoke::<Git>(&Context::for_test(), action, args)
}

#[test]
fn describes_itself() {
    let d = Git::describe();
    assert_eq!(d.name, "git");
    assert_eq!(d.capabilities[0].values, ["git", "sh"]);
    let names: Vec<&str> = d.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["revision", "fetch", "checkout", "export", "remove-export"]
    );
}

#[test]
fn revision_reads_commit_branch_and_changes() {
    let host = repo(" M app/views.py\n");
    let out = run(&host, "revision", json!({ "dir": "/srv/site" })).unwrap();
    assert_eq!(out["commit"], OLD);
    assert_eq!(out["short"], &OLD[..12]);
    assert_eq!(out["branch"], "main");
    assert_eq!(out["dirty"], true);
    assert_eq!(out["changes"], json!([" M app/views.py"]));
    assert!(host.commands().iter().all(|c| c.effect == Effect::Read));
    assert_eq!(host.commands()[0].args[..2], ["-C", "/srv/site"]);
}

#[test]
fn checkout_refuses_local_changes_and_checks_nothing_out() {
    let host = repo(" M app/views.py\nM  app/models.py\n");
    let e = run(
        &host,
        "checkout",
        json!({ "dir": "/srv/site", "ref": "origin/main" }),
    )
    .unwrap_err();
    assert!(
        e.message.contains("local changes to 2 tracked file(s)"),
        "{e}"
    );
    assert!(e.message.contains("allow-dirty #true"), "{e}");
    assert!(e.message.contains("M app/views.py"), "{e}");
    assert!(host.commands().iter().all(|c| c.args[2] != "checkout"));
}

#[test]
fn checkout_returns_the_previous_and_the_new_commit() {
    let host = repo("");
    let out = run(
        &host,
        "checkout",
        json!({ "dir": "/srv/site", "ref": "origin/main" }),
    )
    .unwrap();
    assert_eq!(out["previous"], OLD);
    assert_eq!(out["previous-branch"], "main");
    assert_eq!(out["current"], NEW);
    assert_eq!(out["changed"], true);
    let co = host
        .commands()
        .into_iter()
        .find(|c| c.args[2] == "checkout")
        .unwrap();
    assert_eq!(co.args[2..], ["checkout", "--quiet", "--detach", NEW, "--"]);
    assert_eq!(co.effect, Effect::Write);
}

#[test]
fn checkout_over_local_changes_when_told() {
    let host = repo(" M app/views.py\n");
    let out = run(
        &host,
        "checkout",
        json!({ "dir": "/srv/site", "ref": "origin/main", "allow-dirty": true }),
    )
    .unwrap();
    assert_eq!(out["current"], NEW);
}

#[test]
fn a_checkout_that_did_not_land_fails() {
    // `checkout` exits 0 but HEAD stays where it was.
    let host = MockHost::new().on_exec(|cmd| {
        Ok(match cmd.args[2].as_str() {
            "rev-parse" if cmd.args[4] == "HEAD" => Completed::ok(OLD),
            "rev-parse" => Completed::ok(NEW),
            "symbolic-ref" => Completed::ok("main"),
            _ => Completed::ok(""),
        })
    });
    let e = run(
        &host,
        "checkout",
        json!({ "dir": "/srv/site", "ref": "v2" }),
    )
    .unwrap_err();
    assert!(
        e.message.contains(&format!("after checking out {NEW}")),
        "{e}"
    );
}

#[test]
fn a_dry_run_checkout_says_where_it_would_go() {
    let host = MockHost::new().dry_run();
    let host = host.on_exec(|cmd| {
        Ok(match cmd.args[2].as_str() {
            "rev-parse" if cmd.args[3] == "--verify" && cmd.args[4] == "HEAD" => Completed::ok(OLD),
            "rev-parse" => Completed::ok(NEW),
            "symbolic-ref" => Completed::new(1, "", ""),
            _ => Completed::ok(""),
        })
    });
    let out = run(
        &host,
        "checkout",
        json!({ "dir": "/srv/site", "ref": "v2" }),
    )
    .unwrap();
    assert_eq!(out["planned"], true);
    assert_eq!(
        (out["previous"].as_str(), out["current"].as_str()),
        (Some(OLD), Some(NEW))
    );
}

#[test]
fn an_unknown_revision_is_an_argument_error() {
    let host = repo("");
    let e = run(
        &host,
        "checkout",
        json!({ "dir": "/srv/site", "ref": "nope" }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("ref"));
    assert!(e.message.contains("`nope` names no commit"), "{e}");
    let e = run(
        &host,
        "checkout",
        json!({ "dir": "/srv/site", "ref": "--force" }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("ref"));
    let e = run(&host, "checkout", json!({ "dir": "", "ref": "x" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("dir"));
}

#[test]
fn export_marks_its_directory_with_the_run_and_reads_only() {
    let host = MockHost::new()
        .exec_returns(Completed::ok(format!("{NEW}\n")))
        .exec_returns(Completed::ok("/tmp/cairn-tree.abcd1234/tree\n"));
    let out = run(
        &host,
        "export",
        json!({ "dir": "/srv/site", "ref": "origin/main" }),
    )
    .unwrap();
    assert_eq!(out["dir"], "/tmp/cairn-tree.abcd1234/tree");
    assert_eq!(out["commit"], NEW);
    let cmds = host.commands();
    assert!(cmds.iter().all(|c| c.effect == Effect::Read));
    let sh = &cmds[1];
    assert_eq!(sh.program, "sh");
    assert_eq!(sh.args[..3], ["-s", "/srv/site", NEW]);
    assert!(
        sh.stdin
            .as_deref()
            .is_some_and(|s| s.starts_with(b"set -u"))
    );
    assert_eq!(
        sh.args[4],
        format!("cairn git export run=test-run step=test-step commit={NEW}")
    );
}

#[test]
fn only_a_tree_this_run_exported_is_removed() {
    let ours = format!("cairn git export run=r1 step=s commit={NEW}");
    assert_eq!(refusal("/tmp/cairn-tree.x1/tree", &ours, "r1"), None);
    let why = |dir: &str, marker: &str| refusal(dir, marker, "r1").unwrap_or_default();
    assert!(why("/srv/site", &ours).contains("does not end in `/tree`"));
    assert!(why("/srv/site/tree", &ours).contains("not in a directory made by `export`"));
    assert!(why("/cairn-tree.x/tree", &ours).contains("not in a directory made by"));
    assert!(why("/tmp/cairn-tree.x1/tree", "").contains("no `cairn-owner` marker"));
    assert!(
        why(
            "/tmp/cairn-tree.x1/tree",
            "cairn git export run=r2 step=s commit=1"
        )
        .contains("another run")
    );
    // run=r1 is not a prefix match for run=r10.
    assert!(
        refusal(
            "/tmp/cairn-tree.x1/tree",
            "cairn git export run=r10 step=s",
            "r1"
        )
        .is_some()
    );
}

#[test]
fn remove_export_refuses_an_unmarked_directory() {
    let host = MockHost::new().exec_returns(Completed::ok("dir=/srv/site/tree\n"));
    let e = run(&host, "remove-export", json!({ "dir": "/srv/site/tree" })).unwrap_err();
    assert!(e.message.contains("nothing was removed"), "{e}");
    assert_eq!(host.commands().len(), 1);
}

#[test]
fn remove_export_removes_the_marked_tree() {
    let host = MockHost::new()
        .exec_returns(Completed::ok(
            "dir=/tmp/cairn-tree.x1/tree\nmarker=cairn git export run=test-run step=a commit=1\n",
        ))
        .exec_returns(Completed::ok(""));
    let out = run(
        &host,
        "remove-export",
        json!({ "dir": "/tmp/cairn-tree.x1/tree" }),
    )
    .unwrap();
    assert_eq!(out["removed"], "/tmp/cairn-tree.x1");
    assert_eq!(host.commands()[1].args[3], "/tmp/cairn-tree.x1");
}

#[test]
fn a_dry_run_whose_reads_are_planned_too_plans_the_checkout() {
    // An undo step listed by a dry-run runs offline: its `ref` is a value
    // known only after the run and even the reads are planned.
    let host = MockHost::new()
        .dry_run()
        .on_exec(|_| Ok(Completed::planned()));
    let out = run(
        &host,
        "checkout",
        json!({ "dir": "/srv/site", "ref": "(known after the step runs)", "allow-dirty": true }),
    )
    .unwrap();
    assert_eq!(out["planned"], true);
    assert_eq!(out["current"], "(known after the step runs)");
}
