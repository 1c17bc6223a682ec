//! `dir` storages: objects are files under a directory of this machine.
//! Keys are validated before they get here; on top of that no path
//! component under the storage's directory may be a symbolic link, so an
//! object never resolves outside it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use super::owner::Owner;
use super::{LIST_CAP, ObjectMeta, ObjectWriter};

/// Names of files being written; never listed, never valid keys.
pub use super::owner::TMP_MARK;

/// The extended attribute naming the owner of a committed object
/// (best effort: a file system without user attributes goes without).
pub const OWNER_XATTR: &str = "user.cairn.owner";

#[derive(Debug, Clone)]
pub struct DirStore {
    pub name: String,
    pub root: PathBuf,
    /// Who writes: named in temporary files and on committed objects.
    pub owner: Owner,
}

impl DirStore {
    fn err(&self, what: &str, key: &str, e: impl std::fmt::Display) -> String {
        format!("storage `{}`: cannot {what} `{key}`: {e}", self.name)
    }

    /// The file of `key`, refusing any symbolic link on the way.
    fn path(&self, key: &str) -> Result<PathBuf, String> {
        let mut p = self.root.clone();
        for seg in key.split('/') {
            p.push(seg);
            match fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(format!(
                        "storage `{}`: `{key}` goes through a symbolic link; a dir storage does not follow links",
                        self.name
                    ));
                }
                _ => {}
            }
        }
        Ok(p)
    }

    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, String> {
        // The deepest directory the prefix names whole.
        let dir = prefix.rsplit_once('/').map_or("", |(d, _)| d);
        let start = if dir.is_empty() {
            self.root.clone()
        } else {
            self.path(dir)?
        };
        let mut out = Vec::new();
        let mut stack = vec![(start, dir.to_string())];
        while let Some((path, rel)) = stack.pop() {
            let rd = match fs::read_dir(&path) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.err("list", &rel, e)),
            };
            for entry in rd {
                let entry = entry.map_err(|e| self.err("list", &rel, e))?;
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if name.starts_with(TMP_MARK) {
                    continue;
                }
                let key = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let Ok(ft) = entry.file_type() else { continue };
                if ft.is_dir() {
                    // Descend only where keys under it can match the prefix.
                    let as_dir = format!("{key}/");
                    if as_dir.starts_with(prefix) || prefix.starts_with(&as_dir) {
                        stack.push((entry.path(), key));
                    }
                } else if ft.is_file() && key.starts_with(prefix) {
                    let m = entry.metadata().map_err(|e| self.err("list", &key, e))?;
                    out.push(meta(key, &m));
                    if out.len() > LIST_CAP {
                        return Err(format!(
                            "storage `{}`: more than {LIST_CAP} objects under `{prefix}`; list a longer prefix",
                            self.name
                        ));
                    }
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    pub fn head(&self, key: &str) -> Result<Option<ObjectMeta>, String> {
        let p = self.path(key)?;
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_file() => Ok(Some(meta(key.to_string(), &m))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Ok(None),
            Err(e) => Err(self.err("read", key, e)),
        }
    }

    /// The object opened for reading, with its size.
    pub fn open(&self, key: &str) -> Result<(File, u64), String> {
        let p = self.path(key)?;
        let f = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&p)
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => self.missing(key),
                _ if e.raw_os_error() == Some(libc::ENOTDIR) => self.missing(key),
                _ => self.err("read", key, e),
            })?;
        let m = f.metadata().map_err(|e| self.err("read", key, e))?;
        if !m.is_file() {
            return Err(self.missing(key));
        }
        Ok((f, m.len()))
    }

    fn missing(&self, key: &str) -> String {
        format!("storage `{}`: no object `{key}`", self.name)
    }

    pub fn get(&self, key: &str, cap: u64) -> Result<Vec<u8>, String> {
        let (f, len) = self.open(key)?;
        if len > cap {
            return Err(too_big(&self.name, key, len, cap));
        }
        let mut buf = Vec::with_capacity(len as usize);
        f.take(cap + 1)
            .read_to_end(&mut buf)
            .map_err(|e| self.err("read", key, e))?;
        if buf.len() as u64 > cap {
            return Err(too_big(&self.name, key, buf.len() as u64, cap));
        }
        Ok(buf)
    }

    pub fn put(&self, key: &str, data: &[u8]) -> Result<(), String> {
        let mut w = self.writer(key)?;
        w.write_all(data).map_err(|e| self.err("write", key, e))?;
        w.commit()
    }

    pub fn delete(&self, key: &str) -> Result<(), String> {
        let p = self.path(key)?;
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => Err(self.err("delete", key, "it is a directory")),
            Ok(_) => fs::remove_file(&p).map_err(|e| self.err("delete", key, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => Ok(()),
            Err(e) => Err(self.err("delete", key, e)),
        }
    }

    /// A writer to a temporary file beside the object, renamed over it on
    /// commit and removed if dropped uncommitted.
    pub fn writer(&self, key: &str) -> Result<Box<dyn ObjectWriter>, String> {
        let p = self.path(key)?;
        if p.is_dir() {
            return Err(self.err("write", key, "it is a directory"));
        }
        let parent = p.parent().expect("a key has a parent").to_path_buf();
        fs::create_dir_all(&parent).map_err(|e| self.err("write", key, e))?;
        // A link created under us between the check and the creation would
        // still be caught: the path is checked again now that it exists.
        self.path(key)?;
        let file = TempFile::create(&p, &self.owner).map_err(|e| self.err("write", key, e))?;
        Ok(Box::new(DirWriter {
            file,
            what: format!("storage `{}`: cannot write `{key}`", self.name),
        }))
    }
}

pub fn too_big(storage: &str, key: &str, len: u64, cap: u64) -> String {
    format!(
        "storage `{storage}`: `{key}` is {len} bytes, more than the {} MiB `get` takes; use a transfer",
        cap >> 20
    )
}

fn meta(key: String, m: &fs::Metadata) -> ObjectMeta {
    ObjectMeta {
        key,
        size: m.len(),
        last_modified_ms: m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as u64),
        etag: None,
    }
}

/// A file written under a temporary name in the directory of its final
/// path: `commit` syncs it and renames it into place; dropping it
/// uncommitted removes it, so nothing half-written ever has the final name.
pub struct TempFile {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl TempFile {
    /// The temporary file is named `.cairn-tmp-TAG-N-BASE` after its
    /// owner (see [`Owner`]), so a sweep can tell a writer that died from
    /// one at work; the owner is also set on the file as [`OWNER_XATTR`].
    pub fn create(dest: &Path, owner: &Owner) -> io::Result<Self> {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = dest.parent().unwrap_or(Path::new("."));
        let mut base = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The base is only there to be read by people: a name stays
        // within the 255 bytes file systems take.
        while base.len() > 120 {
            base.pop();
        }
        let tag = owner.tag();
        let tmp = dir.join(format!(
            "{TMP_MARK}{tag}-{}-{base}",
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)?;
        crate::sys::set_xattr(&file, OWNER_XATTR, tag.as_bytes());
        Ok(Self {
            file: Some(file),
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    pub fn commit(mut self) -> io::Result<()> {
        let file = self.file.take().expect("open until committed");
        let done = file
            .sync_all()
            .and_then(|()| fs::rename(&self.tmp, &self.dest));
        drop(file);
        if let Err(e) = done {
            let _ = fs::remove_file(&self.tmp);
            return Err(e);
        }
        if let Some(dir) = self.dest.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Write for TempFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("open").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("open").flush()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

struct DirWriter {
    file: TempFile,
    what: String,
}

impl Write for DirWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl ObjectWriter for DirWriter {
    fn commit(self: Box<Self>) -> Result<(), String> {
        let what = self.what;
        self.file.commit().map_err(|e| format!("{what}: {e}"))
    }
}
