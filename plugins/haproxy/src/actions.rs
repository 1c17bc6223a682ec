//! The actions: read the backend, check the guardrail, change one server,
//! return what was there before, wait where the action promises to.

use std::time::{Duration, Instant};

use cairn_sdk::prelude::*;
use serde_json::json;

use crate::StepArgs;
use crate::api::{self, find};
use crate::state::{Admin, Server};

const DEFAULT_WAIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(250);

fn server_name(a: &StepArgs) -> Result<&str, PluginError> {
    a.server
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PluginError::arg("server", "this action needs `server`"))
}

fn servers_json(servers: &[Server]) -> serde_json::Value {
    json!(servers)
}

pub fn status(host: &dyn Host, a: &StepArgs) -> Result<Outputs, PluginError> {
    let servers = api::servers(host, &a.socket, &a.backend)?;
    let serving = servers.iter().filter(|s| s.serving()).count();
    Ok(Outputs::new()
        .set("backend", a.backend.clone())
        .set("servers", servers_json(&servers))
        .set("serving", serving)
        .set("total", servers.len()))
}

/// Refuses a change after which no server of the backend would take
/// traffic, unless the step allows it.
fn guard(
    a: &StepArgs,
    servers: &[Server],
    name: &str,
    after: impl Fn(&Server) -> bool,
) -> Result<(), PluginError> {
    if a.allow_empty_backend {
        return Ok(());
    }
    let left = servers
        .iter()
        .filter(|s| {
            if s.name == name {
                after(s)
            } else {
                s.serving()
            }
        })
        .count();
    if left == 0 {
        let others: Vec<String> = servers
            .iter()
            .filter(|s| s.name != name)
            .map(|s| format!("{} {} {}", s.name, s.state.as_str(), s.health))
            .collect();
        return Err(PluginError::new(format!(
            "refused: after this change backend `{}` would have no server that is ready and up \
             (others: {}); say `allow-empty-backend #true` on the step to do it anyway",
            a.backend,
            if others.is_empty() {
                "none".to_string()
            } else {
                others.join(", ")
            }
        )));
    }
    Ok(())
}

/// `server B/S: BEFORE → AFTER`, `(would change)` in a dry-run; `BEFORE
/// (no change)` when the server is there already.
fn log_change(host: &dyn Host, a: &StepArgs, name: &str, before: &str, after: &str, dry: bool) {
    let msg = if before == after {
        format!("server {}/{name}: {before} (no change)", a.backend)
    } else if dry {
        format!(
            "server {}/{name}: {before} → {after} (would change)",
            a.backend
        )
    } else {
        format!("server {}/{name}: {before} → {after}", a.backend)
    };
    host.log(
        Level::Info,
        &msg,
        &[("backend", &a.backend), ("server", name)],
    );
}

pub fn set_state(
    host: &dyn Host,
    a: &StepArgs,
    to: Admin,
    dry: bool,
) -> Result<Outputs, PluginError> {
    let name = server_name(a)?;
    let servers = api::servers(host, &a.socket, &a.backend)?;
    let before = find(&servers, &a.backend, name)?.clone();
    if to != Admin::Ready {
        guard(a, &servers, name, |_| false)?;
    }
    log_change(host, a, name, before.state.as_str(), to.as_str(), dry);
    let sent = api::write(
        host,
        &a.socket,
        &format!("set server {}/{name} state {}", a.backend, to.as_str()),
    )?;
    let mut out = Outputs::new()
        .set("server", name)
        .set("previous-state", before.state.as_str())
        .set("state", to.as_str())
        .set("planned", !sent);
    if to == Admin::Drain && sent {
        let waited = wait_for(host, a, name, "its sessions to end", |s| s.sessions == 0)?;
        out = out.set("waited-ms", waited);
    } else if to == Admin::Drain {
        out = out.set("sessions", before.sessions);
    }
    Ok(out)
}

pub fn weight(host: &dyn Host, a: &StepArgs, dry: bool) -> Result<Outputs, PluginError> {
    let name = server_name(a)?;
    let w = a
        .weight
        .ok_or_else(|| PluginError::arg("weight", "this action needs `weight` (0 to 256)"))?;
    if w > 256 {
        return Err(PluginError::arg("weight", format!("{w} is over 256")));
    }
    let servers = api::servers(host, &a.socket, &a.backend)?;
    let before = find(&servers, &a.backend, name)?.clone();
    if w == 0 {
        guard(a, &servers, name, |_| false)?;
    }
    log_change(
        host,
        a,
        name,
        &format!("weight {}", before.weight),
        &format!("weight {w}"),
        dry,
    );
    let sent = api::write(
        host,
        &a.socket,
        &format!("set server {}/{name} weight {w}", a.backend),
    )?;
    Ok(Outputs::new()
        .set("server", name)
        .set("previous-weight", before.weight)
        .set("weight", w)
        .set("planned", !sent))
}

pub fn set_addr(host: &dyn Host, a: &StepArgs, dry: bool) -> Result<Outputs, PluginError> {
    let name = server_name(a)?;
    let addr = a
        .addr
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| PluginError::arg("addr", "set-addr needs `addr` (an IP address)"))?;
    if addr.parse::<std::net::IpAddr>().is_err() {
        return Err(PluginError::arg(
            "addr",
            format!("`{addr}` is not an IP address (HAProxy's `set server ... addr` takes one)"),
        ));
    }
    let servers = api::servers(host, &a.socket, &a.backend)?;
    let before = find(&servers, &a.backend, name)?.clone();
    let port = a.port.unwrap_or(before.port);
    log_change(
        host,
        a,
        name,
        &format!("{}:{}", before.addr, before.port),
        &format!("{addr}:{port}"),
        dry,
    );
    let cmd = match a.port {
        Some(p) => format!("set server {}/{name} addr {addr} port {p}", a.backend),
        None => format!("set server {}/{name} addr {addr}", a.backend),
    };
    let sent = api::write(host, &a.socket, &cmd)?;
    Ok(Outputs::new()
        .set("server", name)
        .set("previous-addr", before.addr.clone())
        .set("previous-port", before.port)
        .set("addr", addr)
        .set("port", port)
        .set("planned", !sent))
}

pub fn wait_healthy(host: &dyn Host, a: &StepArgs, dry: bool) -> Result<Outputs, PluginError> {
    let name = server_name(a)?;
    if dry {
        let servers = api::servers(host, &a.socket, &a.backend)?;
        let s = find(&servers, &a.backend, name)?;
        return Ok(Outputs::new()
            .set("server", name)
            .set("health", s.health.clone())
            .set("check", s.check.clone())
            .set("planned", true));
    }
    let waited = wait_for(host, a, name, "it to be up with its check passing", |s| {
        s.health == "up" && passed(&s.check)
    })?;
    Ok(Outputs::new()
        .set("server", name)
        .set("health", "up")
        .set("waited-ms", waited)
        .set("planned", false))
}

/// HAProxy's check statuses that mean the last check passed (`L4OK`,
/// `L6OK`, `L7OK`, `L7OKC`); an empty status means no check configured.
/// A check under way is shown with a `* ` prefix.
fn passed(check: &str) -> bool {
    let check = check.trim_start_matches("* ");
    check.is_empty() || check.ends_with("OK") || check == "L7OKC"
}

/// Polls the backend until `done` holds for the server; milliseconds
/// waited, or an error at the timeout saying what was still the case.
fn wait_for(
    host: &dyn Host,
    a: &StepArgs,
    name: &str,
    what: &str,
    done: impl Fn(&Server) -> bool,
) -> Result<u64, PluginError> {
    let limit: Duration = a.timeout.map_or(DEFAULT_WAIT, Into::into);
    let started = Instant::now();
    loop {
        let servers = api::servers(host, &a.socket, &a.backend)?;
        let s = find(&servers, &a.backend, name)?;
        if done(s) {
            return Ok(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        }
        if started.elapsed() >= limit {
            return Err(PluginError::new(format!(
                "server {}/{name}: waited {}s for {what}; it is {} {} with {} sessions, check `{}`",
                a.backend,
                limit.as_secs(),
                s.state.as_str(),
                s.health,
                s.sessions,
                s.check
            )));
        }
        std::thread::sleep(POLL);
    }
}
