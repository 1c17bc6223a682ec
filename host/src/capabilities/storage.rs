//! `storage`: objects in the project's named storages (`dir` on this
//! machine, `s3` through aws-sdk-s3). Grants name storages; `list`, `head`
//! and `get` are reads, `put` and `delete` writes. The same stores serve as
//! the ends of a `transfer`.

pub mod dir;
pub mod gc;
pub mod owner;
pub mod s3;
mod s3_debris;
mod sweep;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Arc;

use cairn_lang::{Project, S3Credentials, StorageKind};
use serde_json::json;

use super::{SecretStore, StepState};
use crate::events::Event;
use crate::redact::Redactor;
use crate::wit::cairn::plugin::storage::{self as wit, ObjectInfo, Written};
use dir::DirStore;
use owner::Owner;
use s3::S3Store;

/// The most `get` returns and `put` takes: bulk data goes through `transfer`.
pub const SMALL_OBJECT_CAP: u64 = 8 << 20;
/// The most objects one `list` returns.
pub const LIST_CAP: usize = 100_000;
/// The longest key (S3's limit).
const MAX_KEY: usize = 1024;

/// An object's metadata, as both backends report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub last_modified_ms: Option<u64>,
    pub etag: Option<String>,
}

/// A stream into an object: nothing is visible under the key until
/// `commit`; dropping the writer uncommitted leaves no object behind.
pub trait ObjectWriter: Write {
    fn commit(self: Box<Self>) -> Result<(), String>;
}

/// The project's storages by name, and its root (where relative `dir`
/// paths and relative file paths of transfers start).
#[derive(Debug, Clone, Default)]
pub struct Storages {
    root: PathBuf,
    map: BTreeMap<String, StorageKind>,
    /// Where `access-key=`/`secret-key=` of an `s3` storage are looked up;
    /// the values read are registered with the redactor.
    secrets: Option<(Arc<SecretStore>, Arc<Redactor>)>,
    /// Who writes: the run and this process (see [`Owner`]).
    owner: Option<Owner>,
}

impl Storages {
    pub fn new(root: &Path, map: BTreeMap<String, StorageKind>) -> Self {
        Self {
            root: root.to_path_buf(),
            map,
            secrets: None,
            owner: None,
        }
    }

    pub fn from_project(p: &Project) -> Self {
        Self::new(
            &p.root,
            p.storages
                .iter()
                .map(|(k, s)| (k.clone(), s.kind.clone()))
                .collect(),
        )
    }

    /// Lets `s3` storages take their credentials from the project's secrets.
    pub fn with_secrets(mut self, secrets: Arc<SecretStore>, redactor: Arc<Redactor>) -> Self {
        self.secrets = Some((secrets, redactor));
        self
    }

    /// The credentials of an `s3` storage named by `credentials`, read from
    /// the project's secrets and masked from then on.
    fn s3_credentials(
        &self,
        storage: &str,
        c: &S3Credentials,
    ) -> Result<(String, String, Option<String>), String> {
        let Some((secrets, redactor)) = &self.secrets else {
            return Err(format!(
                "storage `{storage}`: its credentials name secrets, and this run has no secrets"
            ));
        };
        let read = |what: &str, name: &str| -> Result<String, String> {
            let value = secrets
                .get(name)
                .map_err(|e| format!("storage `{storage}`: {e}"))?
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    format!(
                        "storage `{storage}`: `{what}={name}` names no secret of the project \
                         (check the `secrets` sources in cairn.kdl)"
                    )
                })?;
            redactor.add(&value);
            Ok(value)
        };
        let id = read("access-key", &c.access_key)?;
        let secret = read("secret-key", &c.secret_key)?;
        let token = match &c.session_token {
            Some(t) => Some(read("session-token", t)?),
            None => None,
        };
        Ok((id, secret, token))
    }

    /// Names `run_id` as the owner of everything this process writes.
    pub fn with_run(mut self, run_id: &str) -> Self {
        self.owner = Some(Owner::current(run_id));
        self
    }

    /// The owner of what is written: the run's, or `-` outside a run.
    pub fn owner(&self) -> Owner {
        self.owner.clone().unwrap_or_else(|| Owner::current("-"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store behind `name`.
    pub fn open(&self, name: &str) -> Result<Store, String> {
        match self.map.get(name) {
            None => {
                let known: Vec<&str> = self.map.keys().map(String::as_str).collect();
                Err(format!(
                    "storage: the project has no storage `{name}` (it has: {})",
                    known.join(", ")
                ))
            }
            Some(StorageKind::Dir { path }) => Ok(Store::Dir(DirStore {
                name: name.into(),
                root: self.root.join(path),
                owner: self.owner(),
            })),
            Some(StorageKind::S3 {
                bucket,
                region,
                endpoint,
                prefix,
                path_style,
                credentials,
            }) => {
                let credentials = match credentials {
                    Some(c) => Some(self.s3_credentials(name, c)?),
                    None => None,
                };
                let mut store = S3Store::new(
                    name,
                    bucket,
                    region.as_deref(),
                    endpoint.as_deref(),
                    prefix.as_deref(),
                    *path_style,
                    credentials,
                )?;
                store.owner = self.owner();
                Ok(Store::S3(store))
            }
        }
    }

    /// The URL of an object without opening the store (for plans: a dry-run
    /// needs no credentials).
    pub fn url(&self, name: &str, key: &str) -> String {
        match self.map.get(name) {
            Some(StorageKind::S3 { bucket, prefix, .. }) => {
                let p = prefix.as_deref().map(|p| p.trim_matches('/')).unwrap_or("");
                if p.is_empty() {
                    format!("s3://{bucket}/{key}")
                } else {
                    format!("s3://{bucket}/{p}/{key}")
                }
            }
            _ => format!("dir://{name}/{key}"),
        }
    }
}

/// One storage, opened.
pub enum Store {
    Dir(DirStore),
    S3(S3Store),
}

impl Store {
    pub fn list(&self, prefix: &str, deadline: Instant) -> Result<Vec<ObjectMeta>, String> {
        match self {
            Store::Dir(d) => d.list(prefix),
            Store::S3(s) => s.list(prefix, deadline),
        }
    }

    pub fn head(&self, key: &str, deadline: Instant) -> Result<Option<ObjectMeta>, String> {
        match self {
            Store::Dir(d) => d.head(key),
            Store::S3(s) => s.head(key, deadline),
        }
    }

    pub fn get(&self, key: &str, deadline: Instant) -> Result<Vec<u8>, String> {
        match self {
            Store::Dir(d) => d.get(key, SMALL_OBJECT_CAP),
            Store::S3(s) => s.get(key, SMALL_OBJECT_CAP, deadline),
        }
    }

    pub fn put(&self, key: &str, data: Vec<u8>, deadline: Instant) -> Result<(), String> {
        match self {
            Store::Dir(d) => d.put(key, &data),
            Store::S3(s) => s.put(key, data, deadline).map(drop),
        }
    }

    pub fn delete(&self, key: &str, deadline: Instant) -> Result<(), String> {
        match self {
            Store::Dir(d) => d.delete(key),
            Store::S3(s) => s.delete(key, deadline),
        }
    }

    pub fn reader(&self, key: &str, deadline: Instant) -> Result<Box<dyn Read + Send>, String> {
        match self {
            Store::Dir(d) => Ok(Box::new(d.open(key)?.0)),
            Store::S3(s) => s.reader(key, deadline),
        }
    }

    pub fn writer(&self, key: &str, deadline: Instant) -> Result<Box<dyn ObjectWriter>, String> {
        match self {
            Store::Dir(d) => d.writer(key),
            Store::S3(s) => s.writer(key, deadline),
        }
    }
}

/// Checks an object key: relative, `/`-separated, no `..`, `.` or empty
/// segments, no NUL, at most 1024 bytes. The refusal names the key.
pub fn check_key(key: &str) -> Result<(), String> {
    check_path(key, false)
}

/// Checks a `list` prefix: as a key, but it may be empty or end with `/`.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    check_path(prefix.strip_suffix('/').unwrap_or(prefix), true)
}

fn check_path(key: &str, prefix: bool) -> Result<(), String> {
    let what = if prefix { "prefix" } else { "key" };
    let refuse = |why: &str| {
        Err(format!(
            "storage: {what} `{}` is refused: {why}",
            key.escape_debug()
        ))
    };
    if key.is_empty() {
        return refuse("it is empty");
    }
    if key.len() > MAX_KEY {
        return refuse("it is longer than 1024 bytes");
    }
    if key.contains('\0') {
        return refuse("it contains a NUL byte");
    }
    if key.starts_with('/') {
        return refuse("it is an absolute path; keys are relative to the storage");
    }
    if key.contains('\\') {
        return refuse("it contains a backslash; separate segments with `/`");
    }
    for seg in key.split('/') {
        match seg {
            ".." => return refuse("it climbs out with `..`"),
            "." => return refuse("it has a `.` segment"),
            "" => return refuse("it has an empty segment (`//` or a trailing `/`)"),
            s if s.starts_with(dir::TMP_MARK) => {
                return refuse("segments starting with `.cairn-tmp-` are reserved");
            }
            _ => {}
        }
    }
    Ok(())
}

fn info(m: ObjectMeta) -> ObjectInfo {
    ObjectInfo {
        key: m.key,
        size: m.size,
        last_modified_ms: m.last_modified_ms,
        etag: m.etag,
    }
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
        let url = self.cx.storages.url(storage, key);
        let mut detail = json!({ "op": op, "storage": storage, "key": key, "url": url });
        if self.cx.plans(false) {
            self.storage_event(false, true, format!("{op} {url}"), detail);
            return Ok(empty);
        }
        let started = Instant::now();
        let store = self.cx.storages.open(storage)?;
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
        let url = self.cx.storages.url(storage, key);
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
            .storages
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
