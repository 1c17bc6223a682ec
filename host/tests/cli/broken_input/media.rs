//! A media directory whose file names are not UTF-8 goes through backup and
//! restore byte for byte; a storage that fills up during a backup fails the
//! step with a clear message and loses nothing stored before.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::bounded;
use crate::Project;

const MEDIA: &str = r#"runbook media version=1 {
    param dir default=""
    param restore-dir default=""
    step backup uses=backup action=files when="{{ params.dir }}" {
        dir "{{ params.dir }}"
        storage local
        name site
    }
    step restore uses=restore action=files when="{{ params.restore-dir }}" {
        dir "{{ params.restore-dir }}"
        storage local
        name site
    }
}
"#;

/// Every file under `dir`: its path's bytes relative to `dir`, and its bytes.
fn tree(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = e.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir");
                let bytes = std::fs::read(&path).expect("read");
                out.push((rel.as_os_str().as_bytes().to_vec(), bytes));
            }
        }
    }
    out.sort();
    out
}

fn name(bytes: &[u8]) -> &OsStr {
    OsStr::from_bytes(bytes)
}

#[test]
fn file_names_that_are_not_utf8_round_trip_through_backup_and_restore() {
    let p = Project::new();
    p.runbook("media", MEDIA);
    let media = p.join("media");
    let odd = media.join(name(b"dir-\xff\xfe"));
    std::fs::create_dir_all(&odd).expect("mkdir");
    std::fs::write(media.join(name(b"caf\xe9.txt")), b"latin-1 name").expect("write");
    std::fs::write(odd.join(name(b"new\nline \x01 \\ \"q\"")), b"inner").expect("write");
    std::fs::write(media.join("plain.txt"), b"plain").expect("write");
    let restored = p.join("restored");
    bounded(
        &p,
        &[
            "run",
            "media",
            "-p",
            &format!("dir={}", media.display()),
            "-p",
            &format!("restore-dir={}", restored.display()),
        ],
    )
    .success();
    assert_eq!(tree(&restored), tree(&media), "names and bytes round-trip");
    assert_eq!(tree(&media).len(), 3);
}

/// A tmpfs of `kib` KiB mounted on `at`, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &Path, kib: u32) -> Option<Self> {
        std::fs::create_dir_all(at).expect("mount point");
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(at)
            .status()
            .ok()?;
        if st.success() {
            Some(SmallDisk(at.to_path_buf()))
        } else {
            eprintln!("skipped: cannot mount a tmpfs (needs root)");
            None
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Bytes that do not compress: zstd keeps them at their size.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn a_storage_that_fills_up_fails_the_backup_and_keeps_what_it_held() {
    let p = Project::new();
    p.runbook("media", MEDIA);
    let Some(_disk) = SmallDisk::mount(&p.join(".cairn/objects"), 512) else {
        return;
    };
    p.file("small/a.txt", "small and kept");
    let dir = |d: &str| format!("dir={}", p.join(d).display());
    bounded(&p, &["run", "media", "-p", &dir("small")]).success();
    let before = tree(&p.join(".cairn/objects"));
    assert!(!before.is_empty());

    std::fs::create_dir_all(p.join("big")).expect("mkdir");
    std::fs::write(p.join("big/noise.bin"), noise(2 << 20)).expect("write");
    let r = bounded(&p, &["run", "media", "-p", &dir("big")]);
    r.code(1);
    let said = format!("{}{}", r.stdout, r.stderr);
    assert!(
        said.contains("No space left") || said.contains("no space"),
        "the message names the full disk:\n{said}"
    );
    // What was stored before is there, whole; the latest good backup restores.
    let after = tree(&p.join(".cairn/objects"));
    for item in &before {
        assert!(
            after.contains(item),
            "{} was lost",
            String::from_utf8_lossy(&item.0)
        );
    }
    let restored = p.join("restored");
    let into = format!("restore-dir={}", restored.display());
    bounded(&p, &["run", "media", "-p", &into]).success();
    assert_eq!(
        std::fs::read_to_string(restored.join("a.txt"))
            .ok()
            .as_deref(),
        Some("small and kept")
    );
}
