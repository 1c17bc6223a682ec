//! A [`Host`](crate::Host) for unit tests: [`MockHost`] records every call
//! and answers with scripted responses, so plugin logic runs natively under
//! `cargo test`, without wasmtime.
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
//!
//! Each capability scripts its own part (`exec_returns`, `on_http`,
//! `with_object`, `with_container`, …: see `caps/*.rs`); this module reads
//! the calls back as one list, [`MockHost::calls`].

use crate::caps::dns::DnsQuery;
use crate::caps::docker::DockerCall;
use crate::caps::exec::Command;
use crate::caps::http::Request;
use crate::caps::log::{Level, LogLine};
use crate::caps::secrets::SecretCall;
use crate::caps::socket::SocketRequest;
use crate::caps::storage::StorageCall;
use crate::caps::transfer::Transfer;
use crate::{Context, Outputs, Plugin, PluginError};

pub use crate::caps::storage::StorageOp;
pub use crate::mock_host::{MockHost, Recorded};

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
    Transfer(Box<Transfer>),
    Socket(SocketRequest),
    Dns(DnsQuery),
    Docker(DockerCall),
    /// A call of a capability without a variant of its own (one added
    /// after these): `recorded.get::<FooRequest>()` is its request.
    Other(Recorded),
}

impl From<Recorded> for Call {
    fn from(r: Recorded) -> Call {
        if let Some(l) = r.get::<LogLine>() {
            let LogLine {
                level,
                message,
                fields,
            } = l.clone();
            Call::Log {
                level,
                message,
                fields,
            }
        } else if let Some(c) = r.get::<Command>() {
            Call::Exec(c.clone())
        } else if let Some(req) = r.get::<Request>() {
            Call::Http(req.clone())
        } else if let Some(s) = r.get::<SecretCall>() {
            match s.clone() {
                SecretCall::Get(name) => Call::Secret(name),
                SecretCall::Reveal(name) => Call::Reveal(name),
            }
        } else if let Some(s) = r.get::<StorageCall>() {
            let StorageCall { op, storage, key } = s.clone();
            Call::Storage { op, storage, key }
        } else if let Some(t) = r.get::<Transfer>() {
            Call::Transfer(Box::new(t.clone()))
        } else if let Some(req) = r.get::<SocketRequest>() {
            Call::Socket(req.clone())
        } else if let Some(q) = r.get::<DnsQuery>() {
            Call::Dns(q.clone())
        } else if let Some(d) = r.get::<DockerCall>() {
            Call::Docker(d.clone())
        } else {
            Call::Other(r)
        }
    }
}

impl MockHost {
    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.records().into_iter().map(Call::from).collect()
    }

    /// Runs an action of plugin `P` the way the component export does:
    /// arguments as JSON text in, outputs as JSON text out.
    pub fn invoke<P: Plugin>(
        &self,
        ctx: &Context,
        action: &str,
        args: serde_json::Value,
    ) -> Result<Outputs, PluginError> {
        let json = crate::exports::invoke::<P>(self, ctx, action, &args.to_string())?;
        match serde_json::from_str(&json) {
            Ok(serde_json::Value::Object(map)) => Ok(Outputs::from(map)),
            _ => panic!("plugin outputs are not a JSON object: {json}"),
        }
    }
}

#[cfg(test)]
mod tests;
