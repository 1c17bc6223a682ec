//! `backup action=verify` reads the whole archive back. A dump larger than a
//! pipe's buffer used to fail with `Broken pipe`: `pg_restore --list` stops
//! reading after the table of contents, so the rest of the stream had
//! nowhere to go. The stock `backup` runbook verifies every dump it makes, so
//! a real site's backup failed although the archive was sound.

use crate::backup::{Scratch, lab, outputs, psql, unique, with_db};

#[test]
fn a_dump_larger_than_a_pipe_buffer_verifies() {
    let Some(lab) = lab() else { return };
    let db = unique("bigdump");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    psql(&lab.new_admin, &format!("create database \"{db}\""));
    let url = with_db(&lab.new_admin, &db);
    // ~9 MB of hex text: about 4 MB once pg_dump has compressed it, far more
    // than the 64 KiB a pipe holds.
    psql(
        &url,
        "create table t as select g as id, md5(g::text) || md5((g * 7)::text) as v \
         from generate_series(1, 140000) g",
    );
    let p = crate::Project::new();
    p.cairn(&["run", "backup", "-p", &format!("database-url={url}")])
        .success();
    let dump = outputs(&p, "database");
    let verified = outputs(&p, "verify-database");
    assert_eq!(verified["verified"], true, "{verified}");
    assert_eq!(verified["key"], dump["key"]);
    // The whole archive went through pg_restore, not only its table of
    // contents: more bytes than the compressed dump's stored size.
    let checked = verified["checked-bytes"].as_u64().unwrap();
    assert!(
        checked > 1_000_000,
        "checked only {checked} bytes: {verified}"
    );
}
