use super::Migrate;
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::json;

fn answer(plan: serde_json::Value, state: serde_json::Value) -> Completed {
    Completed::ok(format!(
        "7 objects imported automatically\nCAIRN-MIGRATE-JSON {}\n",
        json!({ "plan": plan, "state": state, "conflicts": {} })
    ))
}

fn pending(irreversible: bool) -> serde_json::Value {
    let flagged = if irreversible {
        json!([{ "operation": "RunPython", "index": 1, "describe": "Raw Python operation" }])
    } else {
        json!([])
    };
    json!([
        { "app": "notes", "name": "0002_note_flag", "backwards": false,
          "operations": ["Add field flag to note"], "irreversible": [] },
        { "app": "notes", "name": "0003_fill", "backwards": false,
          "operations": ["Add field x", "Raw Python operation"], "irreversible": flagged },
        { "app": "shop", "name": "0001_initial", "backwards": false,
          "operations": ["Create model Item"], "irreversible": [] },
    ])
}

fn site() -> serde_json::Value {
    json!({
        "dir": "/srv/site",
        "python": "/srv/site/venv/bin/python",
        "settings": "site.settings",
        "env": { "DJANGO_DEBUG": "0" },
        "secret-env": { "DATABASE_URL": "db_url" },
    })
}

fn with(mut base: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn run(host: &MockHost, action: &str, args: serde_json::Value) -> Result<Outputs, PluginError> {
    host.invoke::<Migrate>(&Context::for_test(), action, args)
}

#[test]
fn describes_itself() {
    let d = Migrate::describe();
    assert_eq!(d.name, "migrate");
    let names: Vec<&str> = d.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["plan", "apply", "unapply"]);
}

#[test]
fn plan_lists_migrations_per_app_and_flags_irreversible_ones() {
    let host = MockHost::new()
        .with_secret("db_url", "postgresql://u:pw@db/site")
        .exec_returns(answer(
            pending(true),
            json!({ "notes": "0001_initial", "shop": "zero" }),
        ));
    let out = run(&host, "plan", site()).unwrap();
    assert_eq!(out["count"], 3);
    assert_eq!(
        out["apps"],
        json!({ "notes": ["0002_note_flag", "0003_fill"], "shop": ["0001_initial"] })
    );
    assert_eq!(
        out["before"],
        json!({ "notes": "0001_initial", "shop": "zero" })
    );
    assert_eq!(out["irreversible-count"], 1);
    assert_eq!(
        out["irreversible"][0],
        "notes.0003_fill: operation 2 RunPython (Raw Python operation) cannot be reversed"
    );
    let cmd = &host.commands()[0];
    assert_eq!(cmd.program, "/srv/site/venv/bin/python");
    assert_eq!(cmd.args[..3], ["/srv/site/manage.py", "shell", "-c"]);
    assert_eq!(cmd.cwd.as_deref(), Some("/srv/site"));
    assert_eq!(cmd.effect, Effect::Read);
    let env: Vec<&str> = cmd.env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        env,
        [
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_DEBUG",
            "DATABASE_URL",
            "CAIRN_MIGRATE"
        ]
    );
    // The database URL goes by handle: the plugin never holds it.
    assert!(matches!(cmd.env[2].1, MaybeSecret::Secret(_)));
    assert!(
        host.logs()
            .iter()
            .any(|(l, m)| *l == Level::Warn && m.contains("RunPython"))
    );
}

#[test]
fn apply_refuses_an_irreversible_plan_and_migrates_nothing() {
    let host = MockHost::new()
        .with_secret("db_url", "x")
        .exec_returns(answer(pending(true), json!({ "notes": "0001_initial" })));
    let e = run(&host, "apply", site()).unwrap_err();
    assert!(e.message.contains("allow-irreversible #true"), "{e}");
    assert!(e.message.contains("notes.0003_fill"), "{e}");
    assert_eq!(host.commands().len(), 1);
}

#[test]
fn apply_records_where_each_app_was_with_one_django_process() {
    let before = answer(
        pending(true),
        json!({ "notes": "0001_initial", "shop": "zero", "auth": "0012_x" }),
    );
    let after = format!(
        "CAIRN-MIGRATE-AFTER {}\n",
        json!({ "plan": [], "conflicts": {},
                "state": { "notes": "0003_fill", "shop": "0001_initial", "auth": "0012_x" } })
    );
    let host = MockHost::new()
        .with_secret("db_url", "x")
        .exec_returns(Completed::ok(format!(
            "{}Applying notes.0002_note_flag... OK\n{after}",
            before.stdout_text()
        )));
    let out = run(
        &host,
        "apply",
        with(site(), json!({ "allow-irreversible": true })),
    )
    .unwrap();
    assert_eq!(
        out["before"],
        json!({ "notes": "0001_initial", "shop": "zero" })
    );
    assert_eq!(
        out["after"],
        json!({ "notes": "0003_fill", "shop": "0001_initial" })
    );
    assert_eq!(out["planned"], false);
    let cmds = host.commands();
    assert_eq!(cmds.len(), 1, "plan, migrate and state in one process");
    assert_eq!(cmds[0].args[1..3], ["shell", "-c"]);
    assert_eq!(cmds[0].effect, Effect::Write);
    let request: serde_json::Value = serde_json::from_str(match &cmds[0].env[3].1 {
        MaybeSecret::Plain(v) => v,
        other => panic!("{other:?}"),
    })
    .unwrap();
    assert_eq!(request["mode"], "apply");
    assert_eq!(request["allow_irreversible"], true);
}

#[test]
fn a_migration_that_fails_names_where_the_apps_were() {
    let before = answer(pending(false), json!({ "notes": "0001_initial" }));
    let host = MockHost::new()
        .with_secret("db_url", "x")
        .exec_returns(Completed::new(
            1,
            before.stdout_text().as_ref(),
            "Traceback...\ndjango.db.utils.DataError: division by zero\n",
        ));
    let e = run(&host, "apply", site()).unwrap_err();
    assert!(e.message.contains("division by zero"), "{e}");
    assert!(e.message.contains("notes=0001_initial shop=zero"), "{e}");
}

#[test]
fn a_dry_run_apply_shows_the_plan_and_migrates_nothing() {
    let host = MockHost::new()
        .dry_run()
        .with_secret("db_url", "x")
        .exec_returns(answer(pending(false), json!({ "notes": "0001_initial" })));
    let ctx = Context::for_test().with_mode(Mode::DryRun);
    let out = host.invoke::<Migrate>(&ctx, "apply", site()).unwrap();
    assert_eq!(out["planned"], true);
    assert_eq!(out["count"], 3);
    // The plan read, `migrate --noinput` shown as what would run.
    let cmds = host.commands();
    assert_eq!(cmds.len(), 2);
    assert_eq!(cmds[0].effect, Effect::Read);
    assert_eq!(cmds[1].args[1..], ["migrate", "--noinput"]);
}

#[test]
fn unapply_migrates_each_app_back() {
    let back = json!([
        { "app": "shop", "name": "0001_initial", "backwards": true, "irreversible": [] },
        { "app": "notes", "name": "0002_note_flag", "backwards": true, "irreversible": [] },
    ]);
    let host = MockHost::new()
        .with_secret("db_url", "x")
        .exec_returns(answer(back, json!({})))
        .exec_returns(Completed::ok(""))
        .exec_returns(Completed::ok(""))
        .exec_returns(answer(
            json!([]),
            json!({ "notes": "0001_initial", "shop": "zero" }),
        ));
    let out = run(
        &host,
        "unapply",
        with(
            site(),
            json!({ "to": { "notes": "0001_initial", "shop": "zero" } }),
        ),
    )
    .unwrap();
    assert_eq!(
        out["reverted"],
        json!(["shop.0001_initial", "notes.0002_note_flag"])
    );
    assert_eq!(
        out["after"],
        json!({ "notes": "0001_initial", "shop": "zero" })
    );
    let cmds = host.commands();
    let request: serde_json::Value = serde_json::from_str(match &cmds[0].env[3].1 {
        MaybeSecret::Plain(v) => v,
        other => panic!("{other:?}"),
    })
    .unwrap();
    assert_eq!(
        request["targets"],
        json!([["notes", "0001_initial"], ["shop", "zero"]])
    );
    assert_eq!(
        cmds[1].args[1..],
        ["migrate", "notes", "0001_initial", "--noinput"]
    );
    assert_eq!(cmds[2].args[1..], ["migrate", "shop", "zero", "--noinput"]);
}

#[test]
fn unapply_refuses_to_go_back_through_an_irreversible_operation() {
    let back = json!([{ "app": "notes", "name": "0003_fill", "backwards": true,
        "irreversible": [{ "operation": "RunSQL", "index": 0, "describe": "Raw SQL operation" }] }]);
    let host = MockHost::new()
        .with_secret("db_url", "x")
        .exec_returns(answer(back, json!({})));
    let e = run(
        &host,
        "unapply",
        with(site(), json!({ "to": "notes=0002_note_flag" })),
    )
    .unwrap_err();
    assert!(e.message.contains("cannot be reversed"), "{e}");
    assert_eq!(host.commands().len(), 1);
}

#[test]
fn bad_arguments_are_named() {
    let host = MockHost::new();
    let e = run(&host, "plan", json!({ "dir": "/srv", "dtabase": "x" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("dtabase"));
    let e = run(&host, "plan", json!({ "python": "python3" })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("dir"));
    let e = run(
        &host,
        "unapply",
        json!({ "dir": "/srv", "to": "notes=--fake" }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("to"));
    let e = run(&host, "unapply", json!({ "dir": "/srv", "to": ["x"] })).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("to"));
    assert!(host.commands().is_empty());
}

#[test]
fn a_failed_snippet_quotes_django() {
    let host = MockHost::new().exec_returns(Completed::new(
        1,
        "",
        "Traceback...\ndjango.db.utils.OperationalError: connection refused\n",
    ));
    let e = run(&host, "plan", json!({ "manage": "/srv/site/manage.py" })).unwrap_err();
    assert!(
        e.message.contains("OperationalError: connection refused"),
        "{e}"
    );
    assert_eq!(host.commands()[0].cwd.as_deref(), Some("/srv/site"));
    assert_eq!(host.commands()[0].program, "python3");
}

#[test]
fn empty_settings_and_secret_leave_manage_py_its_defaults() {
    // A stock runbook passes its params through: `settings ""` and
    // `secret-env DATABASE_URL=""` mean "the project's own".
    let host = MockHost::new().exec_returns(answer(json!([]), json!({})));
    let args = json!({
        "dir": "/srv/site",
        "settings": "  ",
        "secret-env": { "DATABASE_URL": "" },
    });
    run(&host, "plan", args).unwrap();
    let cmd = &host.commands()[0];
    let env: Vec<&str> = cmd.env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(env, ["CAIRN_MIGRATE"]);
}
