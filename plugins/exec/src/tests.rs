use super::Exec;
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::json;
use std::time::Duration;

fn exec(host: &MockHost, args: serde_json::Value) -> Result<Outputs, PluginError> {
    host.invoke::<Exec>(&Context::for_test(), "run", args)
}

#[test]
fn describes_itself() {
    let d = Exec::describe();
    assert_eq!(d.name, "exec");
    assert_eq!(d.default_action.as_deref(), Some("run"));
    assert_eq!(d.capabilities[0].name, "exec");
    assert_eq!(d.capabilities[0].values, ["*"]);
    assert_eq!(d.args_schema["actions"]["run"]["required"], json!(["run"]));
}

#[test]
fn runs_the_command_with_everything_passed_through() {
    let host = MockHost::new().exec_returns(Completed::new(0, "abc123\n\n", "note\n"));
    let out = exec(
        &host,
        json!({
            "run": ["git", "-C", "/srv/hello", "rev-parse", "HEAD"],
            "effect": "read",
            "cwd": "/srv",
            "env": { "GIT_PAGER": "cat" },
            "stdin": "input",
            "timeout": "30s",
            "target": "db",
        }),
    )
    .unwrap();
    assert_eq!(out["stdout"], "abc123");
    assert_eq!(out["stderr"], "note\n");
    assert_eq!(out["status"], 0);
    assert_eq!(out["planned"], false);

    let cmd = &host.commands()[0];
    assert_eq!(cmd.program, "git");
    assert_eq!(cmd.args, ["-C", "/srv/hello", "rev-parse", "HEAD"]);
    assert_eq!(cmd.effect, Effect::Read);
    assert_eq!(cmd.cwd.as_deref(), Some("/srv"));
    assert_eq!(
        cmd.env,
        [("GIT_PAGER".to_string(), MaybeSecret::from("cat"))]
    );
    assert_eq!(cmd.stdin.as_deref(), Some(&b"input"[..]));
    assert_eq!(cmd.timeout, Some(Duration::from_secs(30)));
    assert_eq!(cmd.target.as_deref(), Some("db"));
}

#[test]
fn defaults_to_a_write_on_the_step_target() {
    let host = MockHost::new().exec_returns(Completed::ok(""));
    exec(&host, json!({ "run": "uptime" })).unwrap();
    let cmd = &host.commands()[0];
    assert_eq!((cmd.program.as_str(), cmd.args.len()), ("uptime", 0));
    assert_eq!(cmd.effect, Effect::Write);
    assert_eq!(cmd.target, None);
    assert!(cmd.env.is_empty());
}

#[test]
fn numbers_among_the_arguments_become_strings() {
    let host = MockHost::new().exec_returns(Completed::ok(""));
    exec(&host, json!({ "run": ["sleep", 5] })).unwrap();
    assert_eq!(host.commands()[0].args, ["5"]);
}

#[test]
fn a_dry_run_of_a_write_is_planned() {
    let host = MockHost::new().dry_run();
    let out = exec(&host, json!({ "run": ["systemctl", "restart", "app"] })).unwrap();
    assert_eq!(out["planned"], true);
    assert_eq!(out["stdout"], "");
    assert_eq!(host.commands().len(), 1);
}

#[test]
fn an_unexpected_status_fails_quoting_the_end_of_stderr() {
    let stderr: String = (1..=15).map(|i| format!("line {i}\n")).collect();
    let host = MockHost::new().exec_returns(Completed::new(128, "", stderr));
    let e = exec(&host, json!({ "run": ["git", "pull"] })).unwrap_err();
    assert_eq!(e.field, None);
    let expected = "command `git pull` exited with status 128 (expected 0)\nstderr:\n  line 6\n  line 7\n  line 8\n  line 9\n  line 10\n  line 11\n  line 12\n  line 13\n  line 14\n  line 15";
    assert_eq!(e.message, expected);
}

#[test]
fn stdout_is_quoted_when_stderr_is_empty() {
    let host = MockHost::new().exec_returns(Completed::new(1, "no such file\n", "\n"));
    let e = exec(&host, json!({ "run": "check" })).unwrap_err();
    assert_eq!(
        e.message,
        "command `check` exited with status 1 (expected 0)\nstdout:\n  no such file"
    );
}

#[test]
fn expect_status_takes_one_or_several() {
    let host = MockHost::new()
        .exec_returns(Completed::new(1, "", ""))
        .exec_returns(Completed::new(2, "", ""))
        .exec_returns(Completed::new(3, "", ""));
    let out = exec(&host, json!({ "run": "grep", "expect-status": 1 })).unwrap();
    assert_eq!(out["status"], 1);
    exec(&host, json!({ "run": "grep", "expect-status": [0, "2"] })).unwrap();
    let e = exec(&host, json!({ "run": "grep", "expect-status": [0, 1] })).unwrap_err();
    assert!(
        e.message
            .starts_with("command `grep` exited with status 3 (expected 0 or 1)"),
        "{e}"
    );
}

#[test]
fn repeated_env_nodes_are_merged() {
    let host = MockHost::new().exec_returns(Completed::ok(""));
    exec(
        &host,
        json!({ "run": "env", "env": [{ "A": "1" }, { "B": 2 }] }),
    )
    .unwrap();
    let cmd = &host.commands()[0];
    let names: Vec<&str> = cmd.env.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["A", "B"]);
}

#[test]
fn secret_env_passes_a_handle_without_revealing() {
    let host = MockHost::new()
        .with_secret("db_password", "hunter2")
        .exec_returns(Completed::ok(""));
    exec(
        &host,
        json!({ "run": "psql", "secret-env": { "PGPASSWORD": "db_password" } }),
    )
    .unwrap();
    let cmd = &host.commands()[0];
    match &cmd.env[0] {
        (name, MaybeSecret::Secret(s)) => {
            assert_eq!((name.as_str(), s.name()), ("PGPASSWORD", "db_password"))
        }
        other => panic!("expected a secret handle, got {other:?}"),
    }
    assert!(
        !host
            .calls()
            .iter()
            .any(|c| matches!(c, cairn_sdk::mock::Call::Reveal(_)))
    );

    let e = exec(
        &host,
        json!({ "run": "psql", "secret-env": { "PGPASSWORD": "nope" } }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("secret-env.PGPASSWORD"));
    assert_eq!(
        e.message,
        "argument `secret-env.PGPASSWORD`: secret `nope` is not defined"
    );
}

#[test]
fn argument_errors_name_the_argument() {
    let host = MockHost::new();
    let e = exec(&host, json!({})).unwrap_err();
    assert_eq!(
        (e.message.as_str(), e.field.as_deref()),
        ("missing argument `run`", Some("run"))
    );

    let e = exec(&host, json!({ "run": [] })).unwrap_err();
    assert_eq!(e.message, "argument `run`: needs a program to run");

    let e = exec(&host, json!({ "run": "ls", "effect": "maybe" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("effect"));
    assert!(e.message.contains("unknown variant `maybe`"), "{e}");

    let e = exec(&host, json!({ "run": "ls", "timeout": "10" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("timeout"));

    let e = exec(&host, json!({ "run": "ls", "cdw": "/" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("cdw"));
    assert!(
        e.message
            .starts_with("unknown argument `cdw`, expected one of"),
        "{e}"
    );
    assert!(host.commands().is_empty());
}

#[test]
fn host_errors_fail_the_step() {
    let host = MockHost::new().exec_fails("program `rm` is not permitted");
    let e = exec(&host, json!({ "run": ["rm", "-rf", "/"] })).unwrap_err();
    assert_eq!(e.message, "program `rm` is not permitted");
}

#[test]
fn unknown_actions_are_refused() {
    let e = MockHost::new()
        .invoke::<Exec>(&Context::for_test(), "walk", json!({}))
        .unwrap_err();
    assert_eq!(e.message, "unknown action `walk`");
}
