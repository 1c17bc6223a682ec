//! Plain Rust types for the `storage` and `transfer` imports: objects in
//! the project's named storages, and host-side pipelines for bulk data.
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
use std::time::{Duration, SystemTime};

use crate::Effect;
use crate::command::Command;

/// An object's metadata (`storage.object-info` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The key, relative to the storage.
    pub key: String,
    pub size: u64,
    /// Last modification, in milliseconds since the Unix epoch.
    pub last_modified_ms: Option<u64>,
    /// The server's entity tag (s3), when there is one.
    pub etag: Option<String>,
}

impl ObjectInfo {
    pub fn new(key: impl Into<String>, size: u64) -> Self {
        ObjectInfo {
            key: key.into(),
            size,
            last_modified_ms: None,
            etag: None,
        }
    }

    /// The last modification as a [`SystemTime`].
    pub fn last_modified(&self) -> Option<SystemTime> {
        self.last_modified_ms
            .map(|ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
    }
}

/// The outcome of `put` or `delete` (`storage.written` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Written {
    /// Where the object is: `s3://bucket/prefix/key` or `dir://NAME/key`.
    pub url: String,
    /// True when nothing was done (dry-run of a write).
    pub planned: bool,
}

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
