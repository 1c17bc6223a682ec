//! The stock `http-check` plugin: requests a URL and expects a status and,
//! optionally, text in the body. Retries are the engine's (`retry
//! attempts=5 delay="3s"` on the step).
//!
//! ```kdl
//! step smoke uses=http-check {
//!     url "{{ params.site-url }}"
//!     expect status=200 body-contains="ok"
//!     timeout "5s"
//! }
//! ```
//!
//! Outputs: `status`, `body` (its first 64 KiB as text), `elapsed-ms`,
//! `planned` (true when a dry-run did not send a write request).

use std::collections::BTreeMap;
use std::time::Instant;

use cairn_sdk::args::one_or_many;
use cairn_sdk::prelude::*;

/// How much of the body the `body` output keeps.
const BODY_OUTPUT_LIMIT: usize = 64 * 1024;
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CheckArgs {
    /// The URL to fetch; its host must be granted (`http`).
    url: String,
    /// The HTTP method; `GET` by default.
    #[serde(default = "get")]
    method: String,
    /// What counts as healthy: `status` (200 by default) and `body-contains`.
    #[serde(default)]
    expect: Expect,
    /// 10 seconds when not given.
    timeout: Option<Duration>,
    /// `headers NAME=VALUE...`; the node may be repeated.
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<BTreeMap<String, String>>")]
    headers: Vec<BTreeMap<String, String>>,
    /// The request body.
    body: Option<String>,
    /// Follow redirects (the default); `#false` checks the redirect itself.
    #[serde(default = "yes")]
    follow_redirects: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Expect {
    /// One status or several; 200 when not given.
    #[serde(default = "ok", deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<u16>")]
    status: Vec<u16>,
    /// Every text given must appear in the body.
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<String>")]
    body_contains: Vec<String>,
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            status: ok(),
            body_contains: Vec::new(),
        }
    }
}

fn get() -> String {
    "GET".to_string()
}

fn ok() -> Vec<u16> {
    vec![200]
}

fn yes() -> bool {
    true
}

pub struct HttpCheck;

impl Plugin for HttpCheck {
    fn describe() -> Description {
        Description::new(
            "http-check",
            env!("CARGO_PKG_VERSION"),
            "Expect a status and body text from a URL",
        )
        .action(
            "check",
            "Request a URL and check the status and body",
            Effect::Read,
        )
        .default_action("check")
        .capability("http", ["*"])
        .action_args::<CheckArgs>("check")
    }

    fn run(
        host: &dyn Host,
        _ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "check" => check(host, args.decode()?),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(HttpCheck);

fn check(host: &dyn Host, a: CheckArgs) -> Result<Outputs, PluginError> {
    if !(a.url.starts_with("http://") || a.url.starts_with("https://")) {
        return Err(PluginError::arg(
            "url",
            format!("`{}` is not an http:// or https:// URL", a.url),
        ));
    }
    let method = a.method.trim().to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(PluginError::arg(
            "method",
            format!("`{}` is not an HTTP method", a.method),
        ));
    }
    let mut req = Request::new(method, &a.url)
        .timeout(a.timeout.map_or(DEFAULT_TIMEOUT, Into::into))
        .follow_redirects(a.follow_redirects);
    for (name, value) in a.headers.iter().flatten() {
        req = req.header(name, value);
    }
    req.body = a.body.map(String::into_bytes);

    let started = Instant::now();
    let resp = host.http(&req)?;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if resp.planned {
        return Ok(Outputs::new()
            .set("status", 0)
            .set("body", "")
            .set("elapsed-ms", 0)
            .set("planned", true));
    }

    if !a.expect.status.contains(&resp.status) {
        let expected: Vec<String> = a.expect.status.iter().map(u16::to_string).collect();
        return Err(PluginError::new(format!(
            "expected status {} from `{}`, got {}",
            expected.join(" or "),
            a.url,
            resp.status
        )));
    }
    let text = resp.text();
    if let Some(missing) = a
        .expect
        .body_contains
        .iter()
        .find(|s| !text.contains(s.as_str()))
    {
        return Err(PluginError::new(format!(
            "body of `{}` does not contain `{missing}`",
            a.url
        )));
    }
    Ok(Outputs::new()
        .set("status", resp.status)
        .set("body", head(&resp.body, BODY_OUTPUT_LIMIT))
        .set("elapsed-ms", elapsed_ms)
        .set("planned", false))
}

/// The first `limit` bytes as text, not cutting a UTF-8 sequence in two.
fn head(body: &[u8], limit: usize) -> String {
    let mut cut = &body[..body.len().min(limit)];
    if cut.len() < body.len()
        && let Err(e) = std::str::from_utf8(cut)
        && e.error_len().is_none()
    {
        cut = &cut[..e.valid_up_to()];
    }
    String::from_utf8_lossy(cut).into_owned()
}

#[cfg(test)]
mod tests;
