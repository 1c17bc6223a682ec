//! The `storage` capability: objects in the project's named storages,
//! listed, read and written whole (small objects; bulk data goes through
//! [`transfer`](super::transfer)).

use std::time::{Duration, SystemTime};

use crate::HostError;
use crate::bindings::cairn::plugin::storage;
use crate::wit::WitHost;

mod mock;

pub use mock::StorageOp;
pub(crate) use mock::StorageCall;

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

fn no_storage(storage: &str) -> HostError {
    HostError::new(format!(
        "storage: `{storage}`: this host has no storage capability"
    ))
}

/// The [`Host`](crate::Host) methods of the `storage` capability.
///
/// Hosts written before the `storage` capability answer with an error.
pub trait StorageHost {
    /// Objects in the storage `storage` whose keys start with `prefix` (a
    /// string prefix: `backups/db-` matches `backups/db-1.zst`), by key.
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
    /// [`TransferHost::transfer`](super::transfer::TransferHost::transfer)).
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
}

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

impl StorageHost for WitHost {
    fn storage_list(&self, s: &str, prefix: &str) -> Result<Vec<ObjectInfo>, HostError> {
        let v = storage::list(s, prefix).map_err(HostError::new)?;
        Ok(v.into_iter().map(info).collect())
    }

    fn storage_head(&self, s: &str, key: &str) -> Result<Option<ObjectInfo>, HostError> {
        Ok(storage::head(s, key).map_err(HostError::new)?.map(info))
    }

    fn storage_get(&self, s: &str, key: &str) -> Result<Vec<u8>, HostError> {
        storage::get(s, key).map_err(HostError::new)
    }

    fn storage_put(&self, s: &str, key: &str, data: &[u8]) -> Result<Written, HostError> {
        storage::put(s, key, data)
            .map(written)
            .map_err(HostError::new)
    }

    fn storage_delete(&self, s: &str, key: &str) -> Result<Written, HostError> {
        storage::delete(s, key).map(written).map_err(HostError::new)
    }
}
