//! The plugin whose test `docs/plugin-guide.md` shows (its Testing section),
//! compiled and run here; `guide_shows_this_file` keeps the guide in step
//! with the test. The guide's own walk-through runs as a whole in the CLI
//! tests (`doc_blocks`).

use cairn_sdk::prelude::*;

/// `step purge uses=site-cache action=purge { paths "/" "/static/" }`
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PurgeArgs {
    #[serde(deserialize_with = "cairn_sdk::args::one_or_many")]
    paths: Vec<String>,
    timeout: Option<Duration>,
}

struct SiteCache;

impl Plugin for SiteCache {
    fn describe() -> Description {
        Description::new(
            "site-cache",
            env!("CARGO_PKG_VERSION"),
            "Purge the site's cache",
        )
        .action("purge", "Purge paths from the cache", Effect::Write)
        .default_action("purge")
        .capability("exec", ["varnishadm"])
    }

    fn run(
        host: &dyn Host,
        _ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "purge" => purge(host, args.decode()?),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(SiteCache);

fn purge(host: &dyn Host, a: PurgeArgs) -> Result<Outputs, PluginError> {
    for path in &a.paths {
        let mut cmd = Command::new("varnishadm").args(["ban", "req.url", "~", path]);
        cmd.timeout = a.timeout.map(Into::into);
        let done = host.exec(&cmd)?;
        if !done.planned && done.status != 0 {
            return Err(PluginError::new(format!(
                "purging `{path}` failed: {}",
                done.stderr_text().trim()
            )));
        }
    }
    Ok(Outputs::new().set("purged", a.paths.len()))
}

// guide:test
use cairn_sdk::mock::MockHost;
use serde_json::json;

#[test]
fn purges_each_path() {
    let host = MockHost::new().on_exec(|_| Ok(Completed::ok("")));
    let out = host
        .invoke::<SiteCache>(
            &Context::for_test(),
            "purge",
            json!({ "paths": ["/", "/static/"] }),
        )
        .unwrap();
    assert_eq!(out["purged"], 2);
    assert_eq!(host.commands()[1].args[3], "/static/");
}
// guide:end

#[test]
fn failures_quote_stderr() {
    let host = MockHost::new().exec_returns(Completed::new(1, "", "no ban for you\n"));
    let e = host
        .invoke::<SiteCache>(&Context::for_test(), "purge", json!({ "paths": "/" }))
        .unwrap_err();
    assert_eq!(e.message, "purging `/` failed: no ban for you");
}

#[test]
fn guide_shows_this_file() {
    let guide = include_str!("../../docs/plugin-guide.md");
    let this = include_str!("guide_example.rs");
    let marker = "// guide:test\n";
    let start = this.find(marker).unwrap() + marker.len();
    let len = this[start..].find("// guide:end").unwrap();
    let snippet = &this[start..start + len];
    assert!(
        guide.contains(snippet.trim_end()),
        "docs/plugin-guide.md no longer shows this part of sdk/tests/guide_example.rs:\n{snippet}"
    );
}
