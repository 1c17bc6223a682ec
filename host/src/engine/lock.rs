//! One run per project at a time: an exclusive `flock` on `.cairn/lock`,
//! held for the life of the run. The kernel releases it however the holder
//! ends (SIGKILL included), so taking over from a dead holder is the same
//! atomic `flock` as taking a free lock: of any number of processes trying
//! at once, exactly one gets it. The file is never deleted; the holder's pid
//! and run id are written inside once the lock is held, for the message of
//! those who do not get it, and emptied when the holder releases it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub run_id: String,
    pub runbook: String,
    pub started: String,
}

/// A held lock; released on drop (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    file: File,
}

#[derive(Debug)]
pub enum LockError {
    /// Another live process holds the lock; who, when its file says so.
    Held(Option<Holder>),
    Io(std::io::Error),
}

impl RunLock {
    /// Takes the lock, or fails fast naming the holder. A holder that died
    /// without releasing the lock left its details in the file: `on_stale`
    /// is told about it.
    pub fn acquire(
        dir: &Path,
        me: &Holder,
        on_stale: impl FnOnce(&Holder),
    ) -> Result<Self, LockError> {
        std::fs::create_dir_all(dir).map_err(LockError::Io)?;
        let path = dir.join("lock");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(LockError::Io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LockError::Held(read_holder_of_held(&mut file)));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(LockError::Io(e)),
        }
        if let Some(old) = read_holder(&mut file) {
            on_stale(&old);
        }
        let body = serde_json::to_vec(me).expect("lock json");
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&body))
            .and_then(|_| file.set_len(body.len() as u64))
            .and_then(|_| file.flush())
            .map_err(LockError::Io)?;
        Ok(Self { file })
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = Vec::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_end(&mut text).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The holder's details; the holder may be writing them right now, so an
/// unreadable file is read again a few times.
fn read_holder_of_held(file: &mut File) -> Option<Holder> {
    for _ in 0..10 {
        if let Some(h) = read_holder(file) {
            return Some(h);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Still holding the lock: empty the file so nobody takes this run
        // for one that died holding it. Closing the file releases the lock.
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(run: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            run_id: run.into(),
            runbook: "rb".into(),
            started: "now".into(),
        }
    }

    #[test]
    fn a_second_acquire_fails_naming_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first =
            RunLock::acquire(dir.path(), &holder("first"), |_| panic!("not stale")).unwrap();
        // The same process, another open file: flock is per open file, so
        // this stands for another process.
        match RunLock::acquire(dir.path(), &holder("second"), |_| {}) {
            Err(LockError::Held(Some(h))) => assert_eq!(h.run_id, "first"),
            other => panic!("expected Held naming `first`, got {other:?}"),
        }
        drop(first);
        assert!(dir.path().join("lock").exists(), "the file is kept");
        let again =
            RunLock::acquire(dir.path(), &holder("third"), |_| panic!("released cleanly")).unwrap();
        drop(again);
    }

    #[test]
    fn a_lock_file_left_by_a_dead_holder_is_taken_over_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        // What a killed holder leaves: its details, and no lock (the kernel
        // released it).
        std::fs::write(
            dir.path().join("lock"),
            serde_json::to_vec(&holder("killed")).unwrap(),
        )
        .unwrap();
        let mut stale = None;
        let lock = RunLock::acquire(dir.path(), &holder("next"), |h| {
            stale = Some(h.run_id.clone());
        })
        .unwrap();
        assert_eq!(stale.as_deref(), Some("killed"));
        let text = std::fs::read_to_string(dir.path().join("lock")).unwrap();
        assert!(
            text.contains("\"next\"") && !text.contains("killed"),
            "{text}"
        );
        drop(lock);
    }

    #[test]
    fn of_many_threads_taking_a_stale_lock_at_once_exactly_one_gets_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("lock"),
            serde_json::to_vec(&holder("killed")).unwrap(),
        )
        .unwrap();
        let barrier = std::sync::Barrier::new(16);
        let locks: Vec<Option<RunLock>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let (dir, barrier) = (dir.path(), &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        RunLock::acquire(dir, &holder(&format!("t{i}")), |_| {}).ok()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(locks.iter().filter(|l| l.is_some()).count(), 1);
    }
}
