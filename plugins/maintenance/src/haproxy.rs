//! Backend `haproxy`: the servers of an HAProxy backend are put in
//! maintenance through the runtime API (the `socket` capability); with no
//! server left, HAProxy answers 503 with the backend's `errorfile 503`,
//! the maintenance page. `off` puts back only the servers it is given,
//! which `on` returns: a server put in maintenance by hand stays there.

use cairn_sdk::prelude::*;

use crate::{Job, MaintenanceArgs};

/// `srv_admin_state` bits that mean maintenance: FMAINT (forced, by the
/// CLI), IMAINT (inherited), CMAINT (configuration), RMAINT (resolution),
/// HMAINT (health check).
const MAINT_BITS: u32 = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
/// Forced by the CLI: the only maintenance `off` undoes.
const FMAINT: u32 = 0x01;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Server {
    pub name: String,
    pub admin: u32,
}

impl Server {
    fn in_maintenance(&self) -> bool {
        self.admin & MAINT_BITS != 0
    }
}

pub(crate) struct Haproxy<'a> {
    socket: String,
    backend: String,
    a: &'a MaintenanceArgs,
}

impl<'a> Haproxy<'a> {
    pub fn new(a: &'a MaintenanceArgs) -> Result<Self, PluginError> {
        if a.file.is_some() || a.page.is_some() {
            return Err(PluginError::arg(
                if a.file.is_some() { "file" } else { "page" },
                "the `haproxy` backend serves the page of the backend's `errorfile 503`: it takes no `file` or `page`",
            ));
        }
        let socket = a
            .socket
            .clone()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                PluginError::arg(
                    "socket",
                    "the `haproxy` backend needs `socket`: the runtime API's address",
                )
            })?;
        let backend = a
            .haproxy_backend
            .clone()
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| {
                PluginError::arg(
                    "haproxy-backend",
                    "the `haproxy` backend needs `haproxy-backend`: the HAProxy backend whose servers go in maintenance",
                )
            })?;
        if !backend
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return Err(PluginError::arg(
                "haproxy-backend",
                format!("`{backend}` is not an HAProxy backend name"),
            ));
        }
        Ok(Haproxy { socket, backend, a })
    }

    fn send(
        &self,
        host: &dyn Host,
        line: &str,
        effect: Effect,
    ) -> Result<SocketReply, PluginError> {
        Ok(host.socket(
            &SocketRequest::new(self.socket.clone(), format!("{line}\n").into_bytes())
                .effect(effect),
        )?)
    }

    /// The backend's servers and their admin state; `None` when the read
    /// was only planned (a dry-run step after a planned one): nothing is
    /// known, so nothing is checked.
    pub fn servers(&self, host: &dyn Host) -> Result<Option<Vec<Server>>, PluginError> {
        let reply = self.send(
            host,
            &format!("show servers state {}", self.backend),
            Effect::Read,
        )?;
        if reply.planned {
            return Ok(None);
        }
        let text = reply.text();
        let servers = parse_state(&text, &self.backend);
        if servers.is_empty() {
            return Err(PluginError::new(format!(
                "haproxy: backend `{}` has no servers on `{}`: {}",
                self.backend,
                self.socket,
                text.trim()
            )));
        }
        Ok(Some(servers))
    }

    /// The outputs of a step whose read of the backend was only planned.
    fn not_known(&self, host: &dyn Host, on: bool) -> Outputs {
        host.info(&format!(
            "haproxy backend `{}`: the state of its servers is not known before the steps it depends on run",
            self.backend
        ));
        self.outputs(&[], on, false)
            .set("put-in-maintenance", Vec::<String>::new())
            .set("planned", true)
    }

    /// The servers a step names (`servers`), all of the backend by default.
    fn selected(
        &self,
        host: &dyn Host,
        names: Option<&[String]>,
    ) -> Result<Option<Vec<Server>>, PluginError> {
        let Some(all) = self.servers(host)? else {
            return Ok(None);
        };
        let Some(names) = names else {
            return Ok(Some(all));
        };
        names
            .iter()
            .map(|n| {
                all.iter().find(|s| &s.name == n).cloned().ok_or_else(|| {
                    let known: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
                    PluginError::arg(
                        "servers",
                        format!(
                            "backend `{}` has no server `{n}` (it has: {})",
                            self.backend,
                            known.join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    fn set(&self, host: &dyn Host, server: &str, state: &str) -> Result<bool, PluginError> {
        let reply = self.send(
            host,
            &format!("set server {}/{server} state {state}", self.backend),
            Effect::Write,
        )?;
        let text = reply.text();
        if !reply.planned && !text.trim().is_empty() {
            return Err(PluginError::new(format!(
                "haproxy: `set server {}/{server} state {state}` answered: {}",
                self.backend,
                text.trim()
            )));
        }
        Ok(reply.planned)
    }

    fn outputs(&self, servers: &[Server], on: bool, was_on: bool) -> Outputs {
        let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
        Outputs::new()
            .set("backend", "haproxy")
            .set("haproxy-backend", self.backend.as_str())
            .set("servers", names)
            .set("on", on)
            .set("was-on", was_on)
            .set("changed", on != was_on)
            .set("verified", false)
            .set("http-status", serde_json::Value::Null)
            .set("planned", false)
    }

    pub fn status(&self, host: &dyn Host, job: &Job) -> Result<Outputs, PluginError> {
        let Some(servers) = self.selected(host, self.a.servers.as_deref())? else {
            return Ok(self.not_known(host, false));
        };
        let on = servers.iter().all(Server::in_maintenance);
        let mut out = self
            .outputs(&servers, on, on)
            .set("put-in-maintenance", Vec::<String>::new());
        if let Some(url) = &self.a.url {
            let resp = host.http(&Request::get(url).timeout(job.timeout))?;
            let text = self.a.expect_text.as_deref().unwrap_or("");
            let verified = if on {
                resp.status == 503 && resp.text().contains(text)
            } else {
                resp.status != 503
            };
            out = out
                .set("http-status", resp.status)
                .set("verified", verified);
        }
        Ok(out)
    }

    pub fn on(&self, host: &dyn Host, job: &Job) -> Result<Outputs, PluginError> {
        let Some(servers) = self.selected(host, self.a.servers.as_deref())? else {
            return Ok(self.not_known(host, true));
        };
        let was_on = servers.iter().all(Server::in_maintenance);
        let mut changed = Vec::new();
        let mut planned = false;
        for s in servers.iter().filter(|s| !s.in_maintenance()) {
            planned |= self.set(host, &s.name, "maint")?;
            changed.push(s.name.clone());
        }
        let out = self
            .outputs(&servers, true, was_on)
            .set("put-in-maintenance", changed.clone());
        if planned {
            return Ok(out.set("planned", true));
        }
        let Some(url) = &self.a.url else {
            return Ok(out);
        };
        let text = self.a.expect_text.as_deref().unwrap_or("");
        match job.poll(url, |r| r.status == 503 && r.text().contains(text)) {
            Ok(status) => Ok(out.set("verified", true).set("http-status", status)),
            Err(last) => {
                let mut msg = format!(
                    "the maintenance page is not served at `{url}`: expected 503{}, got {last}",
                    if text.is_empty() {
                        String::new()
                    } else {
                        format!(" with `{text}`")
                    }
                );
                let back: Vec<String> = changed
                    .iter()
                    .filter(|n| self.set(host, n, "ready").is_ok())
                    .cloned()
                    .collect();
                if !back.is_empty() {
                    msg.push_str(&format!(
                        "; servers put back in service: {}",
                        back.join(", ")
                    ));
                }
                Err(PluginError::new(msg))
            }
        }
    }

    pub fn off(&self, host: &dyn Host, job: &Job) -> Result<Outputs, PluginError> {
        let Some(names) = self.a.servers.as_deref() else {
            return Err(PluginError::arg(
                "servers",
                "the `haproxy` backend's `off` needs `servers`: those `on` put in maintenance \
                 (`servers \"{{ steps.ID.outputs.put-in-maintenance }}\"`); cairn cannot tell who put the others there",
            ));
        };
        // Dry-run: `on` was only planned, so the servers it puts in
        // maintenance are not known yet; the backend is read, not checked.
        if job.ctx.known_later(&names.join(" ")) {
            let Some(servers) = self.servers(host)? else {
                return Ok(self.not_known(host, false));
            };
            host.info(&format!(
                "haproxy backend `{}`: would put back in service the servers `on` puts in maintenance",
                self.backend
            ));
            return Ok(self
                .outputs(&servers, false, false)
                .set("put-back", Vec::<String>::new())
                .set("planned", true));
        }
        let Some(servers) = self.selected(host, Some(names))? else {
            return Ok(self.not_known(host, false));
        };
        let was_on = !servers.is_empty() && servers.iter().all(Server::in_maintenance);
        let mut planned = false;
        let mut back = Vec::new();
        for s in &servers {
            if s.admin & FMAINT != 0 {
                planned |= self.set(host, &s.name, "ready")?;
                back.push(s.name.clone());
            }
        }
        let out = self.outputs(&servers, false, was_on).set("put-back", back);
        if planned {
            return Ok(out.set("planned", true));
        }
        job.verify_off(out)
    }
}

/// The servers of `backend` in `show servers state` (format 1: a version
/// line, a `#` header, one line per server: be_id be_name srv_id srv_name
/// srv_addr srv_op_state srv_admin_state ...).
pub(crate) fn parse_state(text: &str, backend: &str) -> Vec<Server> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 7 || f[1] != backend {
                return None;
            }
            Some(Server {
                name: f[3].to_string(),
                admin: f[6].parse().ok()?,
            })
        })
        .collect()
}
