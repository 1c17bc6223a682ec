use super::StaticCollect;
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use cairn_sdk::store::{Sink, Source, Transferred};
use serde_json::json;

fn run(host: &MockHost, ctx: &Context, args: serde_json::Value) -> Result<Outputs, PluginError> {
    host.invoke::<StaticCollect>(ctx, "collect", args)
}

const SUMMARY: &str =
    "Deleting 'old.css'\n\n2 static files copied to '/srv/static', 130 unmodified.\n";

#[test]
fn describes_itself() {
    let d = StaticCollect::describe();
    assert_eq!(d.name, "static-collect");
    assert_eq!(d.default_action.as_deref(), Some("collect"));
}

#[test]
fn collects_and_counts() {
    let host = MockHost::new().exec_returns(Completed::ok(SUMMARY));
    let out = run(
        &host,
        &Context::for_test(),
        json!({ "dir": "/srv/site", "python": "/v/bin/python", "clear": true }),
    )
    .unwrap();
    assert_eq!(
        (
            out["copied"].as_u64(),
            out["unmodified"].as_u64(),
            out["deleted"].as_u64()
        ),
        (Some(2), Some(130), Some(1))
    );
    assert_eq!(out["static-root"], "/srv/static");
    assert_eq!(out["planned"], false);
    let cmd = &host.commands()[0];
    assert_eq!(
        cmd.args,
        [
            "/srv/site/manage.py",
            "collectstatic",
            "--noinput",
            "--clear"
        ]
    );
    assert_eq!(cmd.effect, Effect::Write);
}

#[test]
fn a_dry_run_asks_django_for_its_own_dry_run() {
    let host = MockHost::new()
        .dry_run()
        .exec_returns(Completed::ok(
            "Pretending to copy 'a.css'\n\n1 static file copied to '/srv/static', 3 unmodified.\n",
        ))
        .exec_returns(Completed::ok("./a.css\n"));
    let out = run(
        &host,
        &Context::for_test().with_mode(Mode::DryRun),
        json!({ "dir": "/srv/site", "upload-storage": "cdn", "purge-url": "https://cdn/purge" }),
    )
    .unwrap();
    assert_eq!(out["copied"], 1);
    assert_eq!(out["planned"], true);
    let cmd = &host.commands()[0];
    assert_eq!(cmd.args[1..], ["collectstatic", "--noinput", "--dry-run"]);
    assert_eq!(cmd.effect, Effect::Read);
    // The upload and the purge are writes: planned, not done.
    assert_eq!(out["uploaded"], 1);
    assert_eq!(host.transfers().len(), 1);
    assert_eq!(host.requests()[0].method, "POST");
}

#[test]
fn uploads_every_file_and_purges() {
    let host = MockHost::new()
        .with_secret("cf", "Bearer t0ken")
        .exec_returns(Completed::ok(SUMMARY))
        .exec_returns(Completed::ok("./a.css\n./img/b.png\n"))
        .on_transfer(|_| Ok(Transferred::default()))
        .http_returns(Response::new(200, "{\"success\":true}"));
    let out = run(
        &host,
        &Context::for_test(),
        json!({
            "dir": "/srv/site",
            "upload-storage": "cdn",
            "upload-prefix": "static",
            "purge-url": "https://api.example/purge",
            "purge-body": "{\"prefixes\":[\"www.example.com/static/\"]}",
            "purge-secret-headers": { "Authorization": "cf" },
        }),
    )
    .unwrap();
    assert_eq!(out["uploaded"], 2);
    assert_eq!(out["purge-status"], 200);
    let t = host.transfers();
    assert_eq!(t.len(), 2);
    match (&t[1].source, &t[1].sink) {
        (Source::Command(c), Sink::Object(o)) => {
            assert_eq!(
                (c.program.as_str(), c.args[0].as_str()),
                ("cat", "/srv/static/img/b.png")
            );
            assert_eq!(
                (o.storage.as_str(), o.key.as_str()),
                ("cdn", "static/img/b.png")
            );
        }
        other => panic!("{other:?}"),
    }
    let req = &host.requests()[0];
    assert_eq!(req.method, "POST");
    assert!(matches!(req.headers[0].1, MaybeSecret::Secret(_)));
}

#[test]
fn a_failed_purge_fails_the_step() {
    let host = MockHost::new()
        .exec_returns(Completed::ok(SUMMARY))
        .http_returns(Response::new(403, "forbidden"));
    let e = run(
        &host,
        &Context::for_test(),
        json!({ "dir": "/s", "purge-url": "https://x/p" }),
    )
    .unwrap_err();
    assert!(e.message.contains("answered 403: forbidden"), "{e}");
}

#[test]
fn no_summary_is_an_error_and_unknown_arguments_are_named() {
    let host = MockHost::new().exec_returns(Completed::ok("something else\n"));
    let e = run(&host, &Context::for_test(), json!({ "dir": "/s" })).unwrap_err();
    assert!(e.message.contains("no summary line"), "{e}");
    let e = run(
        &host,
        &Context::for_test(),
        json!({ "dir": "/s", "clean": true }),
    )
    .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("clean"));
}
