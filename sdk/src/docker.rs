//! The plain Rust types of the `docker` capability: containers on a granted
//! Docker engine. [`Host::docker_inspect`](crate::Host::docker_inspect) and
//! the other `docker_*` methods take and return them.
//!
//! An engine is `unix:///PATH` or `tcp://HOST:PORT`, or `""` for the
//! default (`DOCKER_HOST` of cairn's environment, else
//! `unix:///var/run/docker.sock`).

use crate::Effect;
use crate::secret::MaybeSecret;

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
