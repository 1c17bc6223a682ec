//! Tests of `storage`.

use super::dir::TempFile;
use super::*;

#[test]
fn keys_that_escape_or_confuse_are_refused_by_name() {
    for ok in ["a", "backups/db-1.zst", "a b/c", "x..y/z", ".hidden"] {
        assert_eq!(check_key(ok), Ok(()), "{ok}");
    }
    for (bad, why) in [
        ("../x", "climbs out"),
        ("a/../../x", "climbs out"),
        ("..", "climbs out"),
        ("/etc/passwd", "absolute"),
        ("a\0b", "NUL"),
        ("a//b", "empty segment"),
        ("a/", "empty segment"),
        ("./a", "`.` segment"),
        ("", "empty"),
        ("a\\..\\b", "backslash"),
        (".cairn-tmp-1-x", "reserved"),
    ] {
        let e = check_key(bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
        assert!(e.contains(&format!("`{}`", bad.escape_debug())), "{e}");
    }
    assert_eq!(check_prefix(""), Ok(()));
    assert_eq!(check_prefix("backups/"), Ok(()));
    assert!(check_prefix("../").is_err());
}

#[test]
fn dir_store_round_trip_and_no_escape() {
    let tmp = tempfile::tempdir().unwrap();
    let st = DirStore {
        name: "local".into(),
        root: tmp.path().join("objects"),
        owner: Owner::current("-"),
    };
    st.put("a/b.txt", b"hello").unwrap();
    st.put("a/c.txt", b"hi").unwrap();
    st.put("z.txt", b"z").unwrap();
    assert_eq!(st.get("a/b.txt", 100).unwrap(), b"hello");
    assert!(st.get("a/b.txt", 2).unwrap_err().contains("use a transfer"));
    let keys: Vec<String> = st.list("a/").unwrap().into_iter().map(|m| m.key).collect();
    assert_eq!(keys, ["a/b.txt", "a/c.txt"]);
    let keys: Vec<String> = st.list("").unwrap().into_iter().map(|m| m.key).collect();
    assert_eq!(keys, ["a/b.txt", "a/c.txt", "z.txt"]);
    assert_eq!(st.list("a/b").unwrap().len(), 1);
    assert_eq!(st.head("a/b.txt").unwrap().unwrap().size, 5);
    assert_eq!(st.head("nope").unwrap(), None);
    assert_eq!(st.head("z.txt/x").unwrap(), None);
    st.delete("a/b.txt").unwrap();
    st.delete("a/b.txt").unwrap();
    assert!(st.get("a/b.txt", 100).unwrap_err().contains("no object"));
    // A link inside the storage is never followed.
    std::os::unix::fs::symlink(tmp.path(), tmp.path().join("objects/out")).unwrap();
    let e = st.put("out/x", b"x").unwrap_err();
    assert!(e.contains("symbolic link"), "{e}");
    assert!(!tmp.path().join("x").exists());
    assert!(st.get("out/objects/z.txt", 100).is_err());
    // A commit that cannot rename (a directory has the name) leaves
    // no temporary behind.
    std::fs::create_dir_all(tmp.path().join("objects/dir/sub")).unwrap();
    let mut w = TempFile::create(&tmp.path().join("objects/dir"), &st.owner).unwrap();
    w.write_all(b"x").unwrap();
    assert!(w.commit().is_err());
    let names: Vec<_> = std::fs::read_dir(tmp.path().join("objects"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.contains("cairn-tmp")), "{names:?}");
    // An uncommitted writer leaves nothing.
    let mut w = st.writer("half").unwrap();
    w.write_all(b"partial").unwrap();
    drop(w);
    assert_eq!(st.head("half").unwrap(), None);
    let names: Vec<_> = std::fs::read_dir(tmp.path().join("objects"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.contains("cairn-tmp")), "{names:?}");
}

#[test]
fn urls_for_plans() {
    let mut map = BTreeMap::new();
    map.insert(
        "offsite".to_string(),
        StorageKind::S3 {
            bucket: "b".into(),
            region: None,
            endpoint: None,
            prefix: Some("site/".into()),
            path_style: false,
            credentials: None,
        },
    );
    map.insert(
        "local".to_string(),
        StorageKind::Dir {
            path: ".cairn/objects".into(),
        },
    );
    let s = Storages::new(Path::new("/p"), map);
    assert_eq!(s.url("offsite", "db.zst"), "s3://b/site/db.zst");
    assert_eq!(s.url("local", "db.zst"), "dir://local/db.zst");
}
