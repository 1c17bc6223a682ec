//! supervisor, through `supervisorctl` (`-c CONFIG` or `-s URL`).
//!
//! `supervisorctl status` lists every process, one a line:
//!
//! ```text
//! web                              RUNNING   pid 6196, uptime 0:06:00
//! workers:workers_00               STOPPED   Dec 03 10:30 AM
//! broken                           FATAL     Exited too quickly (process log may have details)
//! ```
//!
//! A process of a group is `GROUP:NAME`; a step may name it so, name the
//! group (`workers` or `workers:*`), or a program alone.

use std::cell::{Cell, OnceCell, RefCell};

use cairn_sdk::prelude::*;

use crate::backend::{check_signal, dedup, unknown};
use crate::{Backend, Class, Program, Verb, last_lines};

pub(crate) struct Supervisor {
    signal: String,
    /// The names of every process of the last listing, so that `act` can
    /// name a whole group or `all` (see `namespecs`).
    known: RefCell<Vec<String>>,
    /// The step runs on this machine: supervisord's socket is reachable.
    local: bool,
    config: Option<String>,
    server_url: Option<String>,
    /// supervisord's XML-RPC socket, once looked for (see `rpc`).
    socket: OnceCell<Option<String>>,
    /// The socket did not answer: supervisorctl from then on.
    socket_failed: Cell<bool>,
}

impl Supervisor {
    pub fn new(
        config: Option<&str>,
        server_url: Option<&str>,
        signal: Option<&str>,
        local: bool,
    ) -> Result<Self, PluginError> {
        Ok(Supervisor {
            signal: check_signal(signal)?,
            known: RefCell::new(Vec::new()),
            local,
            config: config.map(str::to_string),
            server_url: server_url.map(str::to_string),
            socket: OnceCell::new(),
            socket_failed: Cell::new(false),
        })
    }

    /// supervisord's XML-RPC socket, when the step runs here and it is
    /// known: `server-url`, else the config's `[supervisorctl] serverurl`
    /// (the config read once).
    fn rpc(&self, host: &dyn Host) -> Option<String> {
        if !self.local || self.socket_failed.get() {
            return None;
        }
        self.socket
            .get_or_init(|| {
                if let Some(url) = &self.server_url {
                    return crate::xmlrpc::address(url);
                }
                let path = self.config.as_deref()?;
                let read = host
                    .exec(&Command::new("cat").arg(path).effect(Effect::Read))
                    .ok()?;
                if read.planned || read.status != 0 {
                    return None;
                }
                crate::supervisor_rpc::server_url(&read.stdout_text(), path)
                    .and_then(|u| crate::xmlrpc::address(&u))
            })
            .clone()
    }

    /// The socket did not answer: said once, then supervisorctl.
    fn socket_failed(&self, host: &dyn Host, address: &str, why: &str) {
        self.socket_failed.set(true);
        host.info(&format!(
            "supervisor: no answer on {address} ({why}); using supervisorctl"
        ));
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut cmd = Command::new("supervisorctl");
        if let Some(c) = &self.config {
            cmd = cmd.args(["-c", c.as_str()]);
        }
        if let Some(s) = &self.server_url {
            cmd = cmd.args(["-s", s.as_str()]);
        }
        cmd.args(args)
    }

    /// Every process supervisord has.
    fn all(&self, host: &dyn Host) -> Result<Vec<Program>, PluginError> {
        Ok(self.listing(host)?.unwrap_or_default())
    }

    /// Every process supervisord has; `None` when the read was planned.
    /// Their names are kept for `act` (see `namespecs`).
    fn listing(&self, host: &dyn Host) -> Result<Option<Vec<Program>>, PluginError> {
        let progs = self.read_listing(host)?;
        if let Some(progs) = &progs {
            *self.known.borrow_mut() = progs.iter().map(|p| p.name.clone()).collect();
        }
        Ok(progs)
    }

    /// The listing through the socket, else `supervisorctl status`.
    fn read_listing(&self, host: &dyn Host) -> Result<Option<Vec<Program>>, PluginError> {
        if let Some(address) = self.rpc(host) {
            match crate::supervisor_rpc::listing(host, &address) {
                Ok(progs) => return Ok(progs),
                Err(crate::xmlrpc::CallError::Fault { code, message }) => {
                    return Err(PluginError::new(format!(
                        "supervisor: getAllProcessInfo on {address} failed: {message} (fault {code})"
                    )));
                }
                Err(crate::xmlrpc::CallError::Transport(why)) => {
                    self.socket_failed(host, &address, &why);
                }
            }
        }
        let done = host.exec(&self.command(["status"]).effect(Effect::Read))?;
        if done.planned {
            return Ok(None);
        }
        let text = done.stdout_text();
        let progs = parse_status(&text);
        // supervisorctl exits 3 when a process is not running: the listing
        // is still good. No listing at all is supervisord not answering.
        if progs.is_empty() && (done.status != 0 || !text.trim().is_empty()) {
            return Err(PluginError::new(format!(
                "supervisor: `supervisorctl status` exited with status {}: {}",
                done.status,
                crate::tail(&done, 5)
            )));
        }
        Ok(Some(progs))
    }
}

impl Backend for Supervisor {
    fn name(&self) -> &'static str {
        "supervisor"
    }

    fn select(
        &self,
        host: &dyn Host,
        wanted: Option<&[String]>,
    ) -> Result<Vec<Program>, PluginError> {
        // `None`: a dry-run step that runs offline (it depends on a planned
        // step): nothing is read, the names stand for themselves.
        let Some(all) = self.listing(host)? else {
            return Ok(unknown(wanted.unwrap_or_default()));
        };
        let Some(wanted) = wanted else {
            return Ok(all);
        };
        let mut picked = Vec::new();
        for w in wanted {
            let group = w.strip_suffix(":*").unwrap_or(w);
            let matching: Vec<String> = if all.iter().any(|p| &p.name == w) {
                vec![w.clone()]
            } else {
                all.iter()
                    .filter(|p| {
                        p.name
                            .strip_prefix(group)
                            .is_some_and(|r| r.starts_with(':'))
                    })
                    .map(|p| p.name.clone())
                    .collect()
            };
            if matching.is_empty() {
                let known: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
                return Err(PluginError::arg(
                    "programs",
                    format!(
                        "supervisor has no program `{w}` (it has: {})",
                        known.join(", ")
                    ),
                ));
            }
            picked.extend(matching);
        }
        dedup(&mut picked);
        Ok(picked
            .iter()
            .filter_map(|n| all.iter().find(|p| &p.name == n).cloned())
            .collect())
    }

    fn state(&self, host: &dyn Host, names: &[String]) -> Result<Vec<Program>, PluginError> {
        let all = self.all(host)?;
        names
            .iter()
            .map(|n| {
                all.iter()
                    .find(|p| &p.name == n)
                    .cloned()
                    .ok_or_else(|| PluginError::new(format!("supervisor: program `{n}` is gone")))
            })
            .collect()
    }

    fn act(
        &self,
        host: &dyn Host,
        verb: Verb,
        names: &[String],
        timeout: std::time::Duration,
    ) -> Result<Completed, PluginError> {
        let specs = if verb == Verb::Reload {
            names.to_vec()
        } else {
            namespecs(names, &self.known.borrow())
        };
        if verb != Verb::Pull
            && let Some(address) = self.rpc(host)
        {
            match crate::supervisor_rpc::act(host, &address, verb, &specs, &self.signal, timeout) {
                Ok(done) => return Ok(done),
                Err(why) => self.socket_failed(host, &address, &why),
            }
        }
        let mut args: Vec<String> = match verb {
            Verb::Start => vec!["start".into()],
            Verb::Stop => vec!["stop".into()],
            Verb::Restart => vec!["restart".into()],
            Verb::Reload => vec!["signal".into(), self.signal.clone()],
            Verb::Pull => {
                return Err(PluginError::new(
                    "`pull` is an action of the `compose` backend only",
                ));
            }
        };
        args.extend(specs);
        Ok(host.exec(&self.command(args).effect(Effect::Write).timeout(timeout))?)
    }

    fn look_pause_cap(&self) -> std::time::Duration {
        // A look through the socket costs milliseconds; supervisorctl's a
        // quarter of a second.
        match self.socket.get() {
            Some(Some(_)) if !self.socket_failed.get() => std::time::Duration::from_millis(100),
            _ => std::time::Duration::MAX,
        }
    }

    fn why(&self, host: &dyn Host, program: &Program) -> String {
        let log = |stream: &str| {
            host.exec(
                &self
                    .command(["tail", "-1600", program.name.as_str(), stream])
                    .effect(Effect::Read),
            )
            .ok()
            .filter(|d| d.status == 0)
            .map(|d| last_lines(&d.stdout_text(), 5))
            .unwrap_or_default()
        };
        let out = log("stdout");
        if out.is_empty() { log("stderr") } else { out }
    }
}

/// The names `supervisorctl` is given for `names`, among the processes
/// supervisord has (`known`): `all` when they are every one of them, a
/// group as `GROUP:*` when every process of the group is named, else the
/// names. `supervisorctl start a b` starts `a`, waits its `startsecs`, then
/// starts `b`; `all` and a group start (and stop) their processes together
/// and wait for them together, so a site of a web and two workers with
/// `startsecs=1` starts in one second, not three. Order is kept otherwise.
pub(crate) fn namespecs(names: &[String], known: &[String]) -> Vec<String> {
    let named = |n: &String| names.contains(n);
    if !known.is_empty() && names.len() >= known.len() && known.iter().all(named) {
        return vec!["all".into()];
    }
    let group_of = |n: &str| n.split_once(':').map(|(g, _)| g.to_string());
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let spec = match group_of(n) {
            Some(g)
                if known
                    .iter()
                    .filter(|k| group_of(k).as_deref() == Some(g.as_str()))
                    .all(named) =>
            {
                format!("{g}:*")
            }
            _ => n.clone(),
        };
        if !out.contains(&spec) {
            out.push(spec);
        }
    }
    out
}

/// What a supervisor state means; `None` for a word that is not one.
pub(crate) fn class_of(state: &str) -> Option<Class> {
    Some(match state {
        "RUNNING" => Class::Running,
        "STARTING" | "BACKOFF" => Class::Starting,
        "STOPPING" => Class::Stopping,
        "STOPPED" => Class::Stopped,
        // EXITED: it ran and ended, and supervisord will not start
        // it again (autorestart false, or an expected exit code).
        "EXITED" | "FATAL" | "UNKNOWN" => Class::Failed,
        _ => return None,
    })
}

/// The processes of `supervisorctl status`; lines that are not a process
/// (errors, warnings) are left out.
pub(crate) fn parse_status(text: &str) -> Vec<Program> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let state = words.next()?;
            let class = class_of(state)?;
            let detail = words.collect::<Vec<_>>().join(" ");
            let pid = detail
                .strip_prefix("pid ")
                .and_then(|r| r.split(',').next())
                .and_then(|p| p.trim().parse().ok());
            Some(Program {
                name: name.to_string(),
                state: state.to_string(),
                class,
                pid,
                detail,
            })
        })
        .collect()
}
