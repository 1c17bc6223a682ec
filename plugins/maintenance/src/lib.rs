//! The stock `maintenance` plugin: puts a maintenance page up and takes it
//! down, and checks with an HTTP request that visitors really get it.
//!
//! Backend `flag-file`: the web server answers 503 with a page while a file
//! exists (the nginx snippet is `examples/maintenance/nginx-maintenance.conf`);
//! `on` writes that file, `off` removes it, but only a file cairn wrote: the
//! page carries the marker [`MARKER`].
//!
//! ```kdl
//! step page-up uses=maintenance action=on {
//!     file "/srv/site/maintenance/maintenance.html"
//!     url "http://127.0.0.1/"
//! }
//! // undo: only when the page was not already up before
//! ```
//!
//! Outputs: `backend`, `file`, `on` (after the step), `was-on`, `changed`,
//! `cairn-page` (the file present carries the marker), `verified` (an HTTP
//! request saw the expected answer), `http-status`, `planned`, and
//! `put-in-maintenance`, the `haproxy` backend's servers (always empty
//! here), so that one `off` step serves both backends. Empty arguments are
//! absent ones.

use std::time::Instant;

use cairn_sdk::prelude::*;
use serde_json::json;

mod args;
mod flag;
mod haproxy;

pub(crate) use args::MaintenanceArgs;

use flag::{FlagFile, State};

/// What every page cairn writes holds, and what `off` looks for before it
/// removes a file.
pub const MARKER: &str = "<!-- cairn:maintenance";

const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
const DEFAULT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

pub struct Maintenance;

impl Plugin for Maintenance {
    fn describe() -> Description {
        Description::new(
            "maintenance",
            env!("CARGO_PKG_VERSION"),
            "Turn a maintenance page on and off",
        )
        .action(
            "on",
            "Put the maintenance page up and check it is served",
            Effect::Write,
        )
        .action(
            "off",
            "Take the maintenance page down (only one cairn put up) and check the site answers",
            Effect::Write,
        )
        .action(
            "status",
            "Whether the maintenance page is up (and served)",
            Effect::Read,
        )
        .default_action("status")
        .capability("exec", ["sh"])
        .capability("http", ["*"])
        .capability("socket", ["*"])
        .args_for_every_action::<MaintenanceArgs>()
    }

    fn run(
        host: &dyn Host,
        ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        if !matches!(action, "on" | "off" | "status") {
            return Err(PluginError::unknown_action(action));
        }
        let a: MaintenanceArgs = args.decode::<MaintenanceArgs>()?.without_empty();
        if a.backend == "haproxy" {
            let hp = haproxy::Haproxy::new(&a)?;
            let job = Job::checks(host, ctx, &a, String::new())?;
            return match action {
                "on" => hp.on(host, &job),
                "off" => hp.off(host, &job),
                _ => hp.status(host, &job),
            };
        }
        let m = Job::new(host, ctx, &a)?;
        match action {
            "on" => m.on(),
            "off" => m.off(),
            _ => m.status(),
        }
    }
}

cairn_sdk::export_plugin!(Maintenance);

struct Job<'a> {
    host: &'a dyn Host,
    ctx: &'a Context,
    a: &'a MaintenanceArgs,
    flag: FlagFile,
    timeout: std::time::Duration,
    interval: std::time::Duration,
}

impl<'a> Job<'a> {
    fn new(
        host: &'a dyn Host,
        ctx: &'a Context,
        a: &'a MaintenanceArgs,
    ) -> Result<Self, PluginError> {
        match a.backend.as_str() {
            "flag-file" => {}
            other => {
                return Err(PluginError::arg(
                    "backend",
                    format!("unknown backend `{other}`, expected `flag-file` or `haproxy`"),
                ));
            }
        }
        for (given, name) in [
            (a.socket.is_some(), "socket"),
            (a.haproxy_backend.is_some(), "haproxy-backend"),
            // `servers ""` (a runbook passing `put-in-maintenance` through;
            // in a dry-run, the planned `on`'s output is not known yet)
            (
                a.servers
                    .as_ref()
                    .is_some_and(|s| !s.is_empty() && !ctx.known_later(&s.join(" "))),
                "servers",
            ),
        ] {
            if given {
                return Err(PluginError::arg(
                    name,
                    format!("`{name}` is an argument of the `haproxy` backend, not of `flag-file`"),
                ));
            }
        }
        let file = a
            .file
            .clone()
            .filter(|f| !f.trim().is_empty())
            .ok_or_else(|| PluginError::arg("file", "missing argument `file`"))?;
        if !file.starts_with('/') {
            return Err(PluginError::arg(
                "file",
                format!("`{file}` is not an absolute path"),
            ));
        }
        Self::checks(host, ctx, a, file)
    }

    /// The job without a flag file's checks (the `haproxy` backend).
    fn checks(
        host: &'a dyn Host,
        ctx: &'a Context,
        a: &'a MaintenanceArgs,
        file: String,
    ) -> Result<Self, PluginError> {
        if let Some(url) = &a.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(PluginError::arg(
                "url",
                format!("`{url}` is not an http:// or https:// URL"),
            ));
        }
        Ok(Job {
            host,
            ctx,
            a,
            flag: FlagFile::new(file),
            timeout: a.timeout.map_or(DEFAULT_TIMEOUT, Into::into),
            interval: a.interval.map_or(DEFAULT_INTERVAL, Into::into),
        })
    }

    fn outputs(&self, state: &State, on: bool, was_on: bool) -> Outputs {
        Outputs::new()
            .set("backend", "flag-file")
            .set("file", self.flag.path.as_str())
            .set("on", on)
            .set("was-on", was_on)
            .set("cairn-page", state.is_cairns())
            .set("changed", on != was_on)
            .set("verified", false)
            .set("http-status", json!(null))
            .set("put-in-maintenance", Vec::<String>::new())
            .set("planned", false)
    }

    fn status(&self) -> Result<Outputs, PluginError> {
        let state = self.read()?;
        if state == State::Unknown {
            return Ok(self.outputs(&state, false, false).set("planned", true));
        }
        let on = state.is_on();
        let mut out = self.outputs(&state, on, on);
        if let Some(url) = &self.a.url {
            let resp = self.host.http(&Request::get(url).timeout(self.timeout))?;
            let page_served =
                resp.status == 503 && resp.text().contains(self.expected_text(&state));
            // verified: the site shows what the file says
            let verified = if on { page_served } else { resp.status != 503 };
            out = out
                .set("http-status", resp.status)
                .set("verified", verified);
        }
        Ok(out)
    }

    /// The text the served page must hold: `expect-text`, else the marker
    /// when the page is cairn's, else none.
    fn expected_text(&self, state: &State) -> &str {
        match (&self.a.expect_text, state.is_cairns() || !state.is_on()) {
            (Some(t), _) => t,
            (None, true) => MARKER,
            (None, false) => "",
        }
    }

    /// The flag file's state; a directory or special file there is an error.
    fn read(&self) -> Result<State, PluginError> {
        let state = self.flag.read(self.host)?;
        self.host.info(&format!(
            "maintenance page `{}`: {}",
            self.flag.path,
            match &state {
                State::Absent => "not up",
                State::File(_) if state.is_cairns() => "up (a page cairn wrote)",
                State::File(_) => "up (not written by cairn)",
                State::Other => "not a regular file",
                State::Unknown => "not known before the steps it depends on run",
            }
        ));
        if state == State::Other {
            return Err(PluginError::new(format!(
                "`{}` is not a regular file: it cannot be a maintenance flag",
                self.flag.path
            )));
        }
        Ok(state)
    }

    fn on(&self) -> Result<Outputs, PluginError> {
        let before = self.read()?;
        if before.is_on() {
            self.host.info(&format!(
                "the maintenance page `{}` is already up{}",
                self.flag.path,
                if before.is_cairns() {
                    ""
                } else {
                    " (not written by cairn)"
                }
            ));
            return self.verify_on(self.outputs(&before, true, true), &before, false);
        }
        let page = self.page()?;
        let done = self.flag.write(self.host, &page)?;
        let after = State::File(page);
        let out = self.outputs(&after, true, false);
        if done.planned {
            return Ok(out.set("planned", true));
        }
        self.verify_on(out, &after, true)
    }

    fn verify_on(&self, out: Outputs, state: &State, wrote: bool) -> Result<Outputs, PluginError> {
        let Some(url) = &self.a.url else {
            return Ok(out);
        };
        let text = self.expected_text(state);
        let seen = self.poll(url, |r| r.status == 503 && r.text().contains(text));
        match seen {
            Ok(status) => Ok(out.set("verified", true).set("http-status", status)),
            Err(last) => {
                let mut msg = format!(
                    "the maintenance page is not served at `{url}`: expected 503{}, got {last} for {}",
                    if text.is_empty() {
                        String::new()
                    } else {
                        format!(" with `{text}`")
                    },
                    secs(self.timeout)
                );
                if wrote {
                    match self.flag.remove(self.host) {
                        Ok(_) => msg.push_str(&format!(
                            "; `{}` was removed again (does the web server check this file?)",
                            self.flag.path
                        )),
                        Err(e) => msg.push_str(&format!(
                            "; `{}` is still there: removing it failed: {}",
                            self.flag.path, e.message
                        )),
                    }
                }
                Err(PluginError::new(msg))
            }
        }
    }

    fn off(&self) -> Result<Outputs, PluginError> {
        let before = self.read()?;
        if before == State::Unknown {
            // Planned: it would remove the file if cairn wrote it.
            return Ok(self.outputs(&before, false, true).set("planned", true));
        }
        if !before.is_on() {
            let out = self.outputs(&before, false, false);
            return self.verify_off(out);
        }
        if !before.is_cairns() {
            return Err(PluginError::new(format!(
                "`{}` was not written by cairn (it lacks the marker `{MARKER}`): it was left in place; \
                 remove it by hand if the maintenance is over",
                self.flag.path
            )));
        }
        let done = self.flag.remove(self.host)?;
        let out = self.outputs(&before, false, true);
        if done.planned {
            return Ok(out.set("planned", true));
        }
        self.verify_off(out)
    }

    fn verify_off(&self, out: Outputs) -> Result<Outputs, PluginError> {
        let Some(url) = &self.a.url else {
            return Ok(out);
        };
        let want = &self.a.expect_status;
        match self.poll(url, |r| want.contains(&r.status)) {
            Ok(status) => Ok(out.set("verified", true).set("http-status", status)),
            Err(last) => {
                let want: Vec<String> = want.iter().map(u16::to_string).collect();
                Err(PluginError::new(format!(
                    "the maintenance page is down, but `{url}` did not answer {} within {}: {last}",
                    want.join(" or "),
                    secs(self.timeout)
                )))
            }
        }
    }

    /// Asks `url` until `ok` holds or the timeout passes: the status that
    /// held, or what the last answer was.
    fn poll(&self, url: &str, ok: impl Fn(&Response) -> bool) -> Result<u16, String> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let req = Request::get(url).timeout(left.max(std::time::Duration::from_millis(200)));
            let last = match self.host.http(&req) {
                Ok(r) if ok(&r) => return Ok(r.status),
                Ok(r) if r.status == 503 => "503 without the page's text".to_string(),
                Ok(r) => r.status.to_string(),
                Err(e) => e.message,
            };
            if Instant::now() >= deadline {
                return Err(last);
            }
            std::thread::sleep(
                self.interval
                    .min(deadline.saturating_duration_since(Instant::now())),
            );
        }
    }

    /// The page to write, with the marker: the `page` file's content, or a
    /// plain page.
    fn page(&self) -> Result<String, PluginError> {
        let body = match &self.a.page {
            Some(p) => flag::read_page(self.host, p)?,
            None => DEFAULT_PAGE.to_string(),
        };
        Ok(flag::with_marker(
            &body,
            &self.ctx.run_id,
            &self.ctx.step_id,
        ))
    }
}

const DEFAULT_PAGE: &str = "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>Down for maintenance</title></head>
<body>
<h1>Down for maintenance</h1>
<p>The site is being updated and will be back in a few minutes.</p>
</body>
</html>
";

fn secs(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests;
