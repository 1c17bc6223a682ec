//! The host's capabilities as a plugin sees them: the [`Host`] trait and the
//! plain Rust types it takes and returns, mirroring the WIT imports `log`,
//! `secrets`, `exec` and `http` (the types of `socket` and `dns` are in
//! [`crate::net`], those of `docker` in [`crate::docker`]).
//!
//! In a component, [`Plugin::run`](crate::Plugin::run) receives the real host
//! (calls cross the WIT boundary); in unit tests it receives a
//! [`MockHost`](crate::mock::MockHost).

use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use crate::bindings::cairn::plugin::secrets as wit;
use crate::docker::{ContainerChange, ContainerInfo, DockerExec};
use crate::net::{DnsAnswer, DnsQuery, SocketReply, SocketRequest};
use crate::store::{ObjectInfo, Transfer, Transferred, Written};
use crate::{Effect, HostError};

fn no_docker(engine: &str) -> HostError {
    HostError::new(format!(
        "docker: `{engine}`: this host has no docker capability"
    ))
}

fn no_storage(storage: &str) -> HostError {
    HostError::new(format!(
        "storage: `{storage}`: this host has no storage capability"
    ))
}

/// What a plugin can ask of the host. Every call goes through the host's one
/// choke point: grants, dry-run, redaction, journaling and timeouts are
/// enforced there, not in the plugin.
pub trait Host {
    /// A structured event into the run's journal and the host's tracing
    /// (target `plugin::NAME`).
    fn log(&self, level: Level, message: &str, fields: &[(&str, &str)]);

    /// Runs a command on a target. In a dry-run a `write` command is not run:
    /// the result has `planned` set and no output.
    fn exec(&self, command: &Command) -> Result<Completed, HostError>;

    /// Sends an HTTP request to a granted host. GET and HEAD are reads; in a
    /// dry-run any other method is not sent and the response has `planned`.
    fn http(&self, request: &Request) -> Result<Response, HostError>;

    /// A handle to the secret `name`, without reading it: pass it to
    /// [`Command::env`] or [`Request::header`].
    fn secret(&self, name: &str) -> Result<Secret, HostError>;

    /// Reads a secret's value; from then on the host redacts it everywhere.
    fn reveal(&self, secret: &Secret) -> Result<String, HostError>;

    /// Objects in the storage `storage` whose keys start with `prefix` (a
    /// string prefix: `backups/db-` matches `backups/db-1.zst`), by key.
    ///
    /// Hosts written before the `storage` capability answer with an error.
    fn storage_list(&self, storage: &str, prefix: &str) -> Result<Vec<ObjectInfo>, HostError> {
        let _ = prefix;
        Err(no_storage(storage))
    }

    /// An object's metadata, or `None` when it does not exist.
    fn storage_head(&self, storage: &str, key: &str) -> Result<Option<ObjectInfo>, HostError> {
        let _ = key;
        Err(no_storage(storage))
    }

    /// A small object's bytes (8 MiB at most; bulk data goes through
    /// [`Host::transfer`]).
    fn storage_get(&self, storage: &str, key: &str) -> Result<Vec<u8>, HostError> {
        let _ = key;
        Err(no_storage(storage))
    }

    /// Writes a small object whole (8 MiB at most). In a dry-run it is not
    /// written and the result has `planned` set.
    fn storage_put(&self, storage: &str, key: &str, data: &[u8]) -> Result<Written, HostError> {
        let _ = (key, data);
        Err(no_storage(storage))
    }

    /// Deletes an object (a missing one is no error). In a dry-run it is not
    /// deleted and the result has `planned` set.
    fn storage_delete(&self, storage: &str, key: &str) -> Result<Written, HostError> {
        let _ = key;
        Err(no_storage(storage))
    }

    /// Runs a streaming pipeline on the host (source → transforms → sink):
    /// the bytes never pass through the plugin. In a dry-run a write
    /// transfer is not run and the result has `planned` set.
    ///
    /// Hosts written before the `transfer` capability answer with an error.
    fn transfer(&self, transfer: &Transfer) -> Result<Transferred, HostError> {
        Err(HostError::new(format!(
            "transfer: `{transfer}`: this host has no transfer capability"
        )))
    }

    /// Sends a request on a granted unix or tcp socket and reads the reply.
    /// In a dry-run a `write` request is not sent: the reply has `planned`
    /// set and no data.
    ///
    /// Hosts written before the `socket` capability answer with an error.
    fn socket(&self, request: &SocketRequest) -> Result<SocketReply, HostError> {
        Err(HostError::new(format!(
            "socket: `{}`: this host has no socket capability",
            request.address
        )))
    }

    /// Looks a name up at a granted resolver. Lookups are reads; an answer
    /// with any response code (NXDOMAIN included) is `Ok`.
    ///
    /// Hosts written before the `dns` capability answer with an error.
    fn dns(&self, query: &DnsQuery) -> Result<DnsAnswer, HostError> {
        Err(HostError::new(format!(
            "dns: `{}`: this host has no dns capability",
            query.name
        )))
    }

    /// A container on a granted engine (`""`: the default engine), by name
    /// or id. A read.
    ///
    /// Hosts written before the `docker` capability answer with an error.
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

    fn debug(&self, message: &str) {
        self.log(Level::Debug, message, &[]);
    }

    fn info(&self, message: &str) {
        self.log(Level::Info, message, &[]);
    }

    fn warn(&self, message: &str) {
        self.log(Level::Warn, message, &[]);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// A secret by handle. Cloning is cheap; the value is read only by
/// [`Host::reveal`].
#[derive(Clone)]
pub struct Secret {
    name: Rc<str>,
    /// The host's resource; `None` for secrets made by the mock host.
    handle: Option<Rc<wit::Secret>>,
}

impl Secret {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn from_wit(name: String, handle: wit::Secret) -> Self {
        Secret {
            name: name.into(),
            handle: Some(Rc::new(handle)),
        }
    }

    pub(crate) fn unbound(name: &str) -> Self {
        Secret {
            name: name.into(),
            handle: None,
        }
    }

    pub(crate) fn wit_handle(&self) -> Result<&wit::Secret, HostError> {
        self.handle.as_deref().ok_or_else(|| {
            HostError::new(format!(
                "secret `{}` was not issued by this host",
                self.name
            ))
        })
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({:?})", self.name)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// A value for an environment variable or a header: plain text, or a secret
/// passed by handle (the plugin never sees its bytes).
#[derive(Debug, Clone, PartialEq)]
pub enum MaybeSecret {
    Plain(String),
    Secret(Secret),
}

impl From<&str> for MaybeSecret {
    fn from(s: &str) -> Self {
        MaybeSecret::Plain(s.to_string())
    }
}

impl From<String> for MaybeSecret {
    fn from(s: String) -> Self {
        MaybeSecret::Plain(s)
    }
}

impl From<&String> for MaybeSecret {
    fn from(s: &String) -> Self {
        MaybeSecret::Plain(s.clone())
    }
}

impl From<Secret> for MaybeSecret {
    fn from(s: Secret) -> Self {
        MaybeSecret::Secret(s)
    }
}

impl From<&Secret> for MaybeSecret {
    fn from(s: &Secret) -> Self {
        MaybeSecret::Secret(s.clone())
    }
}

/// A command to run on a target (`exec.command` in the WIT).
///
/// ```
/// use cairn_sdk::{Command, Effect};
/// let cmd = Command::new("git").args(["-C", "/srv/app", "rev-parse", "HEAD"]).effect(Effect::Read);
/// assert_eq!(cmd.args.len(), 4);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, MaybeSecret)>,
    pub cwd: Option<String>,
    pub stdin: Option<Vec<u8>>,
    /// Per-call timeout; the step's deadline applies as well.
    pub timeout: Option<Duration>,
    /// `Read` commands run in a dry-run; `Write` commands (the default) are
    /// recorded and not run.
    pub effect: Effect,
    /// The target to run on; the step's target when `None`.
    pub target: Option<String>,
}

impl Command {
    pub fn new(program: impl Into<String>) -> Self {
        Command {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            stdin: None,
            timeout: None,
            effect: Effect::Write,
            target: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<MaybeSecret>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<String>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    pub fn timeout(mut self, timeout: impl Into<Duration>) -> Self {
        self.timeout = Some(timeout.into());
        self
    }

    pub fn effect(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
}

/// How a command ended (`exec.completed` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completed {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// True when the command was not run (dry-run of a write).
    pub planned: bool,
}

impl Completed {
    pub fn new(status: i32, stdout: impl Into<Vec<u8>>, stderr: impl Into<Vec<u8>>) -> Self {
        Completed {
            status,
            stdout: stdout.into(),
            stderr: stderr.into(),
            planned: false,
        }
    }

    /// Status 0 with this output.
    pub fn ok(stdout: impl Into<Vec<u8>>) -> Self {
        Completed::new(0, stdout, Vec::new())
    }

    /// What the host returns for a write in a dry-run.
    pub fn planned() -> Self {
        Completed {
            planned: true,
            ..Completed::default()
        }
    }

    pub fn stdout_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stdout)
    }

    pub fn stderr_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stderr)
    }
}

/// An HTTP request (`http.request` in the WIT).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, MaybeSecret)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Option<Duration>,
    /// True by default.
    pub follow_redirects: bool,
}

impl Request {
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout: None,
            follow_redirects: true,
        }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Request::new("GET", url)
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<MaybeSecret>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub fn timeout(mut self, timeout: impl Into<Duration>) -> Self {
        self.timeout = Some(timeout.into());
        self
    }

    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// GET and HEAD are reads; every other method is a write.
    pub fn effect(&self) -> Effect {
        if self.method.eq_ignore_ascii_case("GET") || self.method.eq_ignore_ascii_case("HEAD") {
            Effect::Read
        } else {
            Effect::Write
        }
    }
}

/// An HTTP response (`http.response` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// True when the request was not sent (dry-run of a write).
    pub planned: bool,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
            planned: false,
        }
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// What the host returns for a write in a dry-run.
    pub fn planned() -> Self {
        Response {
            planned: true,
            ..Response::default()
        }
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}
