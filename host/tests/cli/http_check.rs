//! `http-check` against a server the test starts on 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::Project;

/// A tiny HTTP server: answers every request with a fixed status and body,
/// and `/flaky` with 503 until it has been asked `fail_first` times.
pub struct Server {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Server {
    pub fn start(status: u16, body: &'static str) -> Self {
        Self::start_flaky(status, body, 0)
    }

    pub fn start_flaky(status: u16, body: &'static str, fail_first: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body_in = vec![0u8; len];
                let _ = std::io::Read::read_exact(&mut reader, &mut body_in);
                let n = h.fetch_add(1, Ordering::SeqCst);
                let code = if request_line.contains("/flaky") && n < fail_first {
                    503
                } else {
                    status
                };
                let reply = format!(
                    "HTTP/1.1 {code} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        Self { port, hits }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn check_runbook(url: &str, expect: &str) -> String {
    format!(
        r#"
runbook smoke version=1 {{
    step smoke uses=http-check {{
        url "{url}"
        expect {expect}
    }}
}}
"#
    )
}

#[test]
fn passes_on_the_expected_status_and_body() {
    let s = Server::start(200, "{\"status\": \"ok\", \"rows\": 3}");
    let p = Project::new();
    p.runbook(
        "smoke",
        &check_runbook(
            &format!("{}/health/", s.url()),
            r#"status=200 body-contains="\"ok\"""#,
        ),
    );
    p.cairn(&["run", "smoke"]).success();
    let events = p.last_journal();
    let done = events
        .iter()
        .find(|e| e["event"] == "step-finished")
        .unwrap();
    assert_eq!(done["outputs"]["status"], 200);
    assert_eq!(s.hits(), 1);
}

#[test]
fn fails_on_a_wrong_status_naming_both() {
    let s = Server::start(500, "oops");
    let p = Project::new();
    p.runbook(
        "smoke",
        &check_runbook(&format!("{}/health/", s.url()), "status=200"),
    );
    p.cairn(&["run", "smoke"])
        .code(1)
        .stdout_has("200")
        .stdout_has("500");
}

#[test]
fn fails_when_the_body_lacks_the_text() {
    let s = Server::start(200, "maintenance");
    let p = Project::new();
    p.runbook(
        "smoke",
        &check_runbook(&s.url(), r#"status=200 body-contains="ok""#),
    );
    p.cairn(&["run", "smoke"])
        .code(1)
        .stdout_has("does not contain");
}

#[test]
fn retries_until_the_site_answers() {
    let s = Server::start_flaky(200, "ok", 2);
    let p = Project::new();
    p.runbook(
        "smoke",
        &format!(
            r#"
runbook smoke version=1 {{
    step smoke uses=http-check {{
        url "{}/flaky"
        expect status=200
        retry attempts=5 delay="20ms"
    }}
}}
"#,
            s.url()
        ),
    );
    p.cairn(&["run", "smoke"])
        .success()
        .stdout_has("after 3 attempts");
    assert_eq!(s.hits(), 3);
}

#[test]
fn a_refused_connection_is_a_clear_failure() {
    // Bind then drop to get a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = Project::new();
    p.runbook(
        "smoke",
        &check_runbook(&format!("http://127.0.0.1:{port}/"), "status=200"),
    );
    p.cairn(&["run", "smoke"])
        .code(1)
        .stdout_has("cannot connect");
}
