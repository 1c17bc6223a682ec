//! One run per project at a time: a lock file holding the pid and run id.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub run_id: String,
    pub runbook: String,
    pub started: String,
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

#[derive(Debug)]
pub enum LockError {
    /// Another live process holds the lock.
    Held(Holder),
    Io(std::io::Error),
}

impl RunLock {
    /// Takes the lock, or fails fast naming the holder. A lock left by a
    /// dead process is taken over; `on_stale` is told about it.
    pub fn acquire(
        dir: &Path,
        me: &Holder,
        on_stale: impl FnOnce(&Holder),
    ) -> Result<Self, LockError> {
        std::fs::create_dir_all(dir).map_err(LockError::Io)?;
        let path = dir.join("lock");
        let body = serde_json::to_vec(me).expect("lock json");
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(&body).map_err(LockError::Io)?;
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = read_holder(&path);
                    match holder {
                        Some(h) if crate::sys::pid_alive(h.pid) && h.pid != std::process::id() => {
                            return Err(LockError::Held(h));
                        }
                        Some(h) => {
                            on_stale(&h);
                            let _ = std::fs::remove_file(&path);
                            return Self::acquire_after_stale(&path, &body);
                        }
                        None => {
                            // Unreadable: being written right now, or garbage. Give the
                            // writer a moment, then treat it as stale.
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            if read_holder(&path).is_none() {
                                let _ = std::fs::remove_file(&path);
                            }
                        }
                    }
                }
                Err(e) => return Err(LockError::Io(e)),
            }
        }
        Self::acquire_after_stale(&path, &body)
    }

    fn acquire_after_stale(path: &Path, body: &[u8]) -> Result<Self, LockError> {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(mut f) => {
                f.write_all(body).map_err(LockError::Io)?;
                Ok(Self {
                    path: path.to_path_buf(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read_holder(path) {
                Some(h) => Err(LockError::Held(h)),
                None => Err(LockError::Io(e)),
            },
            Err(e) => Err(LockError::Io(e)),
        }
    }
}

fn read_holder(path: &Path) -> Option<Holder> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(pid: u32) -> Holder {
        Holder {
            pid,
            run_id: format!("run-{pid}"),
            runbook: "rb".into(),
            started: "now".into(),
        }
    }

    #[test]
    fn second_acquire_fails_naming_the_holder_and_stale_locks_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        // A live holder: this test's parent process.
        let parent = std::os::unix::process::parent_id();
        std::fs::write(
            dir.path().join("lock"),
            serde_json::to_vec(&holder(parent)).unwrap(),
        )
        .unwrap();
        match RunLock::acquire(dir.path(), &holder(std::process::id()), |_| {}) {
            Err(LockError::Held(h)) => assert_eq!(h.run_id, format!("run-{parent}")),
            other => panic!("expected Held, got {other:?}"),
        }
        // A dead holder: a pid far beyond pid_max.
        std::fs::write(
            dir.path().join("lock"),
            serde_json::to_vec(&holder(99_999_999)).unwrap(),
        )
        .unwrap();
        let mut warned = false;
        let lock =
            RunLock::acquire(dir.path(), &holder(std::process::id()), |_| warned = true).unwrap();
        assert!(warned);
        drop(lock);
        assert!(!dir.path().join("lock").exists());
    }
}
