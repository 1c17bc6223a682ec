//! Objects written, listed, read and deleted through `dir` and `s3` storages.

use super::*;

const ROUND_TRIP: &str = r#"
    step put uses=store-probe action=put { storage STORE; key "notes/a.txt"; text "hello storage"; }
    step put2 uses=store-probe action=put { storage STORE; key "notes/b.txt"; text "second"; }
    step put3 uses=store-probe action=put { storage STORE; key "other/c.txt"; text "c"; }
    step get uses=store-probe action=get { storage STORE; key "notes/a.txt"; }
    step head uses=store-probe action=head { storage STORE; key "notes/a.txt"; }
    step head-missing uses=store-probe action=head { storage STORE; key "notes/none.txt"; }
    step list uses=store-probe action=list { storage STORE; prefix "notes/"; }
    step list-all uses=store-probe action=list { storage STORE; }
    step delete uses=store-probe action=delete { storage STORE; key "notes/a.txt"; }
    step delete-again uses=store-probe action=delete { storage STORE; key "notes/a.txt"; }
    step after uses=store-probe action=list { storage STORE; prefix "notes/"; }
"#;

fn round_trip(s: &Store, storage: &str, url_start: &str) {
    s.run("round", &ROUND_TRIP.replace("STORE", storage), &[])
        .success();
    let put = s.outputs("put");
    assert!(put["url"].as_str().unwrap().starts_with(url_start), "{put}");
    assert!(
        put["url"].as_str().unwrap().ends_with("notes/a.txt"),
        "{put}"
    );
    assert_eq!(put["planned"], false);
    assert_eq!(s.outputs("get")["text"], "hello storage");
    let head = s.outputs("head");
    assert_eq!(
        (head["exists"].clone(), head["size"].clone()),
        (true.into(), 13.into())
    );
    assert_eq!(head["modified"], true);
    assert_eq!(s.outputs("head-missing")["exists"], false);
    let list = s.outputs("list");
    assert_eq!(
        list["keys"],
        serde_json::json!(["notes/a.txt", "notes/b.txt"])
    );
    assert_eq!(list["sizes"], serde_json::json!([13, 6]));
    assert_eq!(s.outputs("list-all")["count"], 3);
    assert_eq!(
        s.outputs("after")["keys"],
        serde_json::json!(["notes/b.txt"])
    );
}

#[test]
fn dir_storage_round_trip() {
    let Some(s) = Store::new(None, "local other") else {
        return;
    };
    round_trip(&s, "local", "dir://local/");
    // The implicit `local` storage is `.cairn/objects` under the root.
    let root = s.p.join(".cairn/objects");
    assert_eq!(
        std::fs::read_to_string(root.join("notes/b.txt")).unwrap(),
        "second"
    );
    assert!(!root.join("notes/a.txt").exists());
    // A declared dir storage is relative to the project root.
    s.run(
        "other",
        r#"step put uses=store-probe action=put { storage other; key "x/y"; text "z"; }"#,
        &[],
    )
    .success();
    assert_eq!(
        std::fs::read_to_string(s.p.join("other-objects/x/y")).unwrap(),
        "z"
    );
}

#[test]
fn s3_storage_round_trip() {
    let Some(lab) = lab_s3() else { return };
    let Some(s) = Store::new(Some(&lab), "lab") else {
        return;
    };
    round_trip(&s, "lab", &format!("s3://{}/cairn-test-", lab.1));
}
