//! A PostgreSQL database and media backed up to s3 and restored on the new
//! server.

use super::*;

#[test]
fn postgres_and_media_go_to_s3_and_come_back_on_the_new_server() {
    let Some(lab) = lab() else { return };
    let Some(_) = &lab.s3 else {
        eprintln!("skipped: no lab S3");
        return;
    };
    let p = project(&lab);
    let db = unique("restore");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={}", lab.primary),
        "-p",
        &format!("media-dir={}", lab.media),
        "-p",
        "storage=lab",
    ])
    .success();
    let dump = outputs(&p, "database");
    let key = dump["key"].as_str().unwrap();
    assert!(
        key.starts_with("backups/postgres/site-") && key.ends_with(".dump.zst"),
        "{dump}"
    );
    assert_eq!(dump["sha256"].as_str().unwrap().len(), 64);
    assert!(dump["size"].as_u64().unwrap() > 0);
    assert!(
        outputs(&p, "media")["key"]
            .as_str()
            .unwrap()
            .starts_with("backups/files/site-")
    );
    assert_eq!(outputs(&p, "verify-database")["verified"], true);
    // The password reached no command line, no step's event, no output,
    // and the params are journaled with the URL's password masked.
    for line in p.journals().lines() {
        assert!(
            !line.contains("cairn-lab-pw"),
            "password in the journal: {line}"
        );
    }

    let media = p.join("restored-media");
    p.cairn(&[
        "run",
        "restore",
        "-p",
        &format!("server-url={}", lab.new_admin),
        "-p",
        &format!("database={db}"),
        "-p",
        "owner=cairn",
        "-p",
        &format!("media-dir={}", media.display()),
        "-p",
        "storage=lab",
    ])
    .success();
    let restored = outputs(&p, "database");
    assert_eq!(restored["key"], key);
    assert_eq!(restored["database"], db.as_str());
    assert_eq!(restored["created"], true);
    assert!(restored["backup-created"].as_str().unwrap().ends_with('Z'));
    let counts = row_counts(&lab.primary);
    assert!(counts.contains("public.notes_note 5"), "{counts}");
    assert_eq!(row_counts(&with_db(&lab.new_admin, &db)), counts);
    assert_eq!(
        psql(
            &with_db(&lab.new_admin, &db),
            "select tableowner from pg_tables where tablename = 'notes_note'"
        ),
        "cairn"
    );
    assert_eq!(tree(&media), tree(Path::new(&lab.media)));
    assert!(!tree(&media).is_empty());
}
