//! The stock `static-collect` plugin: `manage.py collectstatic --noinput`
//! with the counts of its summary, then, optionally, an upload of
//! `STATIC_ROOT` to a storage and a CDN purge (an HTTP request to a
//! configured URL).
//!
//! ```kdl
//! step static uses=static-collect {
//!     dir "/srv/site"
//!     python "/srv/site/venv/bin/python"
//!     clear #true
//!     upload-storage cdn-origin
//!     upload-prefix "static/"
//!     purge-url "https://api.cloudflare.com/client/v4/zones/ZONE/purge_cache"
//!     purge-body r#"{"prefixes":["www.example.com/static/"]}"#
//!     purge-secret-headers Authorization=cloudflare_purge_auth
//! }
//! ```
//!
//! In a dry-run, `collectstatic --dry-run` runs (as a read): Django reports
//! what it would copy and delete and modifies nothing; the upload and the
//! purge are planned.

use std::collections::BTreeMap;

use cairn_sdk::args::one_or_many;
use cairn_sdk::prelude::*;
use cairn_sdk::store::{Sink, Source, Transfer};

#[allow(dead_code)]
#[path = "../../migrate/src/site.rs"]
mod site;
mod summary;

use site::{Site, check_keys, run_ok};

const OWN_KEYS: &[&str] = &[
    "clear",
    "static-root",
    "upload-storage",
    "upload-prefix",
    "purge-url",
    "purge-method",
    "purge-body",
    "purge-headers",
    "purge-secret-headers",
];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
struct CollectArgs {
    #[serde(skip)]
    site: Site,
    /// `--clear`: delete what is in `STATIC_ROOT` first.
    #[serde(default)]
    clear: bool,
    /// `STATIC_ROOT`, for the upload; else the directory collectstatic
    /// names in its summary.
    static_root: Option<String>,
    upload_storage: Option<String>,
    #[serde(default)]
    upload_prefix: String,
    purge_url: Option<String>,
    purge_method: Option<String>,
    purge_body: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<BTreeMap<String, String>>")]
    purge_headers: Vec<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<BTreeMap<String, String>>")]
    purge_secret_headers: Vec<BTreeMap<String, String>>,
}

pub struct StaticCollect;

impl Plugin for StaticCollect {
    fn describe() -> Description {
        Description::new(
            "static-collect",
            env!("CARGO_PKG_VERSION"),
            "Django collectstatic with counts; optional upload to a storage and CDN purge",
        )
        .action(
            "collect",
            "`manage.py collectstatic --noinput [--clear]`, then the upload and the purge if configured",
            Effect::Write,
        )
        .default_action("collect")
        .action_schema(
            "collect",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<Site>(), cairn_sdk::schema::schema_of::<CollectArgs>()]),
        )
        .capability("exec", ["*"])
        .capability("secrets", ["*"])
        .capability("storage", ["*"])
        .capability("transfer", ["*"])
        .capability("http", ["*"])
    }

    fn run(
        host: &dyn Host,
        ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "collect" => {
                check_keys(&args, OWN_KEYS)?;
                let site = args.decode()?;
                collect(
                    host,
                    ctx,
                    CollectArgs {
                        site,
                        ..args.decode()?
                    },
                )
            }
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(StaticCollect);

fn collect(host: &dyn Host, ctx: &Context, a: CollectArgs) -> Result<Outputs, PluginError> {
    let dry = ctx.is_dry_run();
    let mut args = vec!["collectstatic", "--noinput"];
    if a.clear {
        args.push("--clear");
    }
    // Django's own dry-run reports what it would do and modifies nothing,
    // so a cairn dry-run performs it as a read.
    let effect = if dry {
        args.push("--dry-run");
        Effect::Read
    } else {
        Effect::Write
    };
    let cmd = a.site.manage(host, ctx, &args, effect)?;
    let done = run_ok(host, &cmd, "collecting static files")?;
    if done.planned {
        return Ok(Outputs::new().set("planned", true));
    }
    let s = summary::parse(&done.stdout_text()).ok_or_else(|| {
        PluginError::new(format!(
            "collectstatic printed no summary line\n  {}",
            site::tail(&done)
        ))
    })?;
    host.info(&format!(
        "{} copied, {} unmodified, {} deleted{}",
        s.copied,
        s.unmodified,
        s.deleted,
        if dry {
            " (collectstatic --dry-run)"
        } else {
            ""
        }
    ));
    let root = a.static_root.clone().or(s.destination.clone());
    let mut out = Outputs::new()
        .set("copied", s.copied)
        .set("unmodified", s.unmodified)
        .set("deleted", s.deleted)
        .set("post-processed", s.post_processed)
        .set("static-root", root.clone().unwrap_or_default());
    if let Some(storage) = &a.upload_storage {
        let root = root.ok_or_else(|| {
            PluginError::arg(
                "static-root",
                "collectstatic named no destination: give `static-root` for the upload",
            )
        })?;
        out = out.set("uploaded", upload(host, ctx, &a, storage, &root)?);
    }
    if let Some(url) = &a.purge_url {
        out = out.set("purge-status", purge(host, &a, url)?);
    }
    Ok(out.set("planned", dry))
}

/// Uploads every file under `root` to `storage` (key: prefix + relative
/// path); in a dry-run the transfers are planned. Returns how many.
fn upload(
    host: &dyn Host,
    ctx: &Context,
    a: &CollectArgs,
    storage: &str,
    root: &str,
) -> Result<usize, PluginError> {
    let mut list = Command::new("sh")
        .args(["-c", r#"cd -- "$1" && find . -type f -print"#, "sh", root])
        .effect(Effect::Read);
    list.target = ctx.target.clone();
    let listed = host.exec(&list)?;
    if listed.status != 0 {
        return Err(PluginError::new(format!(
            "listing `{root}` for the upload failed\n  {}",
            site::tail(&listed)
        )));
    }
    let text = listed.stdout_text().to_string();
    let mut files: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("./"))
        .filter(|l| !l.is_empty())
        .collect();
    files.sort_unstable();
    let prefix = if a.upload_prefix.is_empty() || a.upload_prefix.ends_with('/') {
        a.upload_prefix.clone()
    } else {
        format!("{}/", a.upload_prefix)
    };
    for rel in &files {
        let mut cat = Command::new("cat")
            .arg(format!("{}/{rel}", root.trim_end_matches('/')))
            .effect(Effect::Read);
        cat.target = ctx.target.clone();
        let t =
            Transfer::new(Source::command(cat)).to(Sink::object(storage, format!("{prefix}{rel}")));
        host.transfer(&t)?;
    }
    host.info(&format!(
        "{} file(s) of `{root}` uploaded to `{storage}` under `{prefix}`",
        files.len()
    ));
    Ok(files.len())
}

/// The CDN purge: one request; a status other than 2xx fails the step.
fn purge(host: &dyn Host, a: &CollectArgs, url: &str) -> Result<u16, PluginError> {
    let method = a.purge_method.clone().unwrap_or_else(|| "POST".into());
    let mut req = Request::new(method.to_ascii_uppercase(), url);
    for (name, value) in a.purge_headers.iter().flatten() {
        req = req.header(name, value.as_str());
    }
    for (name, secret) in a.purge_secret_headers.iter().flatten() {
        let handle = host
            .secret(secret)
            .map_err(|e| PluginError::arg(format!("purge-secret-headers.{name}"), e))?;
        req = req.header(name, handle);
    }
    if let Some(body) = &a.purge_body {
        req = req.body(body.as_bytes().to_vec());
    }
    let resp = host.http(&req)?;
    if !resp.planned && !(200..300).contains(&resp.status) {
        return Err(PluginError::new(format!(
            "the CDN purge `{} {url}` answered {}: {}",
            req.method,
            resp.status,
            resp.text().chars().take(300).collect::<String>()
        )));
    }
    Ok(resp.status)
}

#[cfg(test)]
mod tests;
