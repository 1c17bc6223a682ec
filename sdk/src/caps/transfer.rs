//! The `transfer` capability: pipelines the host runs for bulk data
//! (source → transforms → sink), the bytes never passing through the
//! plugin.
//!
//! ```
//! use cairn_sdk::{Command, Effect};
//! use cairn_sdk::store::{Sink, Source, Transfer};
//!
//! let t = Transfer::new(Source::command(
//!         Command::new("pg_dump").args(["-Fc", "site"]).target("db").effect(Effect::Read),
//!     ))
//!     .zstd(3)
//!     .sha256()
//!     .to(Sink::object("offsite", "db/site.dump.zst"));
//! assert_eq!(t.effect(), Effect::Write);
//! assert_eq!(t.to_string(), "pg_dump -Fc site (on db) | zstd -3 | sha256 → object offsite:db/site.dump.zst");
//! ```

use std::fmt;
use std::time::Duration;

use super::exec::{Command, command_to_wit};
use crate::bindings::cairn::plugin::transfer;
use crate::mock_host::MockHost;
use crate::wit::{WitHost, millis};
use crate::{Effect, HostError};

/// An object in a named storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub storage: String,
    pub key: String,
}

impl ObjectRef {
    pub fn new(storage: impl Into<String>, key: impl Into<String>) -> Self {
        ObjectRef {
            storage: storage.into(),
            key: key.into(),
        }
    }
}

/// Where a transfer's bytes come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A command's standard output (its `effect` counts; its `stdin` must
    /// be `None`). A non-zero exit fails the transfer.
    Command(Command),
    /// A local file: absolute, or relative to the project root.
    File(String),
    /// A stored object.
    Object(ObjectRef),
}

impl Source {
    pub fn command(command: Command) -> Self {
        Source::Command(command)
    }

    pub fn file(path: impl Into<String>) -> Self {
        Source::File(path.into())
    }

    pub fn object(storage: impl Into<String>, key: impl Into<String>) -> Self {
        Source::Object(ObjectRef::new(storage, key))
    }
}

/// What a transfer does to the bytes on the way, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// zstd compression at a level (1 to 19).
    Zstd(i32),
    /// zstd decompression.
    Unzstd,
    /// gzip compression at a level (0 to 9).
    Gzip(u32),
    /// gzip decompression.
    Gunzip,
    /// Hashes the bytes at this point; the digest is in
    /// [`Transferred::sha256`]. At most one per transfer.
    Sha256,
}

/// Where a transfer's bytes go.
#[derive(Debug, Clone, PartialEq)]
pub enum Sink {
    /// A local file, renamed into place when the transfer succeeds.
    File(String),
    /// A stored object, committed when the transfer succeeds.
    Object(ObjectRef),
    /// A command's standard input; a non-zero exit fails the transfer.
    Command(Command),
    /// Nothing: count (and hash) the bytes and drop them.
    Discard,
}

impl Sink {
    pub fn command(command: Command) -> Self {
        Sink::Command(command)
    }

    pub fn file(path: impl Into<String>) -> Self {
        Sink::File(path.into())
    }

    pub fn object(storage: impl Into<String>, key: impl Into<String>) -> Self {
        Sink::Object(ObjectRef::new(storage, key))
    }
}

/// A pipeline the host runs: source → transforms → sink
/// (`transfer.pipeline` in the WIT).
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub source: Source,
    pub transforms: Vec<Transform>,
    pub sink: Sink,
    /// Per-call timeout; the step's deadline applies as well.
    pub timeout: Option<Duration>,
}

impl Transfer {
    /// A transfer from `source` into nothing; set the sink with [`Transfer::to`].
    pub fn new(source: Source) -> Self {
        Transfer {
            source,
            transforms: Vec::new(),
            sink: Sink::Discard,
            timeout: None,
        }
    }

    pub fn transform(mut self, t: Transform) -> Self {
        self.transforms.push(t);
        self
    }

    pub fn zstd(self, level: i32) -> Self {
        self.transform(Transform::Zstd(level))
    }

    pub fn unzstd(self) -> Self {
        self.transform(Transform::Unzstd)
    }

    pub fn gzip(self, level: u32) -> Self {
        self.transform(Transform::Gzip(level))
    }

    pub fn gunzip(self) -> Self {
        self.transform(Transform::Gunzip)
    }

    pub fn sha256(self) -> Self {
        self.transform(Transform::Sha256)
    }

    pub fn to(mut self, sink: Sink) -> Self {
        self.sink = sink;
        self
    }

    pub fn timeout(mut self, timeout: impl Into<Duration>) -> Self {
        self.timeout = Some(timeout.into());
        self
    }

    /// A write when the sink is anything but [`Sink::Discard`], or when the
    /// source command is a write.
    pub fn effect(&self) -> Effect {
        let source_writes = matches!(&self.source, Source::Command(c) if c.effect == Effect::Write);
        if source_writes || self.sink != Sink::Discard {
            Effect::Write
        } else {
            Effect::Read
        }
    }
}

fn command_text(c: &Command) -> String {
    let mut s = c.program.clone();
    for a in &c.args {
        s.push(' ');
        s.push_str(a);
    }
    if let Some(t) = &c.target {
        s.push_str(&format!(" (on {t})"));
    }
    s
}

/// A one-line description, for logs: `pg_dump -Fc site (on db) | zstd -3 |
/// sha256 → object offsite:key`.
impl fmt::Display for Transfer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Command(c) => write!(f, "{}", command_text(c))?,
            Source::File(p) => write!(f, "file {p}")?,
            Source::Object(o) => write!(f, "object {}:{}", o.storage, o.key)?,
        }
        for t in &self.transforms {
            match t {
                Transform::Zstd(l) => write!(f, " | zstd -{l}")?,
                Transform::Unzstd => write!(f, " | zstd -d")?,
                Transform::Gzip(l) => write!(f, " | gzip -{l}")?,
                Transform::Gunzip => write!(f, " | gzip -d")?,
                Transform::Sha256 => write!(f, " | sha256")?,
            }
        }
        match &self.sink {
            Sink::Command(c) => write!(f, " → {}", command_text(c)),
            Sink::File(p) => write!(f, " → file {p}"),
            Sink::Object(o) => write!(f, " → object {}:{}", o.storage, o.key),
            Sink::Discard => write!(f, " → discard"),
        }
    }
}

/// What a transfer did (`transfer.summary` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Transferred {
    /// Bytes read from the source.
    pub bytes_in: u64,
    /// Bytes written to the sink.
    pub bytes_out: u64,
    /// Hex digest of what the `sha256` transform saw.
    pub sha256: Option<String>,
    pub duration: Duration,
    /// True when nothing was done (dry-run of a write).
    pub planned: bool,
}

impl Transferred {
    /// What the host returns for a write in a dry-run.
    pub fn planned() -> Self {
        Transferred {
            planned: true,
            ..Transferred::default()
        }
    }
}

/// The [`Host`](crate::Host) method of the `transfer` capability.
pub trait TransferHost {
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
}

fn object(o: &ObjectRef) -> transfer::ObjectRef {
    transfer::ObjectRef {
        storage: o.storage.clone(),
        key: o.key.clone(),
    }
}

impl TransferHost for WitHost {
    fn transfer(&self, t: &Transfer) -> Result<Transferred, HostError> {
        let pipeline = transfer::Pipeline {
            source: match &t.source {
                Source::Command(c) => transfer::Source::Command(command_to_wit(c)?),
                Source::File(p) => transfer::Source::File(p.clone()),
                Source::Object(o) => transfer::Source::Object(object(o)),
            },
            transforms: t
                .transforms
                .iter()
                .map(|x| match *x {
                    Transform::Zstd(l) => transfer::Transform::Zstd(l),
                    Transform::Unzstd => transfer::Transform::Unzstd,
                    Transform::Gzip(l) => transfer::Transform::Gzip(l),
                    Transform::Gunzip => transfer::Transform::Gunzip,
                    Transform::Sha256 => transfer::Transform::Sha256,
                })
                .collect(),
            sink: match &t.sink {
                Sink::Command(c) => transfer::Sink::Command(command_to_wit(c)?),
                Sink::File(p) => transfer::Sink::File(p.clone()),
                Sink::Object(o) => transfer::Sink::Object(object(o)),
                Sink::Discard => transfer::Sink::Discard,
            },
            timeout_ms: t.timeout.map(millis),
        };
        let s = transfer::run(&pipeline).map_err(HostError::new)?;
        Ok(Transferred {
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
            sha256: s.sha256,
            duration: Duration::from_millis(s.duration_ms),
            planned: s.planned,
        })
    }
}

impl TransferHost for MockHost {
    fn transfer(&self, t: &Transfer) -> Result<Transferred, HostError> {
        self.record(t.clone());
        if self.is_dry_run() && t.effect() == Effect::Write {
            return Ok(Transferred::planned());
        }
        self.answer(t, || format!("transfer `{t}`"))
    }
}

impl MockHost {
    /// Queues the result of the next `transfer` call.
    pub fn transfer_returns(self, done: Transferred) -> Self {
        self.returns::<Transfer, _>(Ok(done))
    }

    /// Queues a host error for the next `transfer` call.
    pub fn transfer_fails(self, message: impl Into<String>) -> Self {
        self.returns::<Transfer, Transferred>(Err(HostError::new(message)))
    }

    /// Answers `transfer` calls once the queue is empty.
    pub fn on_transfer(
        self,
        handler: impl FnMut(&Transfer) -> Result<Transferred, HostError> + 'static,
    ) -> Self {
        self.answers(handler)
    }

    /// The transfers, in order.
    pub fn transfers(&self) -> Vec<Transfer> {
        self.recorded()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_plans_write_transfers_and_asks_the_script_for_reads() {
        let host = MockHost::new().dry_run();
        let t = Transfer::new(Source::command(
            Command::new("pg_dump").effect(Effect::Read),
        ))
        .zstd(3)
        .to(Sink::object("s", "db.zst"));
        assert!(host.transfer(&t).unwrap().planned);
        // A read transfer (a checksum check) is answered by the script.
        let check = Transfer::new(Source::object("s", "k")).sha256();
        assert_eq!(check.effect(), Effect::Read);
        let e = host.transfer(&check).unwrap_err();
        assert_eq!(
            e.message,
            "mock host: no response scripted for transfer `object s:k | sha256 → discard`"
        );
        assert_eq!(host.transfers(), [t, check]);
    }
}
