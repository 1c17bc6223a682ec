//! `http`: requests to granted hosts. GET and HEAD are reads.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;

use super::StepState;
use super::grants::{Allow, host_matches};
use super::registry::Capability;
use crate::events::Event;
use crate::wit::cairn::plugin::http::{self as wit, HeaderValue, Request, Response};

const MAX_BODY: usize = 8 << 20;

const MAX_REDIRECTS: usize = 10;

fn client(follow: bool) -> &'static reqwest::blocking::Client {
    static FOLLOW: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    static NO_FOLLOW: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    let cell = if follow { &FOLLOW } else { &NO_FOLLOW };
    cell.get_or_init(|| {
        let policy = if follow {
            reqwest::redirect::Policy::limited(MAX_REDIRECTS)
        } else {
            reqwest::redirect::Policy::none()
        };
        build_client(policy)
    })
}

fn build_client(policy: reqwest::redirect::Policy) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(policy)
        .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
        .timeout(None)
        .build()
        .expect("http client")
}

/// A client that follows redirects only to hosts in `granted` (a plugin's
/// `http` grant), one per plugin and grant, so a granted host cannot send a
/// plugin on to one that is not.
fn granted_client(plugin: &str, granted: &[String]) -> reqwest::blocking::Client {
    type Key = (String, Vec<String>);
    static CLIENTS: Mutex<BTreeMap<Key, reqwest::blocking::Client>> = Mutex::new(BTreeMap::new());
    let key = (plugin.to_string(), granted.to_vec());
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    clients
        .entry(key)
        .or_insert_with(|| {
            let plugin = plugin.to_string();
            let granted = granted.to_vec();
            build_client(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error("too many redirects");
                }
                let host_port = host_port(attempt.url());
                if granted.iter().any(|g| host_matches(g, &host_port)) {
                    attempt.follow()
                } else {
                    let why = format!(
                        "redirected to `{host_port}`, which is not permitted for plugin `{plugin}` \
                         (grant it in cairn.kdl: `grant plugin={plugin} {{ http \"{host_port}\" }}`)"
                    );
                    attempt.error(why)
                }
            }))
        })
        .clone()
}

/// `host` or `host:port` of a URL, as grants name them.
fn host_port(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// The `http` capability.
pub struct Http;

impl Capability for Http {
    const NAME: &'static str = "http";
    type State = ();
}

impl wit::Host for StepState {
    fn send(&mut self, req: Request) -> wasmtime::Result<Result<Response, String>> {
        Ok(self.http(req))
    }
}

impl StepState {
    fn http(&mut self, req: Request) -> Result<Response, String> {
        let url = reqwest::Url::parse(&req.url)
            .map_err(|e| format!("http: invalid url `{}`: {e}", req.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("http: scheme `{}` is not supported", url.scheme()));
        }
        let host_port = host_port(&url);
        if !self.cx.grants.allows("http", &host_port, host_matches) {
            return Err(self.cx.denied("http", &host_port));
        }
        let method = req.method.to_ascii_uppercase();
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("http: invalid method `{}`", req.method))?;
        let write = !matches!(method, reqwest::Method::GET | reqwest::Method::HEAD);
        let mut headers = Vec::with_capacity(req.headers.len());
        for h in &req.headers {
            let v = match &h.value {
                HeaderValue::Plain(v) => v.clone(),
                HeaderValue::Secret(s) => self.secret_value(s)?,
            };
            headers.push((h.name.clone(), v));
        }
        let summary = format!("{method} {url}");
        let mut detail = json!({
            "method": method.as_str(),
            "url": url.as_str(),
            "headers": headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            "body_bytes": req.body.as_ref().map_or(0, Vec::len),
        });
        let effect = if write { "write" } else { "read" };
        if self.cx.plans(write) {
            self.cx.emit(Event::Capability {
                step: self.cx.step.clone(),
                capability: "http".into(),
                effect: effect.into(),
                planned: true,
                summary,
                detail,
            });
            return Ok(Response {
                status: 0,
                headers: Vec::new(),
                body: Vec::new(),
                planned: true,
            });
        }
        let timeout = self.cx.remaining(req.timeout_ms.map(Duration::from_millis));
        // Redirects are followed only to granted hosts.
        let client = match self.cx.grants.get("http") {
            Some(Allow::Only(granted)) if req.follow_redirects => granted_client(
                &self.cx.plugin,
                &granted.iter().cloned().collect::<Vec<_>>(),
            ),
            _ => client(req.follow_redirects).clone(),
        };
        let mut rb = client.request(method, url.clone()).timeout(timeout);
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        if let Some(body) = req.body {
            rb = rb.body(body);
        }
        let started = Instant::now();
        let result = rb.send().map(|resp| {
            let status = resp.status().as_u16();
            let headers: Vec<(String, String)> = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let mut body = Vec::new();
            use std::io::Read;
            resp.take(MAX_BODY as u64)
                .read_to_end(&mut body)
                .map_err(|_| ())
                .ok();
            (status, headers, body)
        });
        detail["duration_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
        match result {
            Ok((status, headers, body)) => {
                detail["status"] = json!(status);
                self.cx.emit(Event::Capability {
                    step: self.cx.step.clone(),
                    capability: "http".into(),
                    effect: effect.into(),
                    planned: false,
                    summary,
                    detail,
                });
                Ok(Response {
                    status,
                    headers,
                    body,
                    planned: false,
                })
            }
            Err(e) => {
                detail["error"] = json!(e.to_string());
                self.cx.emit(Event::Capability {
                    step: self.cx.step.clone(),
                    capability: "http".into(),
                    effect: effect.into(),
                    planned: false,
                    summary,
                    detail,
                });
                let why = if e.is_timeout() {
                    "timed out".to_string()
                } else if e.is_connect() {
                    format!("cannot connect: {}", root_cause(&e))
                } else {
                    root_cause(&e)
                };
                Err(format!(
                    "http: {} {}: {why}",
                    req.method.to_ascii_uppercase(),
                    req.url
                ))
            }
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
