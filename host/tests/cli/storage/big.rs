//! Big transfers stream with bounded memory (multipart on s3), and one past
//! its deadline is killed and leaves nothing.

use super::*;

/// 60 MB from a command through sha256 and zstd into storage, then back
/// through zstd and sha256 into a file: equal digests, sha256sum agrees,
/// and cairn's peak memory stays far below the size of the data.
fn big_round_trip(s: &Store, storage: &str) {
    // A tiny transfer to the same storage first: it compiles the component
    // into the cache and gives cairn's own footprint with the storage's
    // client loaded, to which the big ones are compared.
    s.p.runbook(
        "base",
        &format!(
            r#"runbook base version=1 {{
    step s uses=store-probe action=transfer {{
        from-command head "-c" "10" "/dev/zero"
        to-object storage={storage} key="big/tiny"
    }}
}}"#
        ),
    );
    run_measured(&s.p, &["run", "base"]);
    let (base_rss, _) = run_measured(&s.p, &["run", "base"]);
    let up = format!(
        r#"
    step up uses=store-probe action=transfer {{
        from-command head "-c" "{BIG}" "/dev/urandom"
        transform "sha256" "zstd:3"
        to-object storage={storage} key="big/data.zst"
    }}
    "#
    );
    s.p.runbook("up", &format!("runbook up version=1 {{\n{up}\n}}\n"));
    let (up_rss, up_time) = run_measured(&s.p, &["run", "up"]);
    let o = s.outputs("up");
    assert_eq!(o["bytes-in"], BIG);
    let sent = o["sha256"].as_str().unwrap().to_string();
    assert_eq!(sent.len(), 64);
    let down = format!(
        r#"
    step down uses=store-probe action=transfer {{
        from-object storage={storage} key="big/data.zst"
        transform "unzstd" "sha256"
        to-file "files/data.bin"
    }}
    "#
    );
    s.p.runbook("down", &format!("runbook down version=1 {{\n{down}\n}}\n"));
    let (down_rss, down_time) = run_measured(&s.p, &["run", "down"]);
    let o = s.outputs("down");
    assert_eq!(o["bytes-out"], BIG);
    assert_eq!(o["sha256"], sent.as_str());
    let file = s.p.join("files/data.bin");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), BIG);
    assert_eq!(sha256sum(&file), sent);
    let mb = |b: u64| b as f64 / 1e6;
    eprintln!(
        "{storage}: cairn alone {:.1} MB; 60 MB up in {:.2}s ({:.1} MB/s), peak RSS {:.1} MB; down in {:.2}s ({:.1} MB/s), peak RSS {:.1} MB",
        mb(base_rss),
        up_time.as_secs_f64(),
        mb(BIG) / up_time.as_secs_f64(),
        mb(up_rss),
        down_time.as_secs_f64(),
        mb(BIG) / down_time.as_secs_f64(),
        mb(down_rss)
    );
    // The journal event carries the numbers too.
    let ev = s
        .journal()
        .into_iter()
        .find(|e| e["event"] == "capability" && e["capability"] == "transfer")
        .unwrap();
    assert_eq!(ev["detail"]["bytes_out"], BIG);
    assert!(ev["detail"]["bytes_per_second"].as_f64().unwrap() > 0.0);
    s.run(
        "clean",
        &format!(
            r#"step d uses=store-probe action=delete {{ storage {storage}; key "big/data.zst"; }}"#
        ),
        &[],
    )
    .success();
    // What the transfer adds to cairn's footprint is bounded (buffers, not
    // the data): far below the size moved.
    assert!(base_rss > 0);
    for rss in [up_rss, down_rss] {
        let added = rss.saturating_sub(base_rss);
        assert!(
            added < BIG / 2,
            "a {BIG}-byte transfer added {added} bytes to cairn's {base_rss}"
        );
    }
}

#[test]
fn a_transfer_past_the_deadline_is_killed_and_leaves_nothing() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    let started = Instant::now();
    s.run(
        "slow",
        r#"step t uses=store-probe action=transfer timeout="2s" {
            from-command sh "-c" "head -c 100000 /dev/zero; sleep 60"
            to-object storage=local key="slow/never"
        }"#,
        &[],
    )
    .code(1);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(walk(&s.p.join(".cairn/objects")).is_empty());
}

#[test]
fn dir_big_transfer_streams() {
    let Some(s) = Store::new(None, "local") else {
        return;
    };
    big_round_trip(&s, "local");
}

#[test]
fn s3_big_transfer_streams_with_multipart() {
    let Some(lab) = lab_s3() else { return };
    let Some(s) = Store::new(Some(&lab), "lab") else {
        return;
    };
    big_round_trip(&s, "lab");
}
