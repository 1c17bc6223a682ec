//! Targets: where a command runs. `local` is a process on this machine,
//! `ssh` goes through the system's OpenSSH (honouring the user's ssh config
//! and agent), `docker` is an exec in a container through the engine's API
//! (no `docker` client; the target's `host=`, else `DOCKER_HOST`, else the
//! default socket, as for the `docker` capability).
//!
//! Every ssh command of a run to the same target shares one connection: the
//! first opens a master (`ControlMaster`) whose socket lives in a short
//! per-run directory, the others are sessions multiplexed over it, and the
//! masters are closed (`ssh -O exit`) when the run's last [`Targets`] is
//! dropped. `ControlPersist` closes a master that outlives its run (a killed
//! cairn) after two idle minutes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use cairn_lang::TargetKind;

use crate::children::Command;

pub mod docker;
pub mod marked;
pub mod process;
pub mod programs;
mod ssh;

pub use ssh::ssh_control_dir;
use ssh::*;

use docker::Engine;
use docker::run::ContainerCommand;

/// The project's targets by name; `local` always exists.
///
/// While any `Targets` lives, ssh masters opened for commands stay up; when
/// the last one is dropped (the run is over) they are closed.
#[derive(Debug, Clone)]
pub struct Targets {
    map: BTreeMap<String, TargetKind>,
    _connections: Arc<RunConnections>,
}

impl Default for Targets {
    fn default() -> Self {
        Self::new(BTreeMap::new())
    }
}

impl Targets {
    pub fn new(mut map: BTreeMap<String, TargetKind>) -> Self {
        map.entry("local".into()).or_insert(TargetKind::Local);
        Self {
            map,
            _connections: Arc::new(RunConnections::new()),
        }
    }

    pub fn get(&self, name: &str) -> Option<&TargetKind> {
        self.map.get(name)
    }

    pub fn insert(&mut self, name: String, kind: TargetKind) {
        self.map.insert(name, kind);
    }

    /// Opens the shared connection of target `name` now if it is an ssh
    /// target, until `deadline`, so that its first command does not wait
    /// for the handshake. Nothing for other targets; a connection that
    /// cannot be opened is not an error here (the command will say why).
    pub fn connect(&self, name: &str, deadline: Instant) {
        if let Some(TargetKind::Ssh {
            destination,
            port,
            options,
        }) = self.map.get(name)
        {
            let ssh = SshTarget {
                destination,
                port: *port,
                options,
            };
            let _ = ssh.shared_connection(deadline);
        }
    }
}

/// A command as the host will run it.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
    /// On a `local` target, the file to run, found by the host (see
    /// [`programs`]); the program is then found on cairn's `PATH`.
    pub path: Option<PathBuf>,
}

impl Invocation {
    /// The command line as a shell would read it (for plans and journals).
    pub fn display(&self) -> String {
        let mut parts = Vec::new();
        if let Some(cwd) = &self.cwd {
            parts.push(format!("cd {} &&", quote(cwd)));
        }
        for (k, _) in &self.env {
            parts.push(format!("{k}=…"));
        }
        parts.push(quote(&self.program));
        parts.extend(self.args.iter().map(|a| quote(a)));
        parts.join(" ")
    }
}

/// How a command reaches its target.
#[derive(Debug)]
pub enum Launch {
    /// A process of this machine: the command itself (`local`) or the
    /// `ssh` client running it.
    Process(Command),
    /// An exec in a container, through the engine's API (`docker`).
    Container(ContainerCommand),
}

/// How `inv` runs on `target`. For ssh, the target's shared connection is
/// opened first if need be, until `deadline`. For docker, the engine is the
/// target's `host=`, else `DOCKER_HOST`, else the default socket; an
/// address that is not one, or a container name that is not one, is an
/// error.
pub fn launch(target: &TargetKind, inv: &Invocation, deadline: Instant) -> Result<Launch, String> {
    Ok(match target {
        TargetKind::Local => {
            let path = match &inv.path {
                Some(p) => p.clone(),
                None => {
                    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
                    let base = inv.cwd.as_ref().map_or(cwd.clone(), |d| cwd.join(d));
                    programs::find(&inv.program, &base)
                        .ok_or("no such program on this machine's PATH")?
                        .path
                }
            };
            // A clean environment: the few variables of cairn's own that
            // every program expects, then the command's.
            let mut c = Command::new(path);
            c.args(&inv.args);
            c.env_clear();
            c.envs(programs::passed_env());
            c.envs(inv.env.iter().map(|(k, v)| (k, v)));
            if let Some(cwd) = &inv.cwd {
                c.current_dir(cwd);
            }
            Launch::Process(c)
        }
        TargetKind::Ssh {
            destination,
            port,
            options,
        } => {
            let ssh = SshTarget {
                destination,
                port: *port,
                options,
            };
            let control = ssh.shared_connection(deadline);
            let mut c = ssh.command(control.as_deref().map_or(Sharing::None, Sharing::Client));
            c.arg("--").arg(remote_script(inv));
            Launch::Process(c)
        }
        TargetKind::Docker { container, host } => {
            let engine = Engine::resolve(host.as_deref().unwrap_or(""))?;
            let mut cmd = Vec::with_capacity(1 + inv.args.len());
            cmd.push(inv.program.clone());
            cmd.extend(inv.args.iter().cloned());
            Launch::Container(ContainerCommand::new(
                engine,
                container,
                cmd,
                inv.env.clone(),
                inv.cwd.clone(),
            )?)
        }
    })
}

/// POSIX shell quoting: bare when safe, single quotes otherwise.
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests;
