//! The host's capabilities as a plugin sees them: the [`Host`] trait, made
//! of one trait per capability (`crate::caps`), and the plain Rust types of
//! `log`, `secrets`, `exec` and `http` under their old paths (those of
//! `socket` and `dns` are in [`crate::net`], those of `docker` in
//! [`crate::docker`], those of `storage` and `transfer` in [`crate::store`]).
//!
//! In a component, [`Plugin::run`](crate::Plugin::run) receives the real host
//! (calls cross the WIT boundary); in unit tests it receives a
//! [`MockHost`](crate::mock::MockHost).

use crate::caps::Capabilities;
use crate::mock_host::MockHost;
use crate::wit::WitHost;

pub use crate::caps::exec::{Command, Completed};
pub use crate::caps::http::{Request, Response};
pub use crate::caps::log::Level;
pub use crate::caps::secrets::{MaybeSecret, Secret};

/// What a plugin can ask of the host. Every call goes through the host's one
/// choke point: grants, dry-run, redaction, journaling and timeouts are
/// enforced there, not in the plugin.
///
/// Its methods are those of each capability's trait, in `crate::caps`:
/// [`log`](crate::caps::log::LogHost) (`log`, `debug`, `info`, `warn`),
/// [`secrets`](crate::caps::secrets::SecretsHost) (`secret`, `reveal`),
/// [`exec`](crate::caps::exec::ExecHost), [`http`](crate::caps::http::HttpHost),
/// [`storage`](crate::caps::storage::StorageHost) (`storage_*`),
/// [`transfer`](crate::caps::transfer::TransferHost),
/// [`socket`](crate::caps::socket::SocketHost),
/// [`dns`](crate::caps::dns::DnsHost) and
/// [`docker`](crate::caps::docker::DockerHost) (`docker_*`). On a
/// `&dyn Host` they need no import; on a concrete host (a `MockHost` in a
/// test) `use cairn_sdk::prelude::*` brings them into scope.
///
/// A host implements every capability's trait (the capabilities added after
/// the first ones have default methods that fail with "this host has no …
/// capability"), then `Host` itself.
pub trait Host: Capabilities {}

impl Host for WitHost {}

impl Host for MockHost {}
