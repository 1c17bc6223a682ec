//! A private HAProxy for tests: its own config, admin socket and front port
//! in a temp dir, one backend `be_site` whose servers the test names, and
//! the backend's `errorfile 503` as the maintenance page. Never the lab's
//! HAProxy. The process is the test's child (`-db`), ended on drop.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixture_services::{free_port, http_get, stop_tree};

pub struct PrivateHaproxy {
    _dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

/// The page HAProxy answers with when no server of the backend is left.
pub const PAGE_TEXT: &str = "Back soon: the site is being updated";

impl PrivateHaproxy {
    /// `servers`: (name, port on 127.0.0.1).
    pub fn start(servers: &[(&str, u16)]) -> Self {
        let at: Vec<(&str, String)> = servers
            .iter()
            .map(|(n, p)| (*n, format!("127.0.0.1:{p}")))
            .collect();
        Self::start_at(&at)
    }

    /// `servers`: (name, `address:port`), health-checked with `GET /health`.
    pub fn start_at(servers: &[(&str, String)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("cairn-hap-")
            .tempdir()
            .expect("tempdir");
        let socket = dir.path().join("admin.sock");
        let page = dir.path().join("maintenance.http");
        std::fs::write(
            &page,
            format!(
                "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/html\r\n\
                 Cache-Control: no-store\r\nConnection: close\r\n\r\n\
                 <html><body><h1>{PAGE_TEXT}</h1></body></html>\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let mut conf = format!(
            "global\n    stats socket {sock} mode 600 level admin\n    maxconn 64\n\n\
             defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\n\
             frontend fe_site\n    bind 127.0.0.1:{port}\n    default_backend be_site\n\n\
             backend be_site\n    errorfile 503 {page}\n",
            sock = socket.display(),
            page = page.display(),
        );
        if servers.iter().any(|(_, a)| !a.starts_with("127.0.0.1:")) {
            conf.push_str("    option httpchk GET /health\n    default-server inter 300ms\n");
        }
        for (name, at) in servers {
            let check = if at.starts_with("127.0.0.1:") {
                ""
            } else {
                " check"
            };
            conf.push_str(&format!("    server {name} {at}{check}\n"));
        }
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg, conf).unwrap();
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy");
        let h = PrivateHaproxy {
            _dir: dir,
            socket,
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(h.socket.exists() && http_get(&h.url()).is_ok()) {
            assert!(Instant::now() < deadline, "haproxy did not come up in 20s");
            std::thread::sleep(Duration::from_millis(100));
        }
        h
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// One runtime API command; its answer.
    pub fn api(&self, line: &str) -> String {
        let mut s = UnixStream::connect(&self.socket).expect("admin socket");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    /// A server's `srv_admin_state` (1: put in maintenance by the CLI).
    pub fn admin_state(&self, server: &str) -> u32 {
        self.api("show servers state be_site")
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.len() > 6 && f[1] == "be_site" && f[3] == server)
            .and_then(|f| f[6].parse().ok())
            .unwrap_or_else(|| panic!("no server {server}"))
    }
}

impl Drop for PrivateHaproxy {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            stop_tree(child);
        }
    }
}
