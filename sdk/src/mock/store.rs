//! The mock host's storages (objects in memory) and scripted transfers.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};

use super::{Call, Handler, MockHost, answer};
use crate::store::{ObjectInfo, Transfer, Transferred, Written};
use crate::{Effect, HostError};

/// What a plugin asked of a storage (recorded as [`Call::Storage`]).
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

#[derive(Default)]
pub(super) struct MockStore {
    objects: RefCell<BTreeMap<(String, String), Vec<u8>>>,
    failures: RefCell<VecDeque<HostError>>,
    transfer_queue: RefCell<VecDeque<Result<Transferred, HostError>>>,
    transfer_handler: RefCell<Option<Handler<Transfer, Transferred>>>,
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
        self.store
            .objects
            .borrow_mut()
            .insert((storage.into(), key.into()), data.into());
        self
    }

    /// Queues a host error for the next storage call (denied, unreachable...).
    pub fn storage_fails(self, message: impl Into<String>) -> Self {
        self.store
            .failures
            .borrow_mut()
            .push_back(HostError::new(message));
        self
    }

    /// The bytes of an object, as the plugin left it.
    pub fn object(&self, storage: &str, key: &str) -> Option<Vec<u8>> {
        self.store
            .objects
            .borrow()
            .get(&(storage.to_string(), key.to_string()))
            .cloned()
    }

    /// The keys of a storage, sorted.
    pub fn keys(&self, storage: &str) -> Vec<String> {
        self.store
            .objects
            .borrow()
            .keys()
            .filter(|(s, _)| s == storage)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Queues the result of the next `transfer` call.
    pub fn transfer_returns(self, done: Transferred) -> Self {
        self.store.transfer_queue.borrow_mut().push_back(Ok(done));
        self
    }

    /// Queues a host error for the next `transfer` call.
    pub fn transfer_fails(self, message: impl Into<String>) -> Self {
        self.store
            .transfer_queue
            .borrow_mut()
            .push_back(Err(HostError::new(message)));
        self
    }

    /// Answers `transfer` calls once the queue is empty.
    pub fn on_transfer(
        self,
        handler: impl FnMut(&Transfer) -> Result<Transferred, HostError> + 'static,
    ) -> Self {
        *self.store.transfer_handler.borrow_mut() = Some(Box::new(handler));
        self
    }

    /// The transfers, in order.
    pub fn transfers(&self) -> Vec<Transfer> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Transfer(t) => Some(*t),
                _ => None,
            })
            .collect()
    }

    /// Records a storage call and checks its key; the queued failure, if any.
    fn storage_call(&self, op: StorageOp, storage: &str, key: &str) -> Result<(), HostError> {
        self.record(Call::Storage {
            op: op.clone(),
            storage: storage.to_string(),
            key: key.to_string(),
        });
        check_key(key, op == StorageOp::List)?;
        match self.store.failures.borrow_mut().pop_front() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn info(key: &str, data: &[u8]) -> ObjectInfo {
        ObjectInfo::new(key, data.len() as u64)
    }

    pub(super) fn mock_list(
        &self,
        storage: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>, HostError> {
        self.storage_call(StorageOp::List, storage, prefix)?;
        Ok(self
            .store
            .objects
            .borrow()
            .iter()
            .filter(|((s, k), _)| s == storage && k.starts_with(prefix))
            .map(|((_, k), v)| Self::info(k, v))
            .collect())
    }

    pub(super) fn mock_head(
        &self,
        storage: &str,
        key: &str,
    ) -> Result<Option<ObjectInfo>, HostError> {
        self.storage_call(StorageOp::Head, storage, key)?;
        Ok(self.object(storage, key).map(|v| Self::info(key, &v)))
    }

    pub(super) fn mock_get(&self, storage: &str, key: &str) -> Result<Vec<u8>, HostError> {
        self.storage_call(StorageOp::Get, storage, key)?;
        self.object(storage, key)
            .ok_or_else(|| HostError::new(format!("storage `{storage}`: no object `{key}`")))
    }

    pub(super) fn mock_put(
        &self,
        storage: &str,
        key: &str,
        data: &[u8],
    ) -> Result<Written, HostError> {
        self.storage_call(StorageOp::Put(data.to_vec()), storage, key)?;
        let url = format!("mock://{storage}/{key}");
        if self.dry_run {
            return Ok(Written { url, planned: true });
        }
        self.store
            .objects
            .borrow_mut()
            .insert((storage.to_string(), key.to_string()), data.to_vec());
        Ok(Written {
            url,
            planned: false,
        })
    }

    pub(super) fn mock_delete(&self, storage: &str, key: &str) -> Result<Written, HostError> {
        self.storage_call(StorageOp::Delete, storage, key)?;
        let url = format!("mock://{storage}/{key}");
        if self.dry_run {
            return Ok(Written { url, planned: true });
        }
        self.store
            .objects
            .borrow_mut()
            .remove(&(storage.to_string(), key.to_string()));
        Ok(Written {
            url,
            planned: false,
        })
    }

    pub(super) fn mock_transfer(&self, t: &Transfer) -> Result<Transferred, HostError> {
        self.record(Call::Transfer(Box::new(t.clone())));
        if self.dry_run && t.effect() == Effect::Write {
            return Ok(Transferred::planned());
        }
        answer(
            &self.store.transfer_queue,
            &self.store.transfer_handler,
            t,
            || format!("transfer `{t}`"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Host;
    use crate::store::{Sink, Source};
    use crate::{Command, Effect};

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
        assert!(host.storage_get("local", "../x").is_err());
        assert_eq!(host.keys("local"), ["a/2"]);
    }

    #[test]
    fn dry_run_plans_writes_and_transfers() {
        let host = MockHost::new().dry_run().with_object("s", "k", "v");
        assert!(host.storage_put("s", "k2", b"x").unwrap().planned);
        assert!(host.storage_delete("s", "k").unwrap().planned);
        assert_eq!(host.keys("s"), ["k"]);
        let t = Transfer::new(Source::command(
            Command::new("pg_dump").effect(Effect::Read),
        ))
        .zstd(3)
        .to(Sink::object("s", "db.zst"));
        assert!(host.transfer(&t).unwrap().planned);
        // A read transfer (a checksum check) is answered by the script.
        let check = Transfer::new(Source::object("s", "k")).sha256();
        assert_eq!(check.effect(), Effect::Read);
        assert!(host.transfer(&check).is_err());
        assert_eq!(host.transfers().len(), 2);
    }
}
