//! Dry-runs of backup and restore list every write and change nothing.

use super::*;

#[test]
fn dry_runs_list_every_write_and_change_nothing() {
    let Some(lab) = lab() else { return };
    let p = project(&lab);
    let storage = if lab.s3.is_some() { "lab" } else { "local" };
    // Two real backups first: one for the restore to check, one for the
    // prune to delete.
    for _ in 0..2 {
        p.cairn(&[
            "run",
            "backup",
            "-p",
            &format!("database-url={}", lab.primary),
            "-p",
            &format!("media-dir={}", lab.media),
            "-p",
            &format!("storage={storage}"),
        ])
        .success();
    }
    let before_local = files_under(&p.join(".cairn/objects"));
    let before_s3 = s3_keys(&lab, &p);
    let run = p.cairn(&[
        "run",
        "backup",
        "--dry-run",
        "-p",
        &format!("database-url={}", lab.primary),
        "-p",
        &format!("media-dir={}", lab.media),
        "-p",
        &format!("storage={storage}"),
        "-p",
        "keep=1",
    ]);
    run.success()
        .stdout_has("pg_dump")
        .stdout_has(".dump.zst")
        .stdout_has(".manifest.json")
        .stdout_has(".tar.zst")
        .stdout_has("would be deleted");
    assert_eq!(files_under(&p.join(".cairn/objects")), before_local);
    assert_eq!(s3_keys(&lab, &p), before_s3);

    let db = unique("dry");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    let media = p.join("dry-media");
    // Other tests make their own scratch databases meanwhile: leave theirs out.
    let others = |admin: &str| -> Vec<String> {
        databases(admin)
            .into_iter()
            .filter(|d| !d.starts_with("cairn_t_"))
            .collect()
    };
    let before = others(&lab.new_admin);
    restore_into(
        &p,
        &lab,
        &db,
        &[
            "--dry-run",
            "-p",
            &format!("storage={storage}"),
            "-p",
            &format!("media-dir={}", media.display()),
        ],
    )
    .success()
    .stdout_has("would run: PGPASSWORD=… psql")
    .stdout_has(&format!("create database \"{db}\""))
    .stdout_has("pg_restore");
    assert_eq!(others(&lab.new_admin), before);
    assert!(!databases(&lab.new_admin).contains(&db), "database created");
    assert!(!media.exists());
}
