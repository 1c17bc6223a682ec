//! Keys that climb out of a storage, and storages not granted, are refused.

use super::*;

#[test]
fn keys_that_climb_out_are_refused_and_nothing_escapes() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    for key in ["../escape", "notes/../../escape", "/tmp/escape", "a//b"] {
        let r = s.run(
            "climb",
            &format!(r#"step put uses=store-probe action=put {{ storage local; key "{key}"; text "x"; }}"#),
            &[],
        );
        r.code(1).stdout_has(&format!("key `{key}` is refused"));
    }
    s.run(
        "climb-transfer",
        r#"step t uses=store-probe action=transfer {
            from-command head "-c" "10" "/dev/zero"
            to-object storage=local key="../../escape"
        }"#,
        &[],
    )
    .code(1)
    .stdout_has("key `../../escape` is refused: it climbs out with `..`");
    s.run(
        "climb-get",
        r#"step g uses=store-probe action=get { storage local; key "../cairn.kdl"; }"#,
        &[],
    )
    .code(1)
    .stdout_has("key `../cairn.kdl` is refused");
    assert!(!s.p.join(".cairn/escape").exists());
    assert!(!s.p.join("escape").exists());
    assert!(!s.p.path().parent().unwrap().join("escape").exists());
    // A symbolic link planted inside the storage is not followed.
    let objects = s.p.join(".cairn/objects");
    std::fs::create_dir_all(&objects).unwrap();
    std::os::unix::fs::symlink(s.p.path(), objects.join("link")).unwrap();
    s.run(
        "through-link",
        r#"step put uses=store-probe action=put { storage local; key "link/planted"; text "x"; }"#,
        &[],
    )
    .code(1)
    .stdout_has("symbolic link");
    assert!(!s.p.join("planted").exists());
}

#[test]
fn a_storage_not_granted_is_refused_with_the_fixed_phrasing() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    s.run(
        "denied",
        r#"step put uses=store-probe action=put { storage other; key "k"; text "x"; }"#,
        &[],
    )
    // The preflight finds it before the first step runs: refused, not failed.
    .code(3)
    .stderr_has("step `put` needs storage `other`, which the grant of plugin `store-probe` does not allow (add it in cairn.kdl: `grant plugin=store-probe { storage \"other\" }`)");
    assert!(!s.p.join("other-objects").exists());
    // A transfer's ends are checked against their own grants.
    s.run(
        "denied-transfer",
        r#"step t uses=store-probe action=transfer {
            from-object storage=other key="k"
            to-discard
        }"#,
        &[],
    )
    .code(3)
    .stderr_has(
        "step `t` needs storage `other`, which the grant of plugin `store-probe` does not allow",
    );
    s.run(
        "denied-file",
        r#"step t uses=store-probe action=transfer {
            from-command head "-c" "10" "/dev/zero"
            to-file "/tmp/cairn-denied-file"
        }"#,
        &[],
    )
    .code(1)
    .stdout_has("files: `/tmp/cairn-denied-file` is not permitted for plugin `store-probe`");
    s.run(
        "denied-exec",
        r#"step t uses=store-probe action=transfer {
            from-command cat "/etc/hostname"
            to-discard
        }"#,
        &[],
    )
    .code(1)
    .stdout_has("exec: `cat` is not permitted for plugin `store-probe`");
}
