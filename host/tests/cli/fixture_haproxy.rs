//! A private HAProxy for tests: its own config, runtime socket and port in a
//! temp dir, in front of the lab's two nginx app servers (only read). The
//! lab's own HAProxy is shared by every test and is never changed.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct PrivateHaproxy {
    _dir: tempfile::TempDir,
    pub(crate) socket: PathBuf,
    pub(crate) port: u16,
    child: Child,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `127.0.0.1:58081` of `http://127.0.0.1:58081`.
fn authority(url: &str) -> String {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

impl PrivateHaproxy {
    /// Backend `be_t` with `app1` and `app2` (the lab's app servers),
    /// checked every 300 ms. `None` without the lab (a panic under CI).
    pub(crate) fn start() -> Option<PrivateHaproxy> {
        let get = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let (Some(a1), Some(a2)) = (get("CAIRN_LAB_APP1_URL"), get("CAIRN_LAB_APP2_URL")) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but the lab's site is not up"
            );
            eprintln!("skipped: no lab site (eval \"$(tests/lab/up site)\")");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("cairn-hap-")
            .tempdir()
            .unwrap();
        let socket = dir.path().join("admin.sock");
        let port = free_port();
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(
            &cfg,
            format!(
                "global\n    stats socket {} mode 600 level admin\n    maxconn 256\n\n\
                 defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\n\
                 frontend fe\n    bind 127.0.0.1:{port}\n    default_backend be_t\n\n\
                 backend be_t\n    balance roundrobin\n\
                 \x20   server app1 {} check inter 300ms fall 2 rise 1\n\
                 \x20   server app2 {} check inter 300ms fall 2 rise 1\n",
                socket.display(),
                authority(&a1),
                authority(&a2)
            ),
        )
        .unwrap();
        let child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy");
        let h = PrivateHaproxy {
            _dir: dir,
            socket,
            port,
            child,
        };
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if h.socket.exists()
                && h.states()
                    .iter()
                    .all(|(_, admin, op)| *admin == 0 && *op == 2)
                && h.states().len() == 2
            {
                return Some(h);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the private haproxy did not come up with two healthy servers: {:?}",
            h.ask("show servers state be_t")
        );
    }

    /// One runtime API command, its answer.
    pub(crate) fn ask(&self, cmd: &str) -> String {
        let Ok(mut s) = UnixStream::connect(&self.socket) else {
            return String::new();
        };
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(format!("{cmd}\n").as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    /// `(server, srv_admin_state, srv_op_state)` of `be_t`.
    pub(crate) fn states(&self) -> Vec<(String, u32, u32)> {
        self.ask("show servers state be_t")
            .lines()
            .filter(|l| !l.starts_with('#') && l.split_whitespace().count() > 8)
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (
                    f[3].to_string(),
                    f[6].parse().unwrap(),
                    f[5].parse().unwrap(),
                )
            })
            .collect()
    }

    pub(crate) fn admin_of(&self, server: &str) -> u32 {
        self.states()
            .into_iter()
            .find(|(s, _, _)| s == server)
            .expect("server")
            .1
    }
}

impl Drop for PrivateHaproxy {
    fn drop(&mut self) {
        // The process this fixture started, by its pid; haproxy -db has no
        // children.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
