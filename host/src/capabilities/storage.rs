//! `storage`: objects in the project's named storages (`dir` on this
//! machine, `s3` through aws-sdk-s3). Grants name storages; `list`, `head`
//! and `get` are reads, `put` and `delete` writes. The same stores serve as
//! the ends of a `transfer`.

pub mod dir;
pub mod gc;
pub mod owner;
pub mod s3;
mod s3_debris;
mod stores;
mod sweep;

pub use stores::*;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Arc;

use cairn_lang::{Project, S3Credentials, StorageKind};
use serde_json::json;

use super::registry::Capability;
use super::{Inputs, SecretStore, StepState};
use crate::events::Event;
use crate::redact::Redactor;
use crate::wit::cairn::plugin::storage::{self as wit, ObjectInfo, Written};
use dir::DirStore;
use owner::Owner;
use s3::S3Store;

fn info(m: ObjectMeta) -> ObjectInfo {
    ObjectInfo {
        key: m.key,
        size: m.size,
        last_modified_ms: m.last_modified_ms,
        etag: m.etag,
    }
}

/// The `storage` capability.
pub struct Storage;

impl Capability for Storage {
    const NAME: &'static str = "storage";
    /// The project's storages.
    type State = Arc<Storages>;

    fn build(inputs: &Inputs<'_>) -> Arc<Storages> {
        project_storages(inputs)
    }
}

/// The project's storages for a step, built once for every capability that
/// works with them (`storage`, `transfer`).
pub fn project_storages(inputs: &Inputs<'_>) -> Arc<Storages> {
    inputs.shared(|| {
        Arc::new(
            Storages::from_project(inputs.project)
                .with_secrets(inputs.secrets.clone(), inputs.redactor.clone())
                .with_run(inputs.run_id),
        )
    })
}

impl StepState {
    /// The grant check shared with `transfer`: the storage must be granted
    /// and must exist.
    pub fn storage_allowed(&self, name: &str) -> Result<(), String> {
        if !self.cx.grants.allows("storage", name, |g, v| g == v) {
            return Err(self.cx.denied("storage", name));
        }
        Ok(())
    }

    pub(crate) fn storage_event(
        &self,
        write: bool,
        planned: bool,
        summary: String,
        detail: serde_json::Value,
    ) {
        self.cx.emit(Event::Capability {
            step: self.cx.step.clone(),
            capability: "storage".into(),
            effect: if write { "write" } else { "read" }.into(),
            planned,
            summary,
            detail,
        });
    }

    /// A read: grant, key, then performed (unless `--offline`).
    fn storage_read<T>(
        &mut self,
        op: &str,
        storage: &str,
        key: &str,
        run: impl FnOnce(&Store, Instant) -> Result<T, String>,
        describe: impl FnOnce(&T) -> String,
        empty: T,
    ) -> Result<T, String> {
        self.storage_allowed(storage)?;
        if op == "list" {
            check_prefix(key)?;
        } else {
            check_key(key)?;
        }
        let url = self.cx.state::<Storage>().url(storage, key);
        let mut detail = json!({ "op": op, "storage": storage, "key": key, "url": url });
        if self.cx.plans(false) {
            self.storage_event(false, true, format!("{op} {url}"), detail);
            return Ok(empty);
        }
        let started = Instant::now();
        let store = self.cx.state::<Storage>().open(storage)?;
        let r = run(&store, self.cx.deadline);
        detail["duration_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
        let summary = match &r {
            Ok(v) => format!("{op} {url}: {}", describe(v)),
            Err(e) => {
                detail["error"] = json!(e);
                format!("{op} {url}: failed")
            }
        };
        self.storage_event(false, false, summary, detail);
        r
    }

    /// A write: grant, key, then recorded in a dry-run or performed.
    fn storage_write(
        &mut self,
        op: &str,
        storage: &str,
        key: &str,
        bytes: Option<usize>,
        run: impl FnOnce(&Store, Instant) -> Result<(), String>,
    ) -> Result<Written, String> {
        self.storage_allowed(storage)?;
        check_key(key)?;
        let url = self.cx.state::<Storage>().url(storage, key);
        let (verb, past) = if op == "put" {
            ("written", "written")
        } else {
            ("deleted", "deleted")
        };
        let size = match bytes {
            Some(1) => " (1 byte)".to_string(),
            Some(n) => format!(" ({n} bytes)"),
            None => String::new(),
        };
        let mut detail = json!({ "op": op, "storage": storage, "key": key, "url": url });
        if let Some(n) = bytes {
            detail["bytes"] = json!(n);
        }
        if self.cx.plans(true) {
            self.storage_event(
                true,
                true,
                format!("object {url} would be {verb}{size}"),
                detail,
            );
            return Ok(Written { url, planned: true });
        }
        let started = Instant::now();
        let r = self
            .cx
            .state::<Storage>()
            .open(storage)
            .and_then(|store| run(&store, self.cx.deadline));
        detail["duration_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
        let summary = match &r {
            Ok(()) => format!("object {url} {past}{size}"),
            Err(e) => {
                detail["error"] = json!(e);
                format!("object {url} not {past}: failed")
            }
        };
        self.storage_event(true, false, summary, detail);
        r.map(|()| Written {
            url,
            planned: false,
        })
    }
}

impl wit::Host for StepState {
    fn list(
        &mut self,
        storage: String,
        prefix: String,
    ) -> wasmtime::Result<Result<Vec<ObjectInfo>, String>> {
        Ok(self
            .storage_read(
                "list",
                &storage,
                &prefix,
                |s, d| s.list(&prefix, d),
                |v| format!("{} objects", v.len()),
                Vec::new(),
            )
            .map(|v| v.into_iter().map(info).collect()))
    }

    fn head(
        &mut self,
        storage: String,
        key: String,
    ) -> wasmtime::Result<Result<Option<ObjectInfo>, String>> {
        Ok(self
            .storage_read(
                "head",
                &storage,
                &key,
                |s, d| s.head(&key, d),
                |v| match v {
                    Some(m) => format!("{} bytes", m.size),
                    None => "no such object".into(),
                },
                None,
            )
            .map(|v| v.map(info)))
    }

    fn get(&mut self, storage: String, key: String) -> wasmtime::Result<Result<Vec<u8>, String>> {
        Ok(self.storage_read(
            "get",
            &storage,
            &key,
            |s, d| s.get(&key, d),
            |v| format!("{} bytes", v.len()),
            Vec::new(),
        ))
    }

    fn put(
        &mut self,
        storage: String,
        key: String,
        data: Vec<u8>,
    ) -> wasmtime::Result<Result<Written, String>> {
        if data.len() as u64 > SMALL_OBJECT_CAP {
            return Ok(Err(format!(
                "storage: `put` takes at most {} MiB ({} bytes given); use a transfer",
                SMALL_OBJECT_CAP >> 20,
                data.len()
            )));
        }
        let n = data.len();
        Ok(self.storage_write("put", &storage, &key, Some(n), |s, d| s.put(&key, data, d)))
    }

    fn delete(
        &mut self,
        storage: String,
        key: String,
    ) -> wasmtime::Result<Result<Written, String>> {
        Ok(self.storage_write("delete", &storage, &key, None, |s, d| s.delete(&key, d)))
    }
}

#[cfg(test)]
mod tests;
