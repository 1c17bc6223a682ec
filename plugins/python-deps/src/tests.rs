use super::PythonDeps;
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::json;

fn run(host: &MockHost, ctx: &Context, args: serde_json::Value) -> Result<Outputs, PluginError> {
    host.invoke::<PythonDeps>(ctx, "install", args)
}

const BEFORE: &str = r#"[{"name":"Django","version":"5.1"},{"name":"pip","version":"24"}]"#;
const AFTER: &str = r#"[{"name":"Django","version":"5.2"},{"name":"asgiref","version":"3.8"},{"name":"pip","version":"24"}]"#;
/// What the pip snippet prints: pip's own lines, then the packages before
/// and after.
const PIP_RAN: &str = "Successfully installed Django-5.2 asgiref-3.8\nCAIRN-DEPS-JSON {\"before\": {\"Django\": \"5.1\", \"pip\": \"24\"}, \"after\": {\"Django\": \"5.2\", \"asgiref\": \"3.8\", \"pip\": \"24\"}}\n";

#[test]
fn describes_itself() {
    assert_eq!(PythonDeps::describe().name, "python-deps");
}

#[test]
fn installs_a_requirements_file_with_pip_and_reports_the_changes() {
    let host = MockHost::new()
        .exec_returns(Completed::ok("/srv/site/requirements.txt\n"))
        .exec_fails("exec: program `uv` not found on `local`")
        .exec_returns(Completed::ok(PIP_RAN));
    let out = run(
        &host,
        &Context::for_test(),
        json!({ "dir": "/srv/site", "venv": "/srv/site/venv", "pip-args": ["--no-index", "--find-links", "/w"] }),
    )
    .unwrap();
    assert_eq!(out["installer"], "pip");
    assert_eq!(out["requirements"], "/srv/site/requirements.txt");
    assert_eq!(
        (out["added"].as_u64(), out["upgraded"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        out["changes"][1],
        json!({ "name": "django", "from": "5.1", "to": "5.2" })
    );
    let cmds = host.commands();
    assert_eq!(
        cmds[0].args[3..],
        ["/srv/site/requirements.txt", "/srv/site/pyproject.toml"]
    );
    // No `pip list`: the snippet reads the packages around the install.
    assert_eq!(cmds.len(), 3);
    let install = &cmds[2];
    assert_eq!(install.program, "/srv/site/venv/bin/python");
    assert!(
        String::from_utf8_lossy(install.stdin.as_deref().unwrap_or_default())
            .contains("\"pip\", \"install\"")
    );
    assert_eq!(
        install.args,
        [
            "-",
            "-r",
            "/srv/site/requirements.txt",
            "--no-index",
            "--find-links",
            "/w"
        ]
    );
    assert_eq!(install.effect, Effect::Write);
}

#[test]
fn a_dry_run_asks_pip_for_a_report_and_installs_nothing() {
    let report = r#"{"install":[{"metadata":{"name":"django","version":"5.2"}}]}"#;
    let host = MockHost::new()
        .dry_run()
        .exec_returns(Completed::ok("/srv/site/requirements.txt\n"))
        .exec_returns(Completed::ok(BEFORE))
        .exec_returns(Completed::ok(report));
    let out = run(
        &host,
        &Context::for_test().with_mode(Mode::DryRun),
        json!({ "dir": "/srv/site", "venv": "/v", "installer": "pip" }),
    )
    .unwrap();
    assert_eq!(out["planned"], true);
    assert_eq!(
        out["changes"],
        json!([{ "name": "django", "from": "5.1", "to": "5.2" }])
    );
    let cmds = host.commands();
    assert!(cmds.iter().all(|c| c.effect == Effect::Read));
    assert_eq!(
        cmds[2].args[..7],
        [
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--report",
            "-"
        ]
    );
}

#[test]
fn a_pyproject_is_read_for_its_dependencies_under_pip_and_given_whole_to_uv() {
    let host = MockHost::new()
        .exec_returns(Completed::ok("/s/pyproject.toml\n"))
        .exec_returns(Completed::ok(r#"["django>=5.2", "asgiref"]"#))
        .exec_returns(Completed::ok(PIP_RAN));
    let out = run(
        &host,
        &Context::for_test(),
        json!({ "dir": "/s", "venv": "/v", "installer": "pip" }),
    )
    .unwrap();
    assert_eq!(host.commands()[2].args, ["-", "django>=5.2", "asgiref"]);
    assert_eq!(out["changed"], 2);

    let host = MockHost::new()
        .exec_returns(Completed::ok("/s/pyproject.toml\n"))
        .exec_returns(Completed::ok("uv 0.5.0"))
        .exec_returns(Completed::ok(BEFORE))
        .exec_returns(Completed::ok(""))
        .exec_returns(Completed::ok(AFTER));
    let out = run(
        &host,
        &Context::for_test(),
        json!({ "dir": "/s", "venv": "/v" }),
    )
    .unwrap();
    assert_eq!(out["installer"], "uv");
    assert_eq!(
        host.commands()[3].args,
        [
            "pip",
            "install",
            "--python",
            "/v/bin/python",
            "-r",
            "/s/pyproject.toml"
        ]
    );
}

#[test]
fn a_missing_file_and_bad_arguments_are_clear() {
    let host = MockHost::new().exec_returns(Completed::new(1, "", ""));
    let e = run(
        &host,
        &Context::for_test(),
        json!({ "dir": "/s", "venv": "/v" }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("dir"));
    assert!(
        e.message.contains("/s/requirements.txt, /s/pyproject.toml"),
        "{e}"
    );
    let e = run(&host, &Context::for_test(), json!({ "venv": "/v" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("requirements"));
    let e = run(
        &host,
        &Context::for_test(),
        json!({ "venv": "/v", "dir": "/s", "installer": "poetry" }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("installer"));
}

#[test]
fn a_failed_install_quotes_pip() {
    let host = MockHost::new()
        .exec_returns(Completed::ok("/s/requirements.txt\n"))
        .exec_returns(Completed::new(
            1,
            "",
            "ERROR: No matching distribution found for nope\n",
        ));
    let e = run(
        &host,
        &Context::for_test(),
        json!({ "dir": "/s", "venv": "/v", "installer": "pip" }),
    )
    .unwrap_err();
    assert!(
        e.message
            .contains("No matching distribution found for nope"),
        "{e}"
    );
}

#[test]
fn a_dry_run_whose_reads_are_planned_too_says_the_changes_are_not_known() {
    // An undo step listed by a dry-run runs offline: even its reads are
    // planned, so nothing is read and nothing fails.
    let host = MockHost::new()
        .dry_run()
        .on_exec(|_| Ok(Completed::planned()));
    let ctx = Context::for_test().with_mode(Mode::DryRun);
    let out = run(
        &host,
        &ctx,
        json!({ "dir": "/srv/site", "venv": "/srv/venv", "installer": "pip" }),
    )
    .unwrap();
    assert_eq!(out["planned"], true);
    assert_eq!(out["changes"], json!([]));
    assert_eq!(host.commands().len(), 1, "only the probe of the file");
}
