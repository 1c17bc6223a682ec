//! A cgroup per child, where cgroup v2 is mounted and cairn may create
//! groups under its own (as root, or in a delegated subtree). A process
//! cannot leave its cgroup by itself: what a step's command starts stays
//! in it after `setsid`, a double fork or a daemon's detach, where a
//! process group loses it. So a cgroup lets the guard end *everything* a
//! killed run started, and `cairn resume` find it again.
//!
//! Each child gets `<cairn's cgroup>/cairn-<pid>-<start time>-<n>` (the
//! pid and start time of this cairn, so that no two runs ever share a
//! name), into which the kernel creates the child (`clone3` with
//! `CLONE_INTO_CGROUP`), or which the child enters itself between fork and
//! exec where `clone3` cannot be used. Once the child has been reaped, what
//! it left running on purpose (a daemon a step started) is moved back to
//! cairn's own cgroup: a finished step's processes are no longer the run's
//! business, as without cgroups. The group, empty then, is kept for this
//! cairn's next child instead of an `rmdir` now and a `mkdir` then; the
//! groups kept are removed when cairn ends ([`remove_spares`]), or by the
//! guard when it is killed. A group is reused only when its `cgroup.procs`
//! read empty; a journal reads a child's record together with the record
//! of its end, so a group used again is never taken for an earlier
//! child's.
//!
//! Where there is no cgroup v2, or cairn may not create groups, children
//! are tracked by process group only (see [`super`]); nothing fails.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

/// The prefix of every group cairn creates; a path without it is never
/// written to.
const PREFIX: &str = "cairn-";

/// A cgroup for one child, with its directory (for `clone3`'s
/// `CLONE_INTO_CGROUP`) and its `cgroup.procs` (for a child that enters it
/// by writing `0` there) open.
#[derive(Debug)]
pub struct Cgroup {
    path: PathBuf,
    dir: OwnedFd,
    procs: File,
}

/// Empty groups of this cairn's reaped children, ready for the next ones.
static SPARE: Mutex<Vec<Cgroup>> = Mutex::new(Vec::new());

/// At most this many empty groups are kept (one per child that can run at
/// the same time; more are removed).
const SPARE_MAX: usize = 32;

/// cairn's own cgroup, when groups can be created under it; `None` once
/// trying has failed.
fn base() -> Option<&'static Path> {
    static BASE: OnceLock<Option<PathBuf>> = OnceLock::new();
    BASE.get_or_init(|| {
        if std::env::var_os("CAIRN_NO_CGROUP").is_some() {
            return None;
        }
        let mount = v2_mount()?;
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let rel = own.lines().find_map(|l| l.strip_prefix("0::"))?;
        let dir = mount.join(rel.trim_start_matches('/'));
        dir.join("cgroup.procs").exists().then_some(dir)
    })
    .as_deref()
}

/// Where cgroup v2 is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified`
/// on a hybrid system), read once: mounts do not move under a run.
fn v2_mount() -> Option<&'static Path> {
    static MOUNT: OnceLock<Option<PathBuf>> = OnceLock::new();
    MOUNT
        .get_or_init(|| {
            let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
            info.lines().find_map(|l| {
                let (left, right) = l.split_once(" - ")?;
                (right.split_whitespace().next() == Some("cgroup2"))
                    .then(|| left.split_whitespace().nth(4).map(PathBuf::from))
                    .flatten()
            })
        })
        .as_deref()
}

/// Whether children get a cgroup on this machine.
pub fn available() -> bool {
    base().is_some() && !FAILED.load(Ordering::Relaxed)
}

static FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// An empty group for the next child: one kept from a reaped child, or a
/// new one; `None` where groups are not available (and from then on, once
/// creating one failed).
pub fn create() -> Option<Cgroup> {
    if !available() {
        return None;
    }
    if let Some(g) = SPARE.lock().unwrap_or_else(PoisonError::into_inner).pop() {
        return Some(g);
    }
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let path = base()?.join(format!("{}{n}", own_prefix()));
    let made = std::fs::create_dir(&path).and_then(|()| {
        let procs = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path.join("cgroup.procs"))?;
        Ok((File::open(&path)?, procs))
    });
    match made {
        Ok((dir, procs)) => Some(Cgroup {
            path,
            dir: dir.into(),
            procs,
        }),
        Err(e) => {
            let _ = std::fs::remove_dir(&path);
            FAILED.store(true, Ordering::Relaxed);
            tracing::debug!(
                "no cgroup for this run's children ({}: {e}); they are tracked by process group",
                path.display()
            );
            None
        }
    }
}

/// Removes the empty groups kept for later children: cairn starts no more.
pub fn remove_spares() {
    let spares = std::mem::take(&mut *SPARE.lock().unwrap_or_else(PoisonError::into_inner));
    for g in spares {
        let _ = std::fs::remove_dir(&g.path);
    }
}

impl Cgroup {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The group's directory, open.
    pub fn dir(&self) -> &OwnedFd {
        &self.dir
    }

    /// The group's `cgroup.procs`, open for reading and writing.
    pub fn procs(&self) -> &File {
        &self.procs
    }

    /// The child has been reaped: what it left running moves to cairn's
    /// own group, and the group, empty, is kept for the next child (or
    /// removed, when enough are kept).
    pub fn release(self) {
        let Some(mut left) = self.members() else {
            // Gone already (a deadline's `kill` removed it).
            return;
        };
        if !left.is_empty() {
            if let Some(parent) = self.path.parent() {
                for pid in &left {
                    if let Ok(mut f) = OpenOptions::new()
                        .write(true)
                        .open(parent.join("cgroup.procs"))
                    {
                        let _ = write!(f, "{pid}");
                    }
                }
            }
            left = self.members().unwrap_or_default();
        }
        if left.is_empty() {
            let mut spare = SPARE.lock().unwrap_or_else(PoisonError::into_inner);
            if spare.len() < SPARE_MAX {
                spare.push(self);
                return;
            }
        }
        let _ = std::fs::remove_dir(&self.path);
    }

    /// The pids in the group, in one `pread` of its open `cgroup.procs`
    /// (the file is made anew by each read from its start); `None` when the
    /// group is gone. A long list is read by path.
    fn members(&self) -> Option<Vec<u32>> {
        let mut buf = [0u8; 4096];
        match self.procs.read_at(&mut buf, 0) {
            Ok(n) if n < buf.len() => Some(pids(&String::from_utf8_lossy(&buf[..n]))),
            Ok(_) => members(&self.path),
            // ENODEV: the group was removed (a deadline's `kill`).
            Err(_) => None,
        }
    }
}

/// The pids in the `cgroup.procs` of a group this cairn made, in one
/// read; `None` when the group is gone.
fn members(path: &Path) -> Option<Vec<u32>> {
    let mut text = String::new();
    File::open(path.join("cgroup.procs"))
        .and_then(|mut f| f.read_to_string(&mut text))
        .ok()?;
    Some(pids(&text))
}

/// The pids of a `cgroup.procs` text, one a line.
fn pids(text: &str) -> Vec<u32> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Whether `path` names a group cairn made: in a cgroup v2 mount, with
/// cairn's prefix (a journal is not trusted to name any other).
fn is_ours(path: &Path) -> bool {
    let named = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(PREFIX));
    named && v2_mount().is_some_and(|m| path.starts_with(m)) && path.join("cgroup.procs").exists()
}

/// The processes in a group cairn made (none when it is gone, or not one
/// of cairn's).
pub fn procs(path: &Path) -> Vec<u32> {
    if !is_ours(path) {
        return Vec::new();
    }
    members(path).unwrap_or_default()
}

/// Ends every process in a group cairn made: `cgroup.kill` where the kernel
/// has it (5.14), else SIGKILL to each member. Removes the group once it is
/// empty. Whether the group is empty now or gone.
pub fn kill(path: &Path) -> bool {
    if !is_ours(path) {
        return true;
    }
    let killed = File::options()
        .write(true)
        .open(path.join("cgroup.kill"))
        .and_then(|mut f| f.write_all(b"1"))
        .is_ok();
    if !killed {
        for pid in procs(path) {
            crate::sys::signal_pid(pid, libc::SIGKILL);
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !procs(path).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = std::fs::remove_dir(path);
    procs(path).is_empty()
}

/// `cairn-<pid>-<start time>-`: how the name of every group this cairn
/// makes begins (read from `/proc` once).
fn own_prefix() -> &'static str {
    static OWN: OnceLock<String> = OnceLock::new();
    OWN.get_or_init(|| {
        let me = std::process::id();
        let since = super::stat::own_start_time().unwrap_or(0);
        format!("{PREFIX}{me}-{since}-")
    })
}

/// The glob, for the guard, that matches every group this cairn made.
pub fn guard_pattern() -> Option<String> {
    Some(format!("{}/{}", base()?.display(), own_prefix()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_outside_cgroups_or_without_the_prefix_is_never_ours() {
        assert!(!is_ours(Path::new("/tmp/cairn-1-2-3")));
        assert!(procs(Path::new("/proc/self")).is_empty());
        assert!(kill(Path::new("/")), "nothing to do for a foreign path");
        if let Some(m) = v2_mount() {
            assert!(!is_ours(m), "the cgroup root itself");
        }
    }
}
