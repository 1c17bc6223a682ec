//! The docker engine's API (bollard) on a small tokio runtime owned by this
//! module: which engine a name means, a client per engine, and errors in an
//! operator's words. The `docker` capability and docker targets both use it;
//! commands in containers are in [`run`].

pub mod run;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::errors::Error as ApiError;

/// The engine of a call that names none and finds no `DOCKER_HOST`.
pub const DEFAULT_ENGINE: &str = "unix:///var/run/docker.sock";

/// Where an engine listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// An absolute socket path.
    Unix(String),
    /// `host:port`, spoken to in plain http.
    Tcp(String),
}

impl Engine {
    /// `unix:///PATH` (or a bare absolute path) or `tcp://HOST:PORT`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad =
            || format!("docker: engine `{s}` is neither `unix:///PATH` nor `tcp://HOST:PORT`");
        if let Some(path) = s
            .strip_prefix("unix://")
            .or(s.starts_with('/').then_some(s))
        {
            if !path.starts_with('/') || path.contains('\0') {
                return Err(bad());
            }
            return Ok(Engine::Unix(path.to_string()));
        }
        if let Some(rest) = s.strip_prefix("tcp://") {
            let hp = rest.strip_suffix('/').unwrap_or(rest);
            let ok = hp.rsplit_once(':').is_some_and(|(h, p)| {
                !h.is_empty()
                    && !h.contains(['/', '@', '?', '#'])
                    && p.parse::<u16>().is_ok_and(|p| p != 0)
            });
            return if ok {
                Ok(Engine::Tcp(hp.to_string()))
            } else {
                Err(bad())
            };
        }
        Err(bad())
    }

    /// The engine a call means: its own, else `DOCKER_HOST` of cairn's
    /// environment, else the default socket.
    pub fn resolve(requested: &str) -> Result<Self, String> {
        if !requested.is_empty() {
            return Self::parse(requested);
        }
        match std::env::var("DOCKER_HOST") {
            Ok(h) if !h.is_empty() => {
                Self::parse(&h).map_err(|e| format!("{e} (from DOCKER_HOST)"))
            }
            _ => Self::parse(DEFAULT_ENGINE),
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Unix(p) => write!(f, "unix://{p}"),
            Engine::Tcp(hp) => write!(f, "tcp://{hp}"),
        }
    }
}

/// A granted value matches the engine a call resolves to, written either
/// way (`unix:///run/docker.sock` or `/run/docker.sock`); `*` any.
pub fn engine_matches(granted: &str, engine: &str) -> bool {
    granted == engine || Engine::parse(granted).is_ok_and(|g| g.to_string() == engine)
}

/// Container names and ids as docker makes them; anything else (a `/`, a
/// `..`) could reach another API path and is refused.
pub fn check_container(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if first_ok
        && name.len() <= 255
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        Ok(())
    } else {
        Err(format!(
            "docker: `{name}` is not a container name or id (letters, digits, `_`, `.`, `-`)"
        ))
    }
}

pub(crate) fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cairn-docker")
            .enable_all()
            .build()
            .expect("tokio runtime for docker")
    })
}

/// Why a call failed, before it is phrased for the plugin.
#[derive(Debug)]
pub(crate) enum Failure {
    Timeout,
    Api(ApiError),
    /// Something else went wrong, in words.
    Other(String),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

/// Runs `fut` on the docker runtime until `deadline`.
pub(crate) fn block<T>(
    deadline: Instant,
    fut: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let until = tokio::time::Instant::from_std(deadline);
    rt().block_on(async move {
        match tokio::time::timeout_at(until, fut).await {
            Ok(r) => r,
            Err(_) => Err(Failure::Timeout),
        }
    })
}

/// A client of `engine`, its API version agreed with the engine on first
/// use (an engine older than bollard's version gets its own). Clients are
/// kept for the process; one that could not agree is not.
pub(crate) async fn client(engine: &Engine) -> Result<Docker, Failure> {
    static CLIENTS: OnceLock<Mutex<HashMap<String, Docker>>> = OnceLock::new();
    let key = engine.to_string();
    let clients = CLIENTS.get_or_init(Default::default);
    if let Some(d) = clients.lock().expect("docker clients").get(&key) {
        return Ok(d.clone());
    }
    let d = match engine {
        Engine::Unix(path) => Docker::connect_with_unix(path, 120, bollard::API_DEFAULT_VERSION)?,
        Engine::Tcp(hp) => {
            Docker::connect_with_http(&format!("tcp://{hp}"), 120, bollard::API_DEFAULT_VERSION)?
        }
    };
    let d = d.negotiate_version().await?;
    clients
        .lock()
        .expect("docker clients")
        .insert(key, d.clone());
    Ok(d)
}

/// The operations of the interface, for journals and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Inspect,
    List,
    Restart,
    Stop,
    Start,
    Exec,
}

impl Op {
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Op::Inspect => "inspect",
            Op::List => "list",
            Op::Restart => "restart",
            Op::Stop => "stop",
            Op::Start => "start",
            Op::Exec => "exec",
        }
    }
}

/// An error of the engine in an operator's words.
pub(crate) fn phrase(
    op: Op,
    engine: &Engine,
    container: Option<&str>,
    f: Failure,
    waited: Duration,
) -> String {
    let what = match container {
        Some(c) => format!("{} container `{c}` on {engine}", op.verb()),
        None => format!("list containers on {engine}"),
    };
    match f {
        Failure::Timeout => format!(
            "docker: {what}: no answer before the step's deadline ({})",
            crate::humanize::humanize(waited)
        ),
        Failure::Other(why) => format!("docker: {what}: {why}"),
        Failure::Api(ApiError::DockerResponseServerError {
            status_code: 404,
            message,
        }) if container.is_some_and(|c| message.contains(c))
            || message.contains("No such container") =>
        {
            format!(
                "docker: no container `{}` on {engine}",
                container.unwrap_or_default()
            )
        }
        Failure::Api(ApiError::DockerResponseServerError {
            status_code,
            message,
        }) => format!("docker: {what}: {} (status {status_code})", message.trim()),
        Failure::Api(ApiError::SocketNotFoundError(_)) => {
            format!("docker: {what}: cannot connect: no such socket")
        }
        Failure::Api(ApiError::RequestTimeoutError) => format!(
            "docker: {what}: no answer before the step's deadline ({})",
            crate::humanize::humanize(waited)
        ),
        Failure::Api(e) => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            let text = match text.find(" (os error") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            if text.contains("Connection refused") || text.contains("connect") {
                format!("docker: {what}: cannot connect: {text}")
            } else {
                format!("docker: {what}: {text}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_parse_and_print_canonically() {
        assert_eq!(
            Engine::parse("unix:///run/docker.sock"),
            Ok(Engine::Unix("/run/docker.sock".into()))
        );
        assert_eq!(
            Engine::parse("/run/docker.sock").unwrap().to_string(),
            "unix:///run/docker.sock"
        );
        assert_eq!(
            Engine::parse("tcp://127.0.0.1:2375/").unwrap().to_string(),
            "tcp://127.0.0.1:2375"
        );
        for bad in [
            "unix://run/docker.sock",
            "tcp://127.0.0.1",
            "tcp://:2375",
            "tcp://h:0",
            "tcp://a/b:1",
            "ssh://me@host",
            "docker.sock",
            "",
        ] {
            assert!(Engine::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grants_match_either_spelling() {
        assert!(engine_matches("unix:///run/d.sock", "unix:///run/d.sock"));
        assert!(engine_matches("/run/d.sock", "unix:///run/d.sock"));
        assert!(engine_matches(
            "tcp://127.0.0.1:2375/",
            "tcp://127.0.0.1:2375"
        ));
        assert!(!engine_matches("unix:///run/e.sock", "unix:///run/d.sock"));
        assert!(!engine_matches(
            "tcp://127.0.0.1:2376",
            "tcp://127.0.0.1:2375"
        ));
    }

    #[test]
    fn container_names_cannot_reach_other_paths() {
        assert!(check_container("cairn-lab-box").is_ok());
        assert!(check_container("7a85eb99d125").is_ok());
        assert!(check_container("web_1.x").is_ok());
        for bad in ["", "../images/json", "a/b", "-x", "a b", "a?b", ".x"] {
            assert!(check_container(bad).is_err(), "{bad}");
        }
    }
}
