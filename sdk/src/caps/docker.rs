//! The `docker` capability: containers on a granted Docker engine,
//! inspected, listed, restarted, stopped, started, and commands run in
//! them ([`DockerHost`]; the mock host's containers are in `docker/mock.rs`).
//!
//! An engine is `unix:///PATH` or `tcp://HOST:PORT`, or `""` for the
//! default (`DOCKER_HOST` of cairn's environment, else
//! `unix:///var/run/docker.sock`).

use std::time::Duration;

use super::exec::{Completed, completed_from_wit, env_to_wit};
use super::secrets::MaybeSecret;
use crate::bindings::cairn::plugin::docker;
use crate::wit::{WitHost, effect_to_wit};
use crate::{Effect, HostError};

mod mock;

/// A container as the engine describes it (`docker.container-info` in the
/// WIT).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerInfo {
    pub id: String,
    /// Without docker's leading `/`.
    pub name: String,
    /// The image as it was named when the container was created.
    pub image: String,
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited`,
    /// `dead`; `unknown` when not looked up (`--offline`).
    pub state: String,
    pub running: bool,
    pub restart_count: u32,
    /// RFC 3339; empty when it never started.
    pub started_at: String,
    /// The exit code of its last process, when it is not running.
    pub exit_code: Option<i64>,
    /// `starting`, `healthy` or `unhealthy`, when it has a health check.
    pub health: Option<String>,
}

impl ContainerInfo {
    /// A running container `name` of `image` (for scripting the mock host).
    pub fn running(name: impl Into<String>, image: impl Into<String>) -> Self {
        let name = name.into();
        ContainerInfo {
            id: format!("{:0>12}", name.len()),
            name,
            image: image.into(),
            state: "running".into(),
            running: true,
            started_at: "2024-01-01T00:00:00Z".into(),
            ..ContainerInfo::default()
        }
    }

    /// The same container, stopped with `exit_code`.
    pub fn exited(mut self, exit_code: i64) -> Self {
        self.state = "exited".into();
        self.running = false;
        self.exit_code = Some(exit_code);
        self
    }

    pub fn health(mut self, health: impl Into<String>) -> Self {
        self.health = Some(health.into());
        self
    }
}

/// The outcome of a restart, stop or start (`docker.changed` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerChange {
    /// The container after the change; as it is now when `planned`.
    pub container: ContainerInfo,
    /// True when nothing was done (dry-run of a write).
    pub planned: bool,
}

/// A command to run in a container (`docker.exec` in the WIT).
///
/// ```
/// use cairn_sdk::{DockerExec, Effect};
/// let e = DockerExec::new("", "web", ["nginx", "-t"]).effect(Effect::Read);
/// assert_eq!(e.cmd, ["nginx", "-t"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DockerExec {
    /// The engine; `""` for the default.
    pub engine: String,
    pub container: String,
    /// The program and its arguments.
    pub cmd: Vec<String>,
    pub env: Vec<(String, MaybeSecret)>,
    pub cwd: Option<String>,
    /// `Read` commands run in a dry-run; `Write` (the default) are recorded
    /// and not run.
    pub effect: Effect,
}

impl DockerExec {
    pub fn new<I, S>(engine: impl Into<String>, container: impl Into<String>, cmd: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        DockerExec {
            engine: engine.into(),
            container: container.into(),
            cmd: cmd.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            cwd: None,
            effect: Effect::Write,
        }
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<MaybeSecret>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<String>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn effect(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }
}

/// One `docker` call, as the mock host records it.
#[derive(Debug, Clone, PartialEq)]
pub enum DockerCall {
    Inspect {
        engine: String,
        container: String,
    },
    List {
        engine: String,
    },
    Restart {
        engine: String,
        container: String,
        timeout_s: Option<u32>,
    },
    Stop {
        engine: String,
        container: String,
        timeout_s: Option<u32>,
    },
    Start {
        engine: String,
        container: String,
    },
    Exec(DockerExec),
}

fn no_docker(engine: &str) -> HostError {
    HostError::new(format!(
        "docker: `{engine}`: this host has no docker capability"
    ))
}

/// The [`Host`](crate::Host) methods of the `docker` capability.
///
/// Hosts written before the `docker` capability answer with an error.
pub trait DockerHost {
    /// A container on a granted engine (`""`: the default engine), by name
    /// or id. A read.
    fn docker_inspect(&self, engine: &str, container: &str) -> Result<ContainerInfo, HostError> {
        let _ = container;
        Err(no_docker(engine))
    }

    /// Every container of the engine, running or not, by name. A read.
    fn docker_list(&self, engine: &str) -> Result<Vec<ContainerInfo>, HostError> {
        Err(no_docker(engine))
    }

    /// Restarts a container: stops it (killing it after `timeout`, the
    /// container's own stop timeout when `None`) and starts it. A write: in
    /// a dry-run it is not done and the result has `planned` set.
    fn docker_restart(
        &self,
        engine: &str,
        container: &str,
        timeout: Option<Duration>,
    ) -> Result<ContainerChange, HostError> {
        let _ = (container, timeout);
        Err(no_docker(engine))
    }

    /// Stops a container (killing it after `timeout`). A write.
    fn docker_stop(
        &self,
        engine: &str,
        container: &str,
        timeout: Option<Duration>,
    ) -> Result<ContainerChange, HostError> {
        let _ = (container, timeout);
        Err(no_docker(engine))
    }

    /// Starts a container; a running one is left as it is. A write.
    fn docker_start(&self, engine: &str, container: &str) -> Result<ContainerChange, HostError> {
        let _ = container;
        Err(no_docker(engine))
    }

    /// Runs a command in a running container. In a dry-run a `write`
    /// command is not run: the result has `planned` set and no output.
    fn docker_exec(&self, exec: &DockerExec) -> Result<Completed, HostError> {
        Err(no_docker(&exec.engine))
    }
}

impl DockerHost for WitHost {
    fn docker_inspect(&self, engine: &str, container: &str) -> Result<ContainerInfo, HostError> {
        docker::inspect(engine, container)
            .map(container_from_wit)
            .map_err(HostError::new)
    }

    fn docker_list(&self, engine: &str) -> Result<Vec<ContainerInfo>, HostError> {
        docker::list(engine)
            .map(|l| l.into_iter().map(container_from_wit).collect())
            .map_err(HostError::new)
    }

    fn docker_restart(
        &self,
        engine: &str,
        container: &str,
        timeout: Option<Duration>,
    ) -> Result<ContainerChange, HostError> {
        docker::restart(engine, container, seconds(timeout))
            .map(change_from_wit)
            .map_err(HostError::new)
    }

    fn docker_stop(
        &self,
        engine: &str,
        container: &str,
        timeout: Option<Duration>,
    ) -> Result<ContainerChange, HostError> {
        docker::stop(engine, container, seconds(timeout))
            .map(change_from_wit)
            .map_err(HostError::new)
    }

    fn docker_start(&self, engine: &str, container: &str) -> Result<ContainerChange, HostError> {
        docker::start(engine, container)
            .map(change_from_wit)
            .map_err(HostError::new)
    }

    fn docker_exec(&self, e: &DockerExec) -> Result<Completed, HostError> {
        let env = env_to_wit(&e.env)?;
        let done = docker::exec(
            &e.engine,
            &e.container,
            &e.cmd,
            &env,
            e.cwd.as_deref(),
            effect_to_wit(e.effect),
        )
        .map_err(HostError::new)?;
        Ok(completed_from_wit(done))
    }
}

fn container_from_wit(c: docker::ContainerInfo) -> ContainerInfo {
    ContainerInfo {
        id: c.id,
        name: c.name,
        image: c.image,
        state: c.state,
        running: c.running,
        restart_count: c.restart_count,
        started_at: c.started_at,
        exit_code: c.exit_code,
        health: c.health,
    }
}

fn change_from_wit(c: docker::Changed) -> ContainerChange {
    ContainerChange {
        container: container_from_wit(c.container),
        planned: c.planned,
    }
}

/// Whole seconds, rounded up (a stop timeout of 1.5 s waits 2 s).
fn seconds(d: Option<Duration>) -> Option<u32> {
    d.map(|d| {
        let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
        u32::try_from(s).unwrap_or(u32::MAX)
    })
}
