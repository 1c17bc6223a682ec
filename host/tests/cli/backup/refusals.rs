//! Damaged archives are refused before any restore starts; a non-empty
//! database is refused without `replace` and kept with it.

use super::*;

/// Backs the lab's primary up into the project's `local` dir storage; the
/// archive's path.
fn backup_to_dir(p: &Project, lab: &Lab) -> PathBuf {
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={}", lab.primary),
    ])
    .success();
    let key = outputs(p, "database")["key"].as_str().unwrap().to_string();
    p.join(&format!(".cairn/objects/{key}"))
}

#[test]
fn damaged_archives_are_refused_before_any_restore_starts() {
    let Some(lab) = lab() else { return };
    let p = Project::new();
    let db = unique("damaged");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    let archive = backup_to_dir(&p, &lab);
    let good = std::fs::read(&archive).unwrap();

    // One flipped byte in the middle.
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    std::fs::write(&archive, &flipped).unwrap();
    restore_into(&p, &lab, &db, &[])
        .code(1)
        .stdout_has("is refused")
        .stdout_has("nothing was restored");
    assert!(!databases(&lab.new_admin).contains(&db), "database created");
    // In parallel the archive is checked while it is copied to a file for
    // pg_restore -j: refused the same, and the file does not stay.
    let dumps_before = restore_files();
    restore_into(&p, &lab, &db, &["-p", "jobs=2"])
        .code(1)
        .stdout_has("is refused")
        .stdout_has("nothing was restored");
    assert!(!databases(&lab.new_admin).contains(&db), "database created");
    assert_eq!(restore_files(), dumps_before, "the copy was left behind");

    // Cut short.
    std::fs::write(&archive, &good[..good.len() / 2]).unwrap();
    restore_into(&p, &lab, &db, &[])
        .code(1)
        .stdout_has("truncated");
    assert!(!databases(&lab.new_admin).contains(&db), "database created");

    // Whole again: it restores, in parallel, all of it.
    std::fs::write(&archive, &good).unwrap();
    restore_into(&p, &lab, &db, &["-p", "owner=cairn", "-p", "jobs=2"])
        .success()
        .stdout_has("matches its manifest's sha256");
    assert!(databases(&lab.new_admin).contains(&db));
    assert_eq!(
        row_counts(&with_db(&lab.new_admin, &db)),
        row_counts(&lab.primary)
    );
    assert_eq!(restore_files(), dumps_before, "the copy was left behind");
}

/// The copies parallel restores keep in the default temporary directory.
fn restore_files() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/tmp")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("cairn-restore-"))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_non_empty_database_is_refused_without_replace_and_kept_with_it() {
    let Some(lab) = lab() else { return };
    let p = Project::new();
    let db = unique("replace");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    backup_to_dir(&p, &lab);
    restore_into(&p, &lab, &db, &[]).success();
    let url = with_db(&lab.new_admin, &db);
    psql(&url, "create table marker (x int)");

    restore_into(&p, &lab, &db, &[])
        .code(1)
        .stdout_has("is not empty")
        .stdout_has("replace");
    assert_eq!(
        psql(
            &url,
            "select count(*) from pg_tables where tablename = 'marker'"
        ),
        "1"
    );

    restore_into(&p, &lab, &db, &["-p", "replace=true"]).success();
    let kept = outputs(&p, "database")["kept"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(kept.starts_with(&format!("{db}_before_")), "{kept}");
    assert_eq!(
        psql(
            &url,
            "select count(*) from pg_tables where tablename = 'marker'"
        ),
        "0"
    );
    assert_eq!(
        psql(
            &with_db(&lab.new_admin, &kept),
            "select count(*) from pg_tables where tablename = 'marker'"
        ),
        "1"
    );

    // Dropping the kept one is its own step, and only kept ones are dropped.
    p.runbook(
        "drop-kept",
        &format!(
            "runbook drop-kept version=1 {{\n    param database required=#true\n    step drop uses=restore action=drop-kept {{\n        url \"{}\"\n        database \"{{{{ params.database }}}}\"\n    }}\n}}\n",
            lab.new_admin
        ),
    );
    p.cairn(&["run", "drop-kept", "-p", &format!("database={db}")])
        .code(1)
        .stdout_has("not a database kept");

    // A name alone proves nothing: a database named like a kept one, even
    // with the kept one's comment copied onto it, is not dropped.
    let forged = format!("{db}_before_by_hand");
    psql(&lab.new_admin, &format!("create database \"{forged}\""));
    p.cairn(&["run", "drop-kept", "-p", &format!("database={forged}")])
        .code(1)
        .stdout_has("does not carry the mark")
        .stdout_has("nothing was dropped");
    let mark = psql(
        &lab.new_admin,
        &format!(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = '{kept}'"
        ),
    );
    assert!(mark.starts_with("cairn kept run="), "{mark}");
    psql(
        &lab.new_admin,
        &format!("comment on database \"{forged}\" is '{mark}'"),
    );
    p.cairn(&["run", "drop-kept", "-p", &format!("database={forged}")])
        .code(1)
        .stdout_has("does not carry the mark");
    assert!(
        databases(&lab.new_admin).contains(&forged),
        "a forged one was dropped"
    );

    // A client connected to the kept database: refused, not terminated.
    let mut client = Command::new("psql")
        .args([
            "--no-psqlrc",
            "-d",
            &with_db(&lab.new_admin, &kept),
            "-c",
            "select pg_sleep(120)",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let connected = || {
        psql(
            &lab.new_admin,
            &format!("select count(*) from pg_stat_activity where datname = '{kept}'"),
        ) != "0"
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !connected() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let refused = p.cairn(&["run", "drop-kept", "-p", &format!("database={kept}")]);
    let still = client.try_wait().unwrap().is_none();
    let _ = client.kill();
    let _ = client.wait();
    refused.code(1).stdout_has("other clients connected");
    assert!(still, "the other client's session was ended");
    assert!(databases(&lab.new_admin).contains(&kept));
    // The server goes on sleeping for the killed client: end that session.
    psql(
        &lab.new_admin,
        &format!("select pg_terminate_backend(pid) from pg_stat_activity where datname = '{kept}'"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while connected() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    p.cairn(&["run", "drop-kept", "-p", &format!("database={kept}")])
        .success();
    let dbs = databases(&lab.new_admin);
    assert!(!dbs.contains(&kept) && dbs.contains(&db), "{dbs:?}");
}
