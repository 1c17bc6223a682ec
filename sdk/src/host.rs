//! The host's capabilities as a plugin sees them: the [`Host`] trait and the
//! plain Rust types it takes and returns, mirroring the WIT imports `log`,
//! `secrets`, `exec` and `http` (the types of `socket` and `dns` are in
//! [`crate::net`], those of `docker` in [`crate::docker`]).
//!
//! In a component, [`Plugin::run`](crate::Plugin::run) receives the real host
//! (calls cross the WIT boundary); in unit tests it receives a
//! [`MockHost`](crate::mock::MockHost).

use std::time::Duration;

use crate::HostError;
pub use crate::command::{Command, Completed};
use crate::docker::{ContainerChange, ContainerInfo, DockerExec};
pub use crate::http::{Request, Response};
use crate::net::{DnsAnswer, DnsQuery, SocketReply, SocketRequest};
pub use crate::secret::{MaybeSecret, Secret};
use crate::store::{ObjectInfo, Transfer, Transferred, Written};

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
