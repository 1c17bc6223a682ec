//! A [`Host`] for unit tests: it records every call and answers with
//! scripted responses, so plugin logic runs natively under `cargo test`,
//! without wasmtime.
//!
//! ```
//! use cairn_sdk::prelude::*;
//! use cairn_sdk::mock::MockHost;
//!
//! let host = MockHost::new().exec_returns(Completed::ok("abc123\n"));
//! let done = host.exec(&Command::new("git").arg("rev-parse").effect(Effect::Read)).unwrap();
//! assert_eq!(done.stdout_text(), "abc123\n");
//! assert_eq!(host.commands()[0].program, "git");
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

use crate::docker::{ContainerChange, ContainerInfo, DockerCall, DockerExec};
use crate::host::{Completed, Host, Level, Request, Response, Secret};
use crate::net::{DnsAnswer, DnsQuery, SocketReply, SocketRequest};
use crate::{Command, Context, Effect, HostError, Outputs, Plugin, PluginError};

mod script;
mod store;

pub use store::StorageOp;

type Handler<I, O> = Box<dyn FnMut(&I) -> Result<O, HostError>>;

/// One call a plugin made, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Log {
        level: Level,
        message: String,
        fields: Vec<(String, String)>,
    },
    Exec(Command),
    Http(Request),
    /// `secrets.get(name)`.
    Secret(String),
    /// `secret.reveal()` of the named secret.
    Reveal(String),
    /// A `storage` call; for `list` the key is the prefix.
    Storage {
        op: StorageOp,
        storage: String,
        key: String,
    },
    /// A `transfer` (boxed: it is large).
    Transfer(Box<crate::store::Transfer>),
    Socket(SocketRequest),
    Dns(DnsQuery),
    Docker(DockerCall),
}

/// A scripted host. Responses are taken first from the queue filled by
/// `exec_returns` / `http_returns` (in order), then from the `on_exec` /
/// `on_http` handler; with neither, the call fails.
///
/// [`MockHost::dry_run`] imitates the host in `--dry-run`: writes are recorded
/// and answered with a planned result, without consulting the script.
#[derive(Default)]
pub struct MockHost {
    dry_run: bool,
    secrets: BTreeMap<String, String>,
    exec_queue: RefCell<VecDeque<Result<Completed, HostError>>>,
    exec_handler: RefCell<Option<Handler<Command, Completed>>>,
    http_queue: RefCell<VecDeque<Result<Response, HostError>>>,
    http_handler: RefCell<Option<Handler<Request, Response>>>,
    socket_queue: RefCell<VecDeque<Result<SocketReply, HostError>>>,
    socket_handler: RefCell<Option<Handler<SocketRequest, SocketReply>>>,
    dns_queue: RefCell<VecDeque<Result<DnsAnswer, HostError>>>,
    dns_handler: RefCell<Option<Handler<DnsQuery, DnsAnswer>>>,
    /// The containers `docker_*` calls see, by name (on every engine).
    containers: RefCell<BTreeMap<String, ContainerInfo>>,
    docker_exec_queue: RefCell<VecDeque<Result<Completed, HostError>>>,
    docker_exec_handler: RefCell<Option<Handler<DockerExec, Completed>>>,
    calls: RefCell<Vec<Call>>,
    store: store::MockStore,
}

fn answer<I, O>(
    queue: &RefCell<VecDeque<Result<O, HostError>>>,
    handler: &RefCell<Option<Handler<I, O>>>,
    input: &I,
    what: impl FnOnce() -> String,
) -> Result<O, HostError> {
    if let Some(next) = queue.borrow_mut().pop_front() {
        return next;
    }
    match handler.borrow_mut().as_mut() {
        Some(handler) => handler(input),
        None => Err(HostError::new(format!(
            "mock host: no response scripted for {}",
            what()
        ))),
    }
}

impl Host for MockHost {
    fn storage_list(
        &self,
        storage: &str,
        prefix: &str,
    ) -> Result<Vec<crate::ObjectInfo>, HostError> {
        self.mock_list(storage, prefix)
    }

    fn storage_head(
        &self,
        storage: &str,
        key: &str,
    ) -> Result<Option<crate::ObjectInfo>, HostError> {
        self.mock_head(storage, key)
    }

    fn storage_get(&self, storage: &str, key: &str) -> Result<Vec<u8>, HostError> {
        self.mock_get(storage, key)
    }

    fn storage_put(
        &self,
        storage: &str,
        key: &str,
        data: &[u8],
    ) -> Result<crate::Written, HostError> {
        self.mock_put(storage, key, data)
    }

    fn storage_delete(&self, storage: &str, key: &str) -> Result<crate::Written, HostError> {
        self.mock_delete(storage, key)
    }

    fn transfer(&self, transfer: &crate::Transfer) -> Result<crate::Transferred, HostError> {
        self.mock_transfer(transfer)
    }

    fn log(&self, level: Level, message: &str, fields: &[(&str, &str)]) {
        self.record(Call::Log {
            level,
            message: message.to_string(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
    }

    fn exec(&self, command: &Command) -> Result<Completed, HostError> {
        self.record(Call::Exec(command.clone()));
        if self.dry_run && command.effect == Effect::Write {
            return Ok(Completed::planned());
        }
        answer(&self.exec_queue, &self.exec_handler, command, || {
            format!("exec `{}`", command.program)
        })
    }

    fn http(&self, request: &Request) -> Result<Response, HostError> {
        self.record(Call::Http(request.clone()));
        if self.dry_run && request.effect() == Effect::Write {
            return Ok(Response::planned());
        }
        answer(&self.http_queue, &self.http_handler, request, || {
            format!("{} `{}`", request.method, request.url)
        })
    }

    fn secret(&self, name: &str) -> Result<Secret, HostError> {
        self.record(Call::Secret(name.to_string()));
        if self.secrets.contains_key(name) {
            Ok(Secret::unbound(name))
        } else {
            Err(HostError::new(format!("secret `{name}` is not defined")))
        }
    }

    fn reveal(&self, secret: &Secret) -> Result<String, HostError> {
        self.record(Call::Reveal(secret.name().to_string()));
        self.secrets
            .get(secret.name())
            .cloned()
            .ok_or_else(|| HostError::new(format!("secret `{}` is not defined", secret.name())))
    }

    fn socket(&self, request: &SocketRequest) -> Result<SocketReply, HostError> {
        self.record(Call::Socket(request.clone()));
        if self.dry_run && request.effect == Effect::Write {
            return Ok(SocketReply::planned());
        }
        answer(&self.socket_queue, &self.socket_handler, request, || {
            format!("socket `{}`", request.address)
        })
    }

    fn docker_inspect(&self, engine: &str, container: &str) -> Result<ContainerInfo, HostError> {
        self.record(Call::Docker(DockerCall::Inspect {
            engine: engine.into(),
            container: container.into(),
        }));
        let name = self.find_container(engine, container)?;
        Ok(self.containers.borrow()[&name].clone())
    }

    fn docker_list(&self, engine: &str) -> Result<Vec<ContainerInfo>, HostError> {
        self.record(Call::Docker(DockerCall::List {
            engine: engine.into(),
        }));
        Ok(self.containers.borrow().values().cloned().collect())
    }

    fn docker_restart(
        &self,
        engine: &str,
        container: &str,
        timeout: Option<std::time::Duration>,
    ) -> Result<ContainerChange, HostError> {
        self.record(Call::Docker(DockerCall::Restart {
            engine: engine.into(),
            container: container.into(),
            timeout_s: timeout.map(|t| t.as_secs() as u32),
        }));
        if !self.dry_run {
            // A restart starts it anew even when it was running.
            let name = self.find_container(engine, container)?;
            if let Some(c) = self.containers.borrow_mut().get_mut(&name) {
                c.running = false;
            }
        }
        self.change_container(engine, container, true)
    }

    fn docker_stop(
        &self,
        engine: &str,
        container: &str,
        timeout: Option<std::time::Duration>,
    ) -> Result<ContainerChange, HostError> {
        self.record(Call::Docker(DockerCall::Stop {
            engine: engine.into(),
            container: container.into(),
            timeout_s: timeout.map(|t| t.as_secs() as u32),
        }));
        self.change_container(engine, container, false)
    }

    fn docker_start(&self, engine: &str, container: &str) -> Result<ContainerChange, HostError> {
        self.record(Call::Docker(DockerCall::Start {
            engine: engine.into(),
            container: container.into(),
        }));
        self.change_container(engine, container, true)
    }

    fn docker_exec(&self, exec: &DockerExec) -> Result<Completed, HostError> {
        self.record(Call::Docker(DockerCall::Exec(exec.clone())));
        if self.dry_run && exec.effect == Effect::Write {
            return Ok(Completed::planned());
        }
        answer(
            &self.docker_exec_queue,
            &self.docker_exec_handler,
            exec,
            || {
                format!(
                    "docker exec `{}` in `{}`",
                    exec.cmd.join(" "),
                    exec.container
                )
            },
        )
    }

    fn dns(&self, query: &DnsQuery) -> Result<DnsAnswer, HostError> {
        self.record(Call::Dns(query.clone()));
        answer(&self.dns_queue, &self.dns_handler, query, || {
            format!("dns `{}` {}", query.name, query.record_type)
        })
    }
}

#[cfg(test)]
mod tests;
