//! The mock host's storages: objects in memory.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

use super::{ObjectInfo, StorageHost, Written};
use crate::HostError;
use crate::mock_host::MockHost;

/// What a plugin asked of a storage (recorded as
/// [`Call::Storage`](crate::mock::Call::Storage)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageOp {
    /// `list`, with the prefix as the call's key.
    List,
    Head,
    Get,
    /// `put`, with the bytes.
    Put(Vec<u8>),
    Delete,
}

/// A storage call as the mock host records it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StorageCall {
    pub op: StorageOp,
    pub storage: String,
    /// The key; for `list`, the prefix.
    pub key: String,
}

/// The mock host's part: the objects, and failures queued for the next
/// calls.
#[derive(Default)]
struct MockStore {
    objects: RefCell<BTreeMap<(String, String), Vec<u8>>>,
    failures: RefCell<VecDeque<HostError>>,
}

/// The host's key rules: relative, no `..`, `.` or empty segments, no NUL.
fn check_key(key: &str, prefix: bool) -> Result<(), HostError> {
    let k = if prefix {
        key.strip_suffix('/').unwrap_or(key)
    } else {
        key
    };
    if prefix && k.is_empty() {
        return Ok(());
    }
    let bad = k.is_empty()
        || k.contains('\0')
        || k.starts_with('/')
        || k.split('/').any(|s| matches!(s, "" | "." | ".."));
    if bad {
        return Err(HostError::new(format!(
            "storage: key `{}` is refused",
            key.escape_debug()
        )));
    }
    Ok(())
}

impl MockHost {
    /// An object the plugin finds in storage `storage`.
    pub fn with_object(
        self,
        storage: impl Into<String>,
        key: impl Into<String>,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        self.part::<MockStore>()
            .objects
            .borrow_mut()
            .insert((storage.into(), key.into()), data.into());
        self
    }

    /// Queues a host error for the next storage call (denied, unreachable...).
    pub fn storage_fails(self, message: impl Into<String>) -> Self {
        self.part::<MockStore>()
            .failures
            .borrow_mut()
            .push_back(HostError::new(message));
        self
    }

    /// The bytes of an object, as the plugin left it.
    pub fn object(&self, storage: &str, key: &str) -> Option<Vec<u8>> {
        self.part::<MockStore>()
            .objects
            .borrow()
            .get(&(storage.to_string(), key.to_string()))
            .cloned()
    }

    /// The keys of a storage, sorted.
    pub fn keys(&self, storage: &str) -> Vec<String> {
        self.part::<MockStore>()
            .objects
            .borrow()
            .keys()
            .filter(|(s, _)| s == storage)
            .map(|(_, k)| k.clone())
            .collect()
    }
}

impl MockHost {
    /// Records a storage call and checks its key; the queued failure, if any.
    fn storage_call(&self, op: StorageOp, storage: &str, key: &str) -> Result<(), HostError> {
        self.record(StorageCall {
            op: op.clone(),
            storage: storage.to_string(),
            key: key.to_string(),
        });
        check_key(key, op == StorageOp::List)?;
        match self.part::<MockStore>().failures.borrow_mut().pop_front() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// A write's outcome: done (by `change`) unless in a dry-run.
    fn storage_write(&self, storage: &str, key: &str, change: impl FnOnce(&MockStore)) -> Written {
        let url = format!("mock://{storage}/{key}");
        if self.is_dry_run() {
            return Written { url, planned: true };
        }
        change(&self.part::<MockStore>());
        Written {
            url,
            planned: false,
        }
    }
}

fn info(key: &str, data: &[u8]) -> ObjectInfo {
    ObjectInfo::new(key, data.len() as u64)
}

impl StorageHost for MockHost {
    fn storage_list(&self, storage: &str, prefix: &str) -> Result<Vec<ObjectInfo>, HostError> {
        self.storage_call(StorageOp::List, storage, prefix)?;
        Ok(self
            .part::<MockStore>()
            .objects
            .borrow()
            .iter()
            .filter(|((s, k), _)| s == storage && k.starts_with(prefix))
            .map(|((_, k), v)| info(k, v))
            .collect())
    }

    fn storage_head(&self, storage: &str, key: &str) -> Result<Option<ObjectInfo>, HostError> {
        self.storage_call(StorageOp::Head, storage, key)?;
        Ok(self.object(storage, key).map(|v| info(key, &v)))
    }

    fn storage_get(&self, storage: &str, key: &str) -> Result<Vec<u8>, HostError> {
        self.storage_call(StorageOp::Get, storage, key)?;
        self.object(storage, key)
            .ok_or_else(|| HostError::new(format!("storage `{storage}`: no object `{key}`")))
    }

    fn storage_put(&self, storage: &str, key: &str, data: &[u8]) -> Result<Written, HostError> {
        self.storage_call(StorageOp::Put(data.to_vec()), storage, key)?;
        Ok(self.storage_write(storage, key, |store| {
            store
                .objects
                .borrow_mut()
                .insert((storage.to_string(), key.to_string()), data.to_vec());
        }))
    }

    fn storage_delete(&self, storage: &str, key: &str) -> Result<Written, HostError> {
        self.storage_call(StorageOp::Delete, storage, key)?;
        Ok(self.storage_write(storage, key, |store| {
            store
                .objects
                .borrow_mut()
                .remove(&(storage.to_string(), key.to_string()));
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_round_trip_in_memory() {
        let host = MockHost::new().with_object("local", "a/1", "one");
        host.storage_put("local", "a/2", b"two").unwrap();
        let keys: Vec<String> = host
            .storage_list("local", "a/")
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, ["a/1", "a/2"]);
        assert_eq!(host.storage_get("local", "a/2").unwrap(), b"two");
        assert_eq!(host.storage_head("local", "a/1").unwrap().unwrap().size, 3);
        host.storage_delete("local", "a/1").unwrap();
        assert_eq!(host.storage_head("local", "a/1").unwrap(), None);
        let e = host.storage_get("local", "../x").unwrap_err();
        assert_eq!(e.message, "storage: key `../x` is refused");
        assert_eq!(host.keys("local"), ["a/2"]);
    }

    #[test]
    fn dry_run_plans_writes() {
        let host = MockHost::new().dry_run().with_object("s", "k", "v");
        assert!(host.storage_put("s", "k2", b"x").unwrap().planned);
        assert!(host.storage_delete("s", "k").unwrap().planned);
        assert_eq!(host.keys("s"), ["k"]);
    }

    #[test]
    fn a_queued_failure_answers_the_next_call_only() {
        let host = MockHost::new()
            .with_object("s", "k", "v")
            .storage_fails("storage `s` is not granted");
        let e = host.storage_get("s", "k").unwrap_err();
        assert_eq!(e.message, "storage `s` is not granted");
        assert_eq!(host.storage_get("s", "k").unwrap(), b"v");
        assert_eq!(
            host.recorded::<StorageCall>()[0],
            StorageCall {
                op: StorageOp::Get,
                storage: "s".into(),
                key: "k".into()
            }
        );
    }
}
