//! Debris of an `s3` storage: multipart uploads never completed, the
//! markers that name their owners, archives without manifest. S3 keeps no
//! record of who started an upload that anyone can read back (an upload's
//! metadata is not listed), so the writer puts a small marker object beside
//! the key when it starts one — `DIR/.cairn-tmp-TAG-N-NAME.upload`, holding
//! the key and the upload id — and deletes it once the upload is completed
//! or aborted.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::gc::{Debris, MANIFEST_SUFFIX, What, is_archive_key, judge};
use super::owner::{Owner, TMP_MARK};
use super::s3::{OWNER_META, S3Store, block};

const MARKER_SUFFIX: &str = ".upload";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Marker {
    key: String,
    upload_id: String,
}

struct Upload {
    key: String,
    id: String,
}

impl S3Store {
    /// Writes the marker of an upload of `key` and returns its key.
    pub(super) fn put_marker(
        &self,
        key: &str,
        upload_id: &str,
        deadline: Instant,
    ) -> Result<String, String> {
        static N: AtomicU64 = AtomicU64::new(0);
        let (dir, base) = match key.rsplit_once('/') {
            Some((d, b)) => (format!("{d}/"), b),
            None => (String::new(), key),
        };
        let mut base = base.to_string();
        while base.len() > 120 {
            base.pop();
        }
        let marker = format!(
            "{dir}{TMP_MARK}{}-{}-{base}{MARKER_SUFFIX}",
            self.owner.tag(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let body = serde_json::to_vec(&Marker {
            key: key.to_string(),
            upload_id: upload_id.to_string(),
        })
        .expect("marker json");
        self.put(&marker, body, deadline)?;
        Ok(marker)
    }

    /// Every object under `prefix`, markers included: `list` hides those.
    async fn all_objects(&self, prefix: &str) -> Result<Vec<String>, String> {
        Ok(self
            .list_raw(prefix)
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect())
    }

    async fn uploads(&self, prefix: &str) -> Result<Vec<Upload>, String> {
        let mut out = Vec::new();
        let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(self.full_key(prefix))
                .set_key_marker(key_marker.clone())
                .set_upload_id_marker(id_marker.clone())
                .send()
                .await
                .map_err(|e| self.fail("list the uploads under", prefix, &e))?;
            for u in page.uploads() {
                let (Some(k), Some(id)) = (u.key(), u.upload_id()) else {
                    continue;
                };
                if let Some(k) = k.strip_prefix(&self.prefix) {
                    out.push(Upload {
                        key: k.to_string(),
                        id: id.to_string(),
                    });
                }
            }
            let next = (
                page.next_key_marker().map(str::to_string),
                page.next_upload_id_marker().map(str::to_string),
            );
            if page.is_truncated() != Some(true) || next.0.is_none() || out.len() > super::LIST_CAP
            {
                break;
            }
            (key_marker, id_marker) = next;
        }
        Ok(out)
    }

    async fn object_owner(&self, key: &str) -> Result<Option<Owner>, String> {
        let h = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .map_err(|e| self.fail("read", key, &e))?;
        Ok(h.metadata()
            .and_then(|m| m.get(OWNER_META))
            .and_then(|t| Owner::parse(t)))
    }

    async fn marker(&self, key: &str) -> Option<Marker> {
        let o = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await
            .ok()?;
        let bytes = o.body.collect().await.ok()?.into_bytes();
        serde_json::from_slice(&bytes).ok()
    }

    pub(super) fn debris(
        &self,
        prefix: &str,
        archives: bool,
        deadline: Instant,
    ) -> Result<Vec<Debris>, String> {
        block(deadline, async {
            let objects = self.all_objects(prefix).await?;
            let uploads = self.uploads(prefix).await?;
            // Markers by upload id.
            let mut markers: HashMap<String, (String, Option<Owner>)> = HashMap::new();
            let mut unreadable = Vec::new();
            for k in &objects {
                let name = k.rsplit('/').next().unwrap_or(k);
                if !(name.starts_with(TMP_MARK) && name.ends_with(MARKER_SUFFIX)) {
                    continue;
                }
                match self.marker(k).await {
                    Some(m) => {
                        markers.insert(m.upload_id, (k.clone(), Owner::of_tmp_name(name)));
                    }
                    None => unreadable.push(k.clone()),
                }
            }
            let mut out = Vec::new();
            let live_ids: HashSet<&str> = uploads.iter().map(|u| u.id.as_str()).collect();
            for u in &uploads {
                let (marker, owner) = match markers.get(&u.id) {
                    Some((m, o)) => (Some(m.clone()), o.clone()),
                    None => (None, None),
                };
                out.push(judge(
                    u.key.clone(),
                    What::Upload {
                        upload_id: u.id.clone(),
                        marker,
                    },
                    owner,
                    "",
                ));
            }
            for (id, (k, owner)) in &markers {
                if !live_ids.contains(id.as_str()) {
                    out.push(judge(k.clone(), What::UploadMarker, owner.clone(), ""));
                }
            }
            for k in unreadable {
                let owner = Owner::of_tmp_name(k.rsplit('/').next().unwrap_or(&k));
                out.push(judge(k, What::UploadMarker, owner, ""));
            }
            if archives {
                let present: HashSet<&str> = objects.iter().map(String::as_str).collect();
                for k in &objects {
                    if is_archive_key(k)
                        && !present.contains(format!("{k}{MANIFEST_SUFFIX}").as_str())
                    {
                        let owner = self.object_owner(k).await?;
                        out.push(judge(
                            k.clone(),
                            What::Unfinished,
                            owner,
                            ": it may still write the manifest",
                        ));
                    }
                }
            }
            Ok(out)
        })
    }

    pub(super) fn remove_debris(&self, d: &Debris, deadline: Instant) -> Result<(), String> {
        match &d.what {
            What::Upload { upload_id, marker } => {
                block(deadline, async {
                    match self
                        .client
                        .abort_multipart_upload()
                        .bucket(&self.bucket)
                        .key(self.full_key(&d.key))
                        .upload_id(upload_id)
                        .send()
                        .await
                    {
                        Ok(_) => Ok(()),
                        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_upload()) => {
                            Ok(())
                        }
                        Err(e) => Err(self.fail("abort the upload of", &d.key, &e)),
                    }
                })?;
                match marker {
                    Some(m) => self.delete(m, deadline),
                    None => Ok(()),
                }
            }
            _ => self.delete(&d.key, deadline),
        }
    }
}
