//! The `storage` and `transfer` imports, converted to and from the plain
//! types of [`crate::store`]. [`crate::wit_host::WitHost`] calls these.

use crate::bindings::cairn::plugin::{exec, storage, transfer};
use crate::secret::MaybeSecret;
use crate::store::{
    ObjectInfo, ObjectRef, Sink, Source, Transfer, Transferred, Transform, Written,
};
use crate::wit_common::{effect_to_wit, millis};
use crate::{Command, HostError};

fn info(o: storage::ObjectInfo) -> ObjectInfo {
    ObjectInfo {
        key: o.key,
        size: o.size,
        last_modified_ms: o.last_modified_ms,
        etag: o.etag,
    }
}

fn written(w: storage::Written) -> Written {
    Written {
        url: w.url,
        planned: w.planned,
    }
}

pub fn list(s: &str, prefix: &str) -> Result<Vec<ObjectInfo>, HostError> {
    let v = storage::list(s, prefix).map_err(HostError::new)?;
    Ok(v.into_iter().map(info).collect())
}

pub fn head(s: &str, key: &str) -> Result<Option<ObjectInfo>, HostError> {
    Ok(storage::head(s, key).map_err(HostError::new)?.map(info))
}

pub fn get(s: &str, key: &str) -> Result<Vec<u8>, HostError> {
    storage::get(s, key).map_err(HostError::new)
}

pub fn put(s: &str, key: &str, data: &[u8]) -> Result<Written, HostError> {
    storage::put(s, key, data)
        .map(written)
        .map_err(HostError::new)
}

pub fn delete(s: &str, key: &str) -> Result<Written, HostError> {
    storage::delete(s, key).map(written).map_err(HostError::new)
}

/// `exec.command` for an `exec` call or a command end of a transfer;
/// secrets stay handles borrowed from `command`.
pub(crate) fn command(c: &Command) -> Result<exec::Command<'_>, HostError> {
    let env = c
        .env
        .iter()
        .map(|(name, value)| {
            Ok(exec::EnvVar {
                name: name.clone(),
                value: match value {
                    MaybeSecret::Plain(s) => exec::EnvValue::Plain(s.clone()),
                    MaybeSecret::Secret(s) => exec::EnvValue::Secret(s.wit_handle()?),
                },
            })
        })
        .collect::<Result<Vec<_>, HostError>>()?;
    Ok(exec::Command {
        program: c.program.clone(),
        args: c.args.clone(),
        env,
        cwd: c.cwd.clone(),
        stdin: c.stdin.clone(),
        timeout_ms: c.timeout.map(millis),
        effect: effect_to_wit(c.effect),
        target: c.target.clone(),
    })
}

fn object(o: &ObjectRef) -> transfer::ObjectRef {
    transfer::ObjectRef {
        storage: o.storage.clone(),
        key: o.key.clone(),
    }
}

pub fn run(t: &Transfer) -> Result<Transferred, HostError> {
    let pipeline = transfer::Pipeline {
        source: match &t.source {
            Source::Command(c) => transfer::Source::Command(command(c)?),
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
            Sink::Command(c) => transfer::Sink::Command(command(c)?),
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
        duration: std::time::Duration::from_millis(s.duration_ms),
        planned: s.planned,
    })
}
