//! A dry-run writes nothing; a transfer whose source fails leaves nothing
//! under the final key.

use super::*;

/// Writes in a dry-run: recorded with their full description, not
/// performed; reads are performed.
fn dry_run_writes_nothing(s: &Store, storage: &str, url_start: &str) {
    let steps = r#"
    step put uses=store-probe action=put { storage STORE; key "dry/a.txt"; text "x"; }
    step up uses=store-probe action=transfer {
        from-command head "-c" "1000000" "/dev/zero"
        transform "zstd:3" "sha256"
        to-object storage=STORE key="dry/big.zst"
    }
    step down uses=store-probe action=transfer {
        from-object storage=STORE key="dry/a.txt"
        to-file "files/dry.out"
    }
    step delete uses=store-probe action=delete { storage STORE; key "dry/keep.txt"; }
    step list uses=store-probe action=list { storage STORE; prefix "dry/"; }
    "#
    .replace("STORE", storage);
    // Something for the delete to leave alone.
    s.run(
        "seed",
        &format!(r#"step put uses=store-probe action=put {{ storage {storage}; key "dry/keep.txt"; text "keep"; }}"#),
        &[],
    )
    .success();
    let r = s.run("dry", &steps, &["--dry-run"]);
    r.success()
        .stdout_has(&format!("⋯ object {url_start}"))
        .stdout_has("dry/a.txt would be written (1 byte)")
        .stdout_has("dry/keep.txt would be deleted")
        .stdout_has(
            "would transfer: head -c 1000000 /dev/zero (on `local`) | zstd -3 | sha256 → object ",
        )
        .stdout_has("dry/big.zst")
        .stdout_has("would transfer: object ");
    assert_eq!(s.outputs("put")["planned"], true);
    assert_eq!(s.outputs("up")["planned"], true);
    assert_eq!(s.outputs("up")["bytes-in"], 0);
    // The list is a read: performed, and it sees only the seeded object.
    assert_eq!(
        s.outputs("list")["keys"],
        serde_json::json!(["dry/keep.txt"])
    );
    assert!(!s.p.join("files/dry.out").exists());
    let planned: Vec<Value> = s
        .journal()
        .into_iter()
        .filter(|e| e["event"] == "capability" && e["planned"] == true)
        .collect();
    assert_eq!(planned.len(), 4, "{planned:?}");
}

#[test]
fn dir_dry_run_writes_nothing() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    dry_run_writes_nothing(&s, "local", "dir://local/");
    let mut left: Vec<String> = std::fs::read_dir(s.p.join(".cairn/objects/dry"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["keep.txt"]);
}

#[test]
fn s3_dry_run_writes_nothing() {
    let Some(lab) = lab_s3() else { return };
    let Some(s) = Store::new(Some(&lab), "lab") else {
        return;
    };
    dry_run_writes_nothing(&s, "lab", &format!("s3://{}/cairn-test-", lab.1));
}

/// A source command that fails (after more than one upload part of data)
/// fails the transfer with its stderr, and leaves no object and no file.
fn failing_source_leaves_nothing(s: &Store, storage: &str) {
    let r = s.run(
        "fail",
        &r#"
    step up uses=store-probe action=transfer {
        from-command sh "-c" "head -c 20000000 /dev/zero; echo 'dump: connection lost' >&2; exit 3"
        transform "zstd:1" "sha256"
        to-object storage=STORE key="failed/dump.zst"
    }
    "#
        .replace("STORE", storage),
        &[],
    );
    r.code(1)
        .stdout_has("exited with status 3: dump: connection lost");
    s.run(
        "fail-file",
        r#"
    step down uses=store-probe action=transfer {
        from-command sh "-c" "head -c 3000000 /dev/zero; exit 2"
        to-file "files/failed.out"
    }
    "#,
        &[],
    )
    .code(1)
    .stdout_has("exited with status 2");
    s.run(
        "check",
        &format!(
            r#"step list uses=store-probe action=list {{ storage {storage}; prefix "failed/"; }}"#
        ),
        &[],
    )
    .success();
    assert_eq!(s.outputs("list")["count"], 0);
    let files: Vec<_> = std::fs::read_dir(s.p.join("files"))
        .map(|rd| rd.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(files.is_empty(), "left behind: {files:?}");
}

#[test]
fn dir_failing_source_leaves_nothing() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    failing_source_leaves_nothing(&s, "local");
    let objects = s.p.join(".cairn/objects");
    let left: Vec<_> = walk(&objects);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn s3_failing_source_leaves_nothing() {
    let Some(lab) = lab_s3() else { return };
    let Some(s) = Store::new(Some(&lab), "lab") else {
        return;
    };
    failing_source_leaves_nothing(&s, "lab");
}
