//! The project's storages as the host holds them: each a [`Store`] (`dir`
//! or `s3`), the metadata and writers every store offers, and the keys a
//! store accepts.

use super::*;

/// The most `get` returns and `put` takes: bulk data goes through `transfer`.
pub const SMALL_OBJECT_CAP: u64 = 8 << 20;
/// The most objects one `list` returns.
pub const LIST_CAP: usize = 100_000;
/// The longest key (S3's limit).
pub(super) const MAX_KEY: usize = 1024;

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

pub(super) fn check_path(key: &str, prefix: bool) -> Result<(), String> {
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
