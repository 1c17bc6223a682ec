//! The stock `static-collect` plugin through the real binary, on a private
//! copy of the lab's Django site with its own `STATIC_ROOT`: the counts of
//! Django's summary, a dry-run that copies nothing, the upload to a `dir`
//! storage and the CDN purge hook (a one-shot HTTP listener on 127.0.0.1).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use crate::backup::outputs;
use crate::site_migrate::SiteProject;

fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            n += if p.is_dir() { count_files(&p) } else { 1 };
        }
    }
    n
}

fn runbook(sp: &SiteProject, extra: &str) {
    sp.p.runbook(
        "static",
        &format!(
            "runbook static version=1 {{\n    step collect uses=static-collect {{\n        {}\n        {extra}\n    }}\n}}\n",
            sp.site_args(&sp.site.dir_str())
        ),
    );
}

fn counts(sp: &SiteProject) -> (u64, u64, u64) {
    let o = outputs(&sp.p, "collect");
    (
        o["copied"].as_u64().unwrap(),
        o["unmodified"].as_u64().unwrap(),
        o["deleted"].as_u64().unwrap(),
    )
}

#[test]
fn collectstatic_counts_copied_unmodified_and_deleted_files() {
    let Some(sp) = SiteProject::new() else { return };
    let root = sp.site.static_root();
    runbook(&sp, "");

    // A dry-run asks Django for its own dry-run: counts, no file.
    sp.cairn(&["run", "static", "--dry-run"]).success();
    let (would, _, _) = counts(&sp);
    assert!(would > 10, "admin's files and the site's: {would}");
    assert_eq!(count_files(&root), 0, "a dry-run copied files");

    sp.cairn(&["run", "static"]).success();
    let n = count_files(&root) as u64;
    assert_eq!(counts(&sp), (n, 0, 0));
    assert_eq!(n, would);

    // A new static file in a new revision: one copied, the rest unmodified.
    sp.site.commit(
        "css",
        &[("notes/static/notes/extra.css", "body { color: red }\n")],
    );
    sp.cairn(&["run", "static"]).success();
    assert_eq!(counts(&sp), (1, n, 0));
    assert!(root.join("notes/extra.css").is_file());

    // --clear deletes everything first, then copies it all again.
    runbook(&sp, "clear #true");
    sp.cairn(&["run", "static"]).success();
    assert_eq!(counts(&sp), (n + 1, 0, n + 1));
    assert_eq!(
        outputs(&sp.p, "collect")["static-root"],
        root.to_string_lossy().as_ref()
    );
}

#[test]
fn collected_files_are_uploaded_and_the_cdn_purge_is_called() {
    let store = tempfile::tempdir().unwrap();
    let Some(sp) = SiteProject::with_config(&format!(
        "storage cdn {{ dir \"{}\"; }}",
        store.path().display()
    )) else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // One request, read whole, answered 200; the wait is bounded.
    listener.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let mut s = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50))
                }
                Err(e) => return format!("no request: {e}"),
            }
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).unwrap_or(0);
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if n == 0 || text.contains("www.example.test/static/") {
                break;
            }
        }
        s.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-length: 16\r\nconnection: close\r\n\r\n{\"success\":true}",
        )
        .unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    });
    runbook(
        &sp,
        &format!(
            "upload-storage cdn\n        upload-prefix static\n        purge-url \"http://127.0.0.1:{port}/zones/z1/purge_cache\"\n        purge-body \"{{\\\"prefixes\\\":[\\\"www.example.test/static/\\\"]}}\"\n        purge-headers Content-Type=\"application/json\""
        ),
    );
    sp.cairn(&["run", "static"]).success();
    let request = server.join().unwrap();
    assert!(
        request.starts_with("POST /zones/z1/purge_cache "),
        "{request}"
    );
    assert!(
        request.contains("{\"prefixes\":[\"www.example.test/static/\"]}"),
        "{request}"
    );
    let o = outputs(&sp.p, "collect");
    assert_eq!(o["purge-status"], 200);
    let n = count_files(&sp.site.static_root());
    assert_eq!(o["uploaded"], n as u64);
    let css = std::fs::read(store.path().join("static/notes/site.css")).unwrap();
    assert_eq!(
        css,
        std::fs::read(sp.site.static_root().join("notes/site.css")).unwrap()
    );
    sp.no_password_in_dot_cairn();
}
