//! Archives made before cairn, as the old handbook made them: a plain
//! `pg_dump` (`.sql`), gzipped (`.sql.gz`), and a tarball of the dump and
//! the media compressed with lrzip (`.tar.lrz`), fetched from S3 and
//! restored by the stock `restore` runbook onto the lab's new server with
//! psql; damaged ones are refused before any database is made. Skipped
//! without the lab (and the `.tar.lrz` cases without lrzip), except under
//! `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Project;
use crate::backup::{
    Lab, Scratch, databases, lab, lab_boto3, outputs, project, psql, restore_into, row_counts,
    tree, unique, with_db,
};

/// Runs a shell script in `dir` with `args` as `$1...`; panics on failure.
fn sh(dir: &Path, script: &str, args: &[&str]) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn have_lrzip() -> bool {
    let found = Command::new("sh")
        .args(["-c", "command -v lrzip"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but lrzip is not installed (tests/lab/up installs it)"
        );
        eprintln!("skipped: no lrzip (apt-get install lrzip)");
    }
    found
}

/// The three kinds of archive of the lab's primary, the old way, in `dir`:
/// `2024-01-01.sql`, `2024-01-01.sql.gz` and `2024-01-01.tar.lrz` (the
/// dump `site.sql` and the media under `media/`; with lrzip only).
fn make_archives(lab: &Lab, dir: &Path, lrzip: bool) {
    sh(
        dir,
        r#"set -e
pg_dump --dbname="$1" > 2024-01-01.sql
gzip -c 2024-01-01.sql > 2024-01-01.sql.gz"#,
        &[&lab.primary],
    );
    if lrzip {
        sh(
            dir,
            r#"set -e
mkdir tarball && cp 2024-01-01.sql tarball/site.sql && cp -R "$1" tarball/media
tar -C tarball -cf 2024-01-01.tar site.sql media
lrzip -Q -D 2024-01-01.tar"#,
            &[&lab.media],
        );
    }
}

/// Copies a local file into the project's S3 storage `lab` at `key`, with
/// the lab's boto3.
fn s3_put(lab: &Lab, p: &Project, key: &str, file: &Path) {
    lab_boto3(
        lab,
        p,
        "s3.upload_file(sys.argv[5], bucket, prefix + '/' + sys.argv[4])",
        &[key.as_ref(), file.as_os_str()],
    );
}

/// Copies a local file into the project's `local` dir storage at `key`.
fn dir_put(p: &Project, key: &str, bytes: &[u8]) {
    let path = p.join(&format!(".cairn/objects/{key}"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The newest run's id (its directory under `.cairn/runs`).
fn last_run_id(p: &Project) -> String {
    let mut ids: Vec<String> = std::fs::read_dir(p.join(".cairn/runs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids.pop().expect("a run")
}

/// Scratch directories a restore left in /tmp for run `id`.
fn leftovers(id: &str) -> Vec<PathBuf> {
    std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy()
                    .starts_with(&format!("cairn-restore-{id}"))
            })
        })
        .collect()
}

#[test]
fn legacy_sql_sql_gz_and_tar_lrz_from_s3_restore_on_the_new_server() {
    let Some(lab) = lab() else { return };
    if lab.s3.is_none() {
        eprintln!("skipped: no lab S3");
        return;
    }
    let lrzip = have_lrzip();
    let p = project(&lab);
    let work = tempfile::tempdir().unwrap();
    make_archives(&lab, work.path(), lrzip);
    let source = row_counts(&lab.primary);
    assert!(source.contains("public.notes_note 5"), "{source}");

    let mut kinds = vec!["sql", "sql.gz"];
    if lrzip {
        kinds.push("tar.lrz");
    }
    let dbs: Vec<String> = kinds
        .iter()
        .map(|k| unique(&format!("legacy_{}", k.replace('.', "_"))))
        .collect();
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: dbs.clone(),
    };
    for (kind, db) in kinds.iter().zip(&dbs) {
        let key = format!("backups/hello/2024-01-01.{kind}");
        s3_put(
            &lab,
            &p,
            &key,
            &work.path().join(format!("2024-01-01.{kind}")),
        );
        let media = p.join(&format!("media-{}", kind.replace('.', "-")));
        let mut extra = vec![
            "-p".to_string(),
            "storage=lab".into(),
            "-p".into(),
            format!("key={key}"),
            "-p".into(),
            "owner=cairn".into(),
        ];
        if *kind == "tar.lrz" {
            // The tarball's files too, from the same archive.
            extra.extend([
                "-p".into(),
                format!("media-key={key}"),
                "-p".into(),
                format!("media-dir={}", media.display()),
            ]);
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        restore_into(&p, &lab, db, &extra)
            .success()
            .stdout_has("passed its checks");
        let out = outputs(&p, "database");
        assert_eq!(out["format"], *kind, "{out}");
        assert_eq!(out["created"], true);
        assert_eq!(out["sha256"].as_str().unwrap().len(), 64, "{out}");
        assert!(
            out["backup-created"].as_str().unwrap().ends_with('Z'),
            "the object's time: {out}"
        );
        let restored = with_db(&lab.new_admin, db);
        assert_eq!(row_counts(&restored), source, "{kind}");
        assert_eq!(
            psql(
                &restored,
                "select tableowner from pg_tables where tablename = 'notes_note'"
            ),
            "cairn"
        );
        if *kind == "tar.lrz" {
            assert_eq!(out["member"], "site.sql");
            let mut files = tree(&media);
            assert!(
                files.iter().any(|(f, _)| f == Path::new("site.sql")),
                "the whole tarball is unpacked"
            );
            files.retain(|(f, _)| f != Path::new("site.sql"));
            let live: Vec<_> = tree(Path::new(&lab.media))
                .into_iter()
                .map(|(f, b)| (Path::new("media").join(f), b))
                .collect();
            assert_eq!(files, live);
            assert!(
                leftovers(&last_run_id(&p)).is_empty(),
                "scratch directory removed"
            );
        }
    }
}

#[test]
fn damaged_legacy_archives_are_refused_before_a_database_is_made() {
    let Some(lab) = lab() else { return };
    let lrzip = have_lrzip();
    let p = Project::new();
    let work = tempfile::tempdir().unwrap();
    make_archives(&lab, work.path(), lrzip);
    let db = unique("legacy_damaged");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    let read = |name: &str| std::fs::read(work.path().join(name)).unwrap();
    let refused = |key: &str, why: &str| {
        restore_into(&p, &lab, &db, &["-p", &format!("key={key}")])
            .code(1)
            .stdout_has("is refused")
            .stdout_has(why)
            .stdout_has("nothing was restored");
        assert!(
            !databases(&lab.new_admin).contains(&db),
            "{key}: the database was made"
        );
        assert!(
            leftovers(&last_run_id(&p)).is_empty(),
            "{key}: scratch left"
        );
    };

    // A .sql.gz with one flipped byte in the middle: the gzip check.
    let mut gz = read("2024-01-01.sql.gz");
    let mid = gz.len() / 2;
    gz[mid] ^= 0x01;
    dir_put(&p, "old/flipped.sql.gz", &gz);
    refused("old/flipped.sql.gz", "its gzip stream is damaged");

    // A plain dump cut short, and a whole gzip stream of a cut dump: the
    // dump's last line is missing.
    let sql = read("2024-01-01.sql");
    dir_put(&p, "old/cut.sql", &sql[..sql.len() * 2 / 3]);
    refused("old/cut.sql", "cut short");
    dir_put(&p, "old/cut.sql.gz", &gzip(&sql[..sql.len() / 2]));
    refused("old/cut.sql.gz", "cut short");

    if lrzip {
        // A .tar.lrz cut in half: lrzip refuses it.
        let lrz = read("2024-01-01.tar.lrz");
        dir_put(&p, "old/cut.tar.lrz", &lrz[..lrz.len() / 2]);
        refused("old/cut.tar.lrz", "lrzip cannot decompress it");
    }

    // Whole again: the same database is restored.
    dir_put(&p, "old/whole.sql.gz", &read("2024-01-01.sql.gz"));
    restore_into(&p, &lab, &db, &["-p", "key=old/whole.sql.gz"]).success();
    assert_eq!(
        row_counts(&with_db(&lab.new_admin, &db)),
        row_counts(&lab.primary)
    );
}

/// gzip of `data`, by the system's gzip.
fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// A whole dump that fails half-way (a role the new server lacks) leaves
/// the database empty: psql ran it in one transaction and stopped at the
/// first error. An existing database with tables is refused without
/// `replace`, and kept aside with it.
#[test]
fn a_legacy_dump_fails_whole_and_respects_non_empty_databases() {
    let Some(lab) = lab() else { return };
    let p = Project::new();
    let work = tempfile::tempdir().unwrap();
    make_archives(&lab, work.path(), false);
    let db = unique("legacy_tx");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    sh(
        work.path(),
        "sed 's/OWNER TO cairn;/OWNER TO cairn_t_no_such_role;/' 2024-01-01.sql > bad-owner.sql",
        &[],
    );
    dir_put(
        &p,
        "old/bad-owner.sql",
        &std::fs::read(work.path().join("bad-owner.sql")).unwrap(),
    );
    restore_into(&p, &lab, &db, &["-p", "key=old/bad-owner.sql"])
        .code(1)
        .stdout_has("cairn_t_no_such_role")
        .stdout_has("in one transaction");
    let url = with_db(&lab.new_admin, &db);
    assert_eq!(
        psql(
            &url,
            "select count(*) from pg_tables where schemaname = 'public'"
        ),
        "0",
        "nothing of the dump is left"
    );

    // Now restore it for real; a second restore is refused, then replaces.
    dir_put(
        &p,
        "old/site.sql",
        &std::fs::read(work.path().join("2024-01-01.sql")).unwrap(),
    );
    restore_into(&p, &lab, &db, &["-p", "key=old/site.sql"]).success();
    assert_eq!(
        outputs(&p, "database")["created"],
        false,
        "the empty one is used"
    );
    restore_into(&p, &lab, &db, &["-p", "key=old/site.sql"])
        .code(1)
        .stdout_has("is not empty");
    restore_into(
        &p,
        &lab,
        &db,
        &["-p", "key=old/site.sql", "-p", "replace=true"],
    )
    .success();
    let kept = outputs(&p, "database")["kept"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(kept.starts_with(&format!("{db}_before_")), "{kept}");
    assert_eq!(row_counts(&url), row_counts(&lab.primary));
    assert_eq!(
        row_counts(&with_db(&lab.new_admin, &kept)),
        row_counts(&lab.primary)
    );
}
