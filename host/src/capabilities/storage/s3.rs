//! `s3` storages through aws-sdk-s3, on a small tokio runtime owned by this
//! module (the engine runs steps on plain threads and blocks on it).
//! Credentials come from the project's secrets when the storage names them
//! (`access-key=`, `secret-key=`, `session-token=`), else from the
//! environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`); nothing is looked up on the network for them.

use std::collections::HashMap;
use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::task::JoinSet;

use super::owner::{Owner, TMP_MARK};
use super::{LIST_CAP, ObjectMeta, ObjectWriter};

mod stream;
use stream::*;

/// The user metadata naming the run and process that wrote an object.
pub const OWNER_META: &str = "cairn-owner";

/// Size of the first parts of a multipart upload, and the most a single
/// PUT carries. An upload holds at most `1 + MAX_IN_FLIGHT` parts in memory:
/// one filling while the other is on its way.
pub const PART_SIZE: usize = 8 << 20;
const MAX_IN_FLIGHT: usize = 1;

/// The size of part `n` (from 1): 8 MiB for the first thousand parts, then
/// 8 MiB more every thousand, so S3's limit of 10,000 parts allows objects
/// of about 430 GiB while an upload of a few GiB holds 16 MiB.
fn part_size(n: i32) -> usize {
    PART_SIZE * (1 + (n.max(1) as usize - 1) / 1000)
}

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cairn-s3")
            .enable_all()
            .build()
            .expect("tokio runtime for s3")
    })
}

/// Runs `fut` on the storage runtime until `deadline`.
pub(super) fn block<T>(
    deadline: Instant,
    fut: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let deadline = tokio::time::Instant::from_std(deadline);
    rt().block_on(async move {
        match tokio::time::timeout_at(deadline, fut).await {
            Ok(r) => r,
            Err(_) => Err("timed out (the step's deadline)".to_string()),
        }
    })
}

#[cfg(test)]
#[test]
fn parts_grow_to_fit_the_part_limit() {
    assert_eq!(part_size(1), 8 << 20);
    assert_eq!(part_size(1000), 8 << 20);
    assert_eq!(part_size(1001), 16 << 20);
    let total: usize = (1..=10_000).map(part_size).sum();
    assert!(total > 400 << 30, "{total}");
}

#[derive(Debug, Clone)]
pub struct S3Store {
    pub name: String,
    pub bucket: String,
    /// `prefix=` with a trailing `/` (or empty).
    pub prefix: String,
    /// Who writes: on committed objects and on upload markers.
    pub owner: Owner,
    pub(super) client: Client,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    region: String,
    endpoint: Option<String>,
    path_style: bool,
    credentials: (String, String, Option<String>),
}

impl S3Store {
    pub fn new(
        name: &str,
        bucket: &str,
        region: Option<&str>,
        endpoint: Option<&str>,
        prefix: Option<&str>,
        path_style: bool,
        from_secrets: Option<(String, String, Option<String>)>,
    ) -> Result<Self, String> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let credentials = match from_secrets {
            Some(c) => c,
            None => match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                (Some(id), Some(secret)) => (id, secret, env("AWS_SESSION_TOKEN")),
                _ => {
                    return Err(format!(
                        "storage `{name}`: no credentials: set AWS_ACCESS_KEY_ID and \
                         AWS_SECRET_ACCESS_KEY, or name the project's secrets with \
                         `access-key=` and `secret-key=` on the storage"
                    ));
                }
            },
        };
        let key = ClientKey {
            region: region
                .map(str::to_string)
                .or_else(|| env("AWS_REGION"))
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            endpoint: endpoint
                .map(str::to_string)
                .or_else(|| env("AWS_ENDPOINT_URL_S3"))
                .or_else(|| env("AWS_ENDPOINT_URL")),
            path_style,
            credentials,
        };
        static CLIENTS: OnceLock<Mutex<HashMap<ClientKey, Client>>> = OnceLock::new();
        let mut clients = CLIENTS
            .get_or_init(Default::default)
            .lock()
            .expect("clients");
        let client = clients
            .entry(key.clone())
            .or_insert_with(|| {
                let (id, secret, token) = key.credentials.clone();
                let mut b = aws_sdk_s3::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new(key.region.clone()))
                    .credentials_provider(Credentials::new(id, secret, token, None, "cairn"))
                    .force_path_style(key.path_style)
                    // S3-compatible servers do not all take the newer
                    // flexible checksums; cairn hashes what it moves itself.
                    .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                    .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
                if let Some(ep) = &key.endpoint {
                    b = b.endpoint_url(ep);
                }
                // The http client needs a runtime to be built in.
                let _guard = rt().enter();
                Client::from_conf(b.build())
            })
            .clone();
        let prefix = match prefix.map(|p| p.trim_matches('/')) {
            None | Some("") => String::new(),
            Some(p) => format!("{p}/"),
        };
        Ok(Self {
            name: name.into(),
            bucket: bucket.into(),
            prefix,
            owner: Owner::current("-"),
            client,
        })
    }

    pub fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub(super) fn fail<E>(
        &self,
        what: &str,
        key: &str,
        e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> String
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let why = match e {
            SdkError::ServiceError(se) => {
                let err = se.err();
                let status = se.raw().status().as_u16();
                match (err.code(), err.message()) {
                    (Some(c), Some(m)) => format!("{c}: {m} (HTTP {status})"),
                    (Some(c), None) => format!("{c} (HTTP {status})"),
                    _ => format!("HTTP {status}"),
                }
            }
            SdkError::TimeoutError(_) => "timed out".into(),
            SdkError::DispatchFailure(_) => {
                format!("cannot connect: {}", root_cause(e))
            }
            other => DisplayErrorContext(other).to_string(),
        };
        format!(
            "storage `{}`: cannot {what} s3://{}/{}: {why}",
            self.name,
            self.bucket,
            self.full_key(key)
        )
    }

    pub fn list(&self, prefix: &str, deadline: Instant) -> Result<Vec<ObjectMeta>, String> {
        block(deadline, async {
            let mut out = self.list_raw(prefix).await?;
            // Upload markers are cairn's own, never objects.
            out.retain(|o| !o.key.split('/').any(|seg| seg.starts_with(TMP_MARK)));
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
    }

    /// Every object under `prefix` as the server lists it, upload markers
    /// included, keys relative to the storage's prefix.
    pub(super) async fn list_raw(&self, prefix: &str) -> Result<Vec<ObjectMeta>, String> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full_key(prefix))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fail("list", prefix, &e))?;
            for o in page.contents() {
                let Some(key) = o.key().and_then(|k| k.strip_prefix(&self.prefix)) else {
                    continue;
                };
                out.push(ObjectMeta {
                    key: key.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    last_modified_ms: o
                        .last_modified()
                        .and_then(|t| t.to_millis().ok())
                        .map(|m| m.max(0) as u64),
                    etag: o.e_tag().map(str::to_string),
                });
            }
            if out.len() > LIST_CAP {
                return Err(format!(
                    "storage `{}`: more than {LIST_CAP} objects under `{prefix}`; list a longer prefix",
                    self.name
                ));
            }
        }
        Ok(out)
    }

    pub fn head(&self, key: &str, deadline: Instant) -> Result<Option<ObjectMeta>, String> {
        block(deadline, async {
            let r = self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(self.full_key(key))
                .send()
                .await;
            match r {
                Ok(h) => Ok(Some(ObjectMeta {
                    key: key.to_string(),
                    size: h.content_length().unwrap_or(0).max(0) as u64,
                    last_modified_ms: h
                        .last_modified()
                        .and_then(|t| t.to_millis().ok())
                        .map(|m| m.max(0) as u64),
                    etag: h.e_tag().map(str::to_string),
                })),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
                Err(e) => Err(self.fail("read", key, &e)),
            }
        })
    }

    async fn get_stream(&self, key: &str) -> Result<(ByteStream, u64), String> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
        {
            Ok(o) => {
                let len = o.content_length().unwrap_or(0).max(0) as u64;
                Ok((o.body, len))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                Err(format!("storage `{}`: no object `{key}`", self.name))
            }
            Err(e) => Err(self.fail("read", key, &e)),
        }
    }

    pub fn get(&self, key: &str, cap: u64, deadline: Instant) -> Result<Vec<u8>, String> {
        block(deadline, async {
            let (mut body, len) = self.get_stream(key).await?;
            if len > cap {
                return Err(super::dir::too_big(&self.name, key, len, cap));
            }
            let mut out = Vec::with_capacity(len as usize);
            while let Some(chunk) = body
                .try_next()
                .await
                .map_err(|e| format!("storage `{}`: reading `{key}`: {e}", self.name))?
            {
                out.extend_from_slice(&chunk);
                if out.len() as u64 > cap {
                    return Err(super::dir::too_big(&self.name, key, out.len() as u64, cap));
                }
            }
            Ok(out)
        })
    }

    pub fn put(
        &self,
        key: &str,
        data: Vec<u8>,
        deadline: Instant,
    ) -> Result<Option<String>, String> {
        block(deadline, async {
            let r = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(self.full_key(key))
                .metadata(OWNER_META, self.owner.tag())
                .body(ByteStream::from(data))
                .send()
                .await
                .map_err(|e| self.fail("write", key, &e))?;
            Ok(r.e_tag().map(str::to_string))
        })
    }

    pub fn delete(&self, key: &str, deadline: Instant) -> Result<(), String> {
        block(deadline, async {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(self.full_key(key))
                .send()
                .await
                .map_err(|e| self.fail("delete", key, &e))?;
            Ok(())
        })
    }

    /// The object as a stream: a task on the runtime pulls the body and
    /// hands chunks over a small bounded channel.
    pub fn reader(&self, key: &str, deadline: Instant) -> Result<Box<dyn Read + Send>, String> {
        let (mut body, _) = block(deadline, self.get_stream(key))?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, String>>(8);
        let what = format!("storage `{}`: reading `{key}`", self.name);
        let until = tokio::time::Instant::from_std(deadline);
        rt().spawn(async move {
            let pump = async {
                loop {
                    match body.try_next().await {
                        Ok(Some(chunk)) => {
                            if tx.send(Ok(chunk.to_vec())).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => return,
                        Err(e) => {
                            let _ = tx.send(Err(format!("{what}: {e}"))).await;
                            return;
                        }
                    }
                }
            };
            if tokio::time::timeout_at(until, pump).await.is_err() {
                let _ = tx
                    .send(Err(format!("{what}: timed out (the step's deadline)")))
                    .await;
            }
        });
        Ok(Box::new(ChannelReader {
            rx,
            cur: Vec::new(),
            pos: 0,
        }))
    }

    /// A writer that buffers up to one part: small objects are one PUT,
    /// larger ones a multipart upload (aborted unless committed).
    pub fn writer(&self, key: &str, deadline: Instant) -> Result<Box<dyn ObjectWriter>, String> {
        Ok(Box::new(S3Writer {
            store: self.clone(),
            key: key.to_string(),
            deadline,
            buf: Vec::with_capacity(PART_SIZE),
            upload_id: None,
            marker: None,
            next_part: 1,
            parts: Vec::new(),
            in_flight: JoinSet::new(),
            done: false,
        }))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
