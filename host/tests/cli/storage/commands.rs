//! Transfers into a command on the step's target, and checksum reads.

use super::*;

#[test]
fn transfer_into_a_command_and_a_checksum_read() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    // Command → command: the sink's exit status counts.
    s.run(
        "pipe",
        r#"
    step put uses=store-probe action=put { storage local; key "t.txt"; text "abc"; }
    step to-cmd uses=store-probe action=transfer {
        from-object storage=local key="t.txt"
        transform "gzip:6" "gunzip" "sha256"
        to-command sh "-c" "cat > files-out.txt"
    }
    step check uses=store-probe action=transfer {
        from-object storage=local key="t.txt"
        transform "sha256"
        to-discard
    }
    step bad-sink uses=store-probe action=transfer {
        from-object storage=local key="t.txt"
        to-command sh "-c" "cat >/dev/null; echo 'restore failed' >&2; exit 4"
    }
    "#,
        &[],
    )
    .code(1)
    .stdout_has("exited with status 4: restore failed");
    // sha256 of "abc".
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(s.outputs("to-cmd")["sha256"], abc);
    assert_eq!(s.outputs("check")["sha256"], abc);
    assert_eq!(
        std::fs::read_to_string(s.p.join("files-out.txt")).unwrap(),
        "abc"
    );
    // A checksum check (object → discard) is a read: performed in a dry-run.
    s.run(
        "check-only",
        r#"step check uses=store-probe action=transfer {
            from-object storage=local key="t.txt"
            transform "sha256"
            to-discard
        }"#,
        &["--dry-run"],
    )
    .success();
    assert_eq!(s.outputs("check")["sha256"], abc);
}
