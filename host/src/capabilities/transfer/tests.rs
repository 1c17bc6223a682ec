//! Tests of `transfer`.

use super::*;

#[test]
fn paths_are_normalised_and_never_climb() {
    assert_eq!(normal(Path::new("/a/./b")), Some(PathBuf::from("/a/b")));
    assert_eq!(normal(Path::new("/a/../b")), None);
    let root = Path::new("/proj");
    let m = dir_matches(root);
    assert!(m("backups", "/proj/backups/x.zst"));
    assert!(m("/var/backups", "/var/backups/x"));
    assert!(!m("/var/backups", "/var/backupsx/y"));
    assert!(!m("backups", "/proj/other"));
}
