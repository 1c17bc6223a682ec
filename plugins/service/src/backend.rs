//! What every backend (supervisor, systemd, compose) provides: the state of
//! its programs and the commands that change it.

use cairn_sdk::prelude::*;

use crate::ServiceArgs;

/// One program (a supervisor process, a systemd unit, a compose service)
/// as its backend reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Program {
    pub name: String,
    /// The backend's own word: `RUNNING`, `active`, `running (healthy)`.
    pub state: String,
    pub class: Class,
    pub pid: Option<u64>,
    /// What else the backend says: uptime, the reason it exited, health.
    pub detail: String,
}

/// Where a program is, whatever the backend calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Up and ready (supervisor `RUNNING`, systemd `active`, compose
    /// running and healthy or without a health check).
    Running,
    /// On its way up, not ready yet (`STARTING`, `BACKOFF`, `activating`,
    /// health `starting`).
    Starting,
    Stopping,
    Stopped,
    /// Gave up (`FATAL`, systemd `failed`, a container that exited with an
    /// error).
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Start,
    Stop,
    Restart,
    Reload,
    Pull,
}

impl Verb {
    pub fn word(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
            Verb::Reload => "reload",
            Verb::Pull => "pull",
        }
    }
}

pub(crate) trait Backend {
    fn name(&self) -> &'static str;

    /// The current state of the programs a step names, groups and patterns
    /// expanded, in the backend's order; `None`: every program it has. A
    /// name the backend does not have is an error.
    fn select(
        &self,
        host: &dyn Host,
        wanted: Option<&[String]>,
    ) -> Result<Vec<Program>, PluginError>;

    /// The current state of exactly these programs (names as `select`
    /// returned them).
    fn state(&self, host: &dyn Host, names: &[String]) -> Result<Vec<Program>, PluginError>;

    /// Runs the command of `verb` on `names` (a write).
    fn act(
        &self,
        host: &dyn Host,
        verb: Verb,
        names: &[String],
        timeout: std::time::Duration,
    ) -> Result<Completed, PluginError>;

    /// Why a program failed: the end of its log, when the backend keeps one.
    fn why(&self, host: &dyn Host, program: &Program) -> String;

    /// The longest pause between two looks at the state while waiting
    /// (within the step's `interval`): short where a look is cheap.
    fn look_pause_cap(&self) -> std::time::Duration {
        std::time::Duration::MAX
    }
}

/// The backend a step's arguments name, refusing arguments of another one.
/// `local`: the step runs on this machine (no target, or `local`).
pub(crate) fn from_args(a: &ServiceArgs, local: bool) -> Result<Box<dyn Backend>, PluginError> {
    let foreign = |given: bool, arg: &str, owner: &str| -> Result<(), PluginError> {
        if given {
            Err(PluginError::arg(
                arg,
                format!(
                    "`{arg}` is an argument of the `{owner}` backend, not of `{}`",
                    a.backend
                ),
            ))
        } else {
            Ok(())
        }
    };
    match a.backend.as_str() {
        "supervisor" => {
            foreign(a.user, "user", "systemd")?;
            foreign(a.file.is_some(), "file", "compose")?;
            foreign(a.project.is_some(), "project", "compose")?;
            foreign(a.compose_command.is_some(), "compose-command", "compose")?;
            foreign(a.docker_host.is_some(), "docker-host", "compose")?;
            Ok(Box::new(crate::supervisor::Supervisor::new(
                a.config.as_deref(),
                a.server_url.as_deref(),
                a.signal.as_deref(),
                local,
            )?))
        }
        "systemd" => {
            foreign(a.config.is_some(), "config", "supervisor")?;
            foreign(a.server_url.is_some(), "server-url", "supervisor")?;
            foreign(a.file.is_some(), "file", "compose")?;
            foreign(a.project.is_some(), "project", "compose")?;
            foreign(a.compose_command.is_some(), "compose-command", "compose")?;
            foreign(a.signal.is_some(), "signal", "supervisor")?;
            foreign(a.docker_host.is_some(), "docker-host", "compose")?;
            Ok(Box::new(crate::systemd::Systemd::new(a.user)))
        }
        "compose" => {
            foreign(a.config.is_some(), "config", "supervisor")?;
            foreign(a.server_url.is_some(), "server-url", "supervisor")?;
            foreign(a.user, "user", "systemd")?;
            Ok(Box::new(crate::compose::Compose::new(
                a.file.as_deref(),
                a.project.as_deref(),
                a.compose_command.as_deref(),
                a.signal.as_deref(),
                a.docker_host.as_deref(),
            )?))
        }
        other => Err(PluginError::arg(
            "backend",
            format!("unknown backend `{other}`, expected `supervisor`, `systemd` or `compose`"),
        )),
    }
}

/// A signal name for `supervisorctl signal` and `docker compose kill -s`.
pub(crate) fn check_signal(signal: Option<&str>) -> Result<String, PluginError> {
    let s = signal.unwrap_or("HUP").trim();
    let name = s.strip_prefix("SIG").unwrap_or(s);
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(PluginError::arg(
            "signal",
            format!("`{s}` is not a signal name (`HUP`, `USR2`...)"),
        ));
    }
    Ok(name.to_ascii_uppercase())
}

/// Keeps the first occurrence of each name.
pub(crate) fn dedup(names: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    names.retain(|n| seen.insert(n.clone()));
}

/// Programs whose state was not read: `stop` and `start` both plan
/// their command for them.
pub(crate) fn unknown(names: &[String]) -> Vec<Program> {
    names
        .iter()
        .map(|n| Program {
            name: n.clone(),
            state: "unknown".into(),
            class: Class::Stopping,
            pid: None,
            detail: "not read: this dry-run step depends on a planned one".into(),
        })
        .collect()
}
