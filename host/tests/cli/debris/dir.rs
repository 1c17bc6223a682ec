//! A backup killed mid-write in a `dir` storage leaves debris that the next
//! run and `cairn storage gc` find and clear.

use super::*;

#[test]
fn a_backup_killed_mid_write_in_a_dir_storage() {
    let Some(lab) = lab() else { return };
    let Some(db) = TestDb::new() else { return };
    let p = Project::new();
    let objects = p.join(".cairn/objects");
    let series = objects.join("backups/postgres");
    let good = backup(&p, &db, "local");

    // Killed mid-write: its temporary file stays.
    let tmp = killed_backup(&p, &db, "local", || {
        files(&series)
            .into_iter()
            .find(|f| f.starts_with(".cairn-tmp-"))
    });
    let tag = tag_of(&tmp);
    std::thread::sleep(Duration::from_millis(1100));
    // As the run leaves it when killed between the archive and its
    // manifest; the work of a live writer; an object of somebody else.
    let half = format!("site-{}.dump.zst", stamp_now());
    std::fs::write(series.join(&half), b"half an archive").unwrap();
    setxattr(&series.join(&half), &tag);
    let live = format!(".cairn-tmp-{}-0-site-live.dump.zst", live_tag(&tag));
    std::fs::write(series.join(&live), b"being written").unwrap();
    std::fs::write(objects.join("notes.txt"), b"not cairn's").unwrap();
    let before = files(&objects);

    // `latest` is the newest archive with a valid manifest.
    let restored = unique("debris_restore");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![restored.clone()],
    };
    crate::backup::restore_into(&p, &lab, &restored, &["-p", "storage=local"]).success();
    assert_eq!(outputs(&p, "database")["key"], good);

    // gc --dry-run lists and keeps.
    let dry = p.cairn(&["storage", "gc", "local", "--dry-run"]);
    dry.success()
        .stdout_has(&format!(
            "would remove temporary file: dir://local/backups/postgres/{tmp}"
        ))
        .stdout_has(&format!(
            "would remove archive without manifest: dir://local/backups/postgres/{half}"
        ))
        .stdout_has(&format!(
            "kept temporary file: dir://local/backups/postgres/{live}"
        ))
        .stdout_has("is writing it")
        .stdout_lacks("notes.txt");
    assert_eq!(files(&objects), before);

    // gc removes exactly the dead run's debris.
    p.cairn(&["storage", "gc", "local"])
        .success()
        .stdout_has(&format!(
            "removed temporary file: dir://local/backups/postgres/{tmp}"
        ))
        .stdout_has("2 removed, 1 kept");
    let mut expected: Vec<String> = before
        .iter()
        .filter(|f| !f.ends_with(&tmp) && !f.ends_with(&half))
        .cloned()
        .collect();
    expected.sort();
    assert_eq!(files(&objects), expected);
    assert!(expected.contains(&good) && expected.contains(&format!("{good}.manifest.json")));

    // Killed again, and another archive without manifest: the next backup
    // sweeps the temporary file, and prune (keep=2) keeps the two archives
    // that have manifests, and deletes no archive without one.
    let tmp2 = killed_backup(&p, &db, "local", || {
        files(&series)
            .into_iter()
            .find(|f| f.starts_with(".cairn-tmp-") && *f != live)
    });
    std::thread::sleep(Duration::from_millis(1100));
    let half2 = format!("site-{}.dump.zst", stamp_now());
    std::fs::write(series.join(&half2), b"half an archive").unwrap();
    setxattr(&series.join(&half2), &tag_of(&tmp2));
    std::thread::sleep(Duration::from_millis(1100));
    let newest = backup(&p, &db, "local");
    let left = files(&series);
    assert!(!left.contains(&tmp2), "not swept: {left:?}");
    assert!(
        left.contains(&live),
        "a live writer's file was removed: {left:?}"
    );
    assert!(left.contains(&half2), "{left:?}");
    for k in [&good, &newest] {
        let name = k.rsplit('/').next().unwrap();
        assert!(left.contains(&name.to_string()), "{name} pruned: {left:?}");
        assert!(left.contains(&format!("{name}.manifest.json")), "{left:?}");
    }
    assert_eq!(
        outputs(&p, "prune-database")["without-manifest"],
        serde_json::json!([format!("backups/postgres/{half2}")])
    );
    assert!(objects.join("notes.txt").is_file());
}
