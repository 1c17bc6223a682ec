//! Debris in a storage: what a run that died mid-write leaves behind, and
//! the proof that lets cairn remove it. Found under a prefix:
//!
//! - a `dir` storage's temporary file (`.cairn-tmp-TAG-N-NAME`),
//! - an `s3` storage's multipart upload that was never completed, with the
//!   marker object cairn writes beside it (`.cairn-tmp-TAG-N-NAME.upload`,
//!   holding the upload id),
//! - an archive of the stock `backup` plugin (`NAME-YYYYMMDDTHHMMSSZ.EXT`)
//!   whose manifest was never written — only with `archives`.
//!
//! Each is removed only when its owner (see [`Owner`]) is proven gone: its
//! writer process no longer runs on this machine. Work of a live writer,
//! of another machine, or without an owner record (made by hand, or by an
//! older cairn) is kept and reported with the reason.

use std::fs;
use std::time::Instant;

use serde::Serialize;

use super::Store;
use super::dir::{DirStore, OWNER_XATTR};
use super::owner::{Liveness, Owner, TMP_MARK};

/// Extensions of the stock `backup` plugin's archives, and their manifests'.
pub const ARCHIVE_EXTS: &[&str] = &[".dump.zst", ".sqlite.zst", ".tar.zst"];
pub const MANIFEST_SUFFIX: &str = ".manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum What {
    /// A `dir` storage's temporary file.
    TempFile,
    /// An `s3` multipart upload that was never completed (with its marker,
    /// when there is one).
    Upload {
        upload_id: String,
        marker: Option<String>,
    },
    /// An upload marker whose upload is no longer there.
    UploadMarker,
    /// A backup archive without its manifest.
    Unfinished,
}

/// One piece of debris and what to do with it.
#[derive(Debug, Clone, Serialize)]
pub struct Debris {
    /// The key under the storage (a temporary file's or marker's own name).
    pub key: String,
    #[serde(flatten)]
    pub what: What,
    pub run_id: Option<String>,
    pub remove: bool,
    pub why: String,
}

impl What {
    pub fn label(&self) -> &'static str {
        match self {
            What::TempFile => "temporary file",
            What::Upload { .. } => "unfinished upload",
            What::UploadMarker => "upload marker",
            What::Unfinished => "archive without manifest",
        }
    }
}

/// The verdict on something owned by `owner` (`None`: no owner record).
pub fn judge(key: String, what: What, owner: Option<Owner>, alive_why: &str) -> Debris {
    let (remove, why) = match &owner {
        None => (
            false,
            "kept: it carries no owner record (made by hand, or by an older cairn); remove it by hand once no run writes there".to_string(),
        ),
        Some(o) => match o.liveness() {
            Liveness::Gone(why) => (true, why),
            Liveness::Alive => (
                false,
                format!(
                    "kept: run `{}` is writing it (pid {} is alive){alive_why}",
                    o.run_id, o.pid
                ),
            ),
            Liveness::Unknown(why) => (false, format!("kept: {why}")),
        },
    };
    Debris {
        key,
        what,
        run_id: owner.map(|o| o.run_id),
        remove,
        why,
    }
}

/// `NAME-YYYYMMDDTHHMMSSZ[-N].EXT` with one of [`ARCHIVE_EXTS`].
pub fn is_archive_key(key: &str) -> bool {
    let Some(stem) = ARCHIVE_EXTS.iter().find_map(|e| key.strip_suffix(e)) else {
        return false;
    };
    let base = stem.rsplit('/').next().unwrap_or(stem);
    let stamped = |s: &str| {
        let b = s.as_bytes();
        b.len() == 16
            && b[..8].iter().all(u8::is_ascii_digit)
            && b[8] == b'T'
            && b[9..15].iter().all(u8::is_ascii_digit)
            && b[15] == b'Z'
    };
    // The stamp, then maybe `-N`.
    let without_n = match base.rsplit_once('-') {
        Some((head, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => {
            if head.len() >= 17 && stamped(&head[head.len() - 16..]) {
                head
            } else {
                base
            }
        }
        _ => base,
    };
    without_n.len() > 17
        && stamped(&without_n[without_n.len() - 16..])
        && without_n.as_bytes()[without_n.len() - 17] == b'-'
}

impl Store {
    /// The debris under `prefix` (everything when empty); archives without
    /// manifest only when `archives`.
    pub fn debris(
        &self,
        prefix: &str,
        archives: bool,
        deadline: Instant,
    ) -> Result<Vec<Debris>, String> {
        let mut found = match self {
            Store::Dir(d) => dir_debris(d, prefix, archives)?,
            Store::S3(s) => s.debris(prefix, archives, deadline)?,
        };
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    /// Removes one piece of debris that [`Store::debris`] judged removable.
    pub fn remove_debris(&self, d: &Debris, deadline: Instant) -> Result<(), String> {
        if !d.remove {
            return Err(format!("`{}` is not removable: {}", d.key, d.why));
        }
        match self {
            Store::Dir(s) => {
                let p = s.root.join(&d.key);
                match fs::remove_file(&p) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(format!(
                        "storage `{}`: cannot remove `{}`: {e}",
                        s.name, d.key
                    )),
                }
            }
            Store::S3(s) => s.remove_debris(d, deadline),
        }
    }
}

/// Walks a `dir` storage under the directory `prefix` names (never through
/// a symbolic link).
fn dir_debris(d: &DirStore, prefix: &str, archives: bool) -> Result<Vec<Debris>, String> {
    let start_rel = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut out = Vec::new();
    let mut stack = vec![start_rel.to_string()];
    let mut seen = 0usize;
    while let Some(rel) = stack.pop() {
        let path = if rel.is_empty() {
            d.root.clone()
        } else {
            d.root.join(&rel)
        };
        let rd = match fs::read_dir(&path) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("storage `{}`: cannot list `{rel}`: {e}", d.name)),
        };
        let mut names = Vec::new();
        for entry in rd.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Ok(ft) = entry.file_type() else { continue };
            let key = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            seen += 1;
            if seen > super::LIST_CAP {
                return Err(format!(
                    "storage `{}`: more than {} entries under `{prefix}`; give a longer prefix",
                    d.name,
                    super::LIST_CAP
                ));
            }
            if ft.is_dir() {
                let as_dir = format!("{key}/");
                if as_dir.starts_with(prefix) || prefix.starts_with(&as_dir) {
                    stack.push(key);
                }
            } else if ft.is_file() && key.starts_with(prefix) {
                names.push((name, key));
            }
        }
        let present: std::collections::HashSet<&str> =
            names.iter().map(|(n, _)| n.as_str()).collect();
        for (name, key) in &names {
            if name.starts_with(TMP_MARK) {
                out.push(judge(
                    key.clone(),
                    What::TempFile,
                    Owner::of_tmp_name(name),
                    "",
                ));
            } else if archives
                && is_archive_key(name)
                && !present.contains(format!("{name}{MANIFEST_SUFFIX}").as_str())
            {
                let owner = crate::sys::get_xattr(&path.join(name), OWNER_XATTR)
                    .and_then(|v| String::from_utf8(v).ok())
                    .and_then(|t| Owner::parse(&t));
                out.push(judge(
                    key.clone(),
                    What::Unfinished,
                    owner,
                    ": it may still write the manifest",
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_keys() {
        for k in [
            "backups/postgres/site-20261203T070527Z.dump.zst",
            "site-20261203T070527Z-2.tar.zst",
            "a-b-20261203T070527Z.sqlite.zst",
        ] {
            assert!(is_archive_key(k), "{k}");
        }
        for k in [
            "backups/postgres/site-20261203T070527Z.dump.zst.manifest.json",
            "site.tar.zst",
            "20261203T070527Z.tar.zst",
            "notes.txt",
        ] {
            assert!(!is_archive_key(k), "{k}");
        }
    }
}
