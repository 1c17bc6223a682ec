//! Tests of `socket`.

use super::*;
use std::os::unix::net::UnixListener;

#[test]
fn addresses() {
    assert_eq!(
        Address::parse("/run/haproxy.sock"),
        Ok(Address::Unix("/run/haproxy.sock".into()))
    );
    assert_eq!(
        Address::parse("127.0.0.1:9999"),
        Ok(Address::Tcp("127.0.0.1:9999".into()))
    );
    assert_eq!(
        Address::parse("[::1]:9999"),
        Ok(Address::Tcp("[::1]:9999".into()))
    );
    assert!(Address::parse("run/haproxy.sock").is_err());
    assert!(Address::parse("127.0.0.1").is_err());
    assert!(Address::parse("host:0").is_err());
    assert!(Address::parse(":80").is_err());
}

#[test]
fn grants_match_paths_dirs_and_hosts_never_through_dot_dot() {
    assert!(socket_matches("/run/haproxy.sock", "/run/haproxy.sock"));
    assert!(socket_matches("/run/haproxy.sock", "/run//haproxy.sock"));
    assert!(!socket_matches("/run/haproxy.sock", "/run/other.sock"));
    assert!(!socket_matches(
        "/run/haproxy.sock",
        "/tmp/../run/haproxy.sock"
    ));
    assert!(socket_matches(
        "/tmp/../run/haproxy.sock",
        "/tmp/../run/haproxy.sock"
    ));
    assert!(socket_matches("/run/haproxy/", "/run/haproxy/admin.sock"));
    assert!(!socket_matches("/run/haproxy/", "/run/haproxy/../x.sock"));
    assert!(!socket_matches("/run/haproxy/", "/run/haproxy"));
    assert!(!socket_matches("/run/haproxy/", "/run/haproxyx/a.sock"));
    assert!(socket_matches("127.0.0.1:9999", "127.0.0.1:9999"));
    assert!(socket_matches("127.0.0.1", "127.0.0.1:9999"));
    assert!(!socket_matches("127.0.0.1:9998", "127.0.0.1:9999"));
    assert!(!socket_matches("/run/x.sock", "127.0.0.1:9999"));
    assert!(!socket_matches("127.0.0.1", "/run/x.sock"));
}

#[test]
fn first_lines() {
    assert_eq!(
        first_line(b"set server be/s1 state drain\r\nshow info\n"),
        "set server be/s1 state drain"
    );
    assert_eq!(first_line(b""), "");
    assert_eq!(first_line(b"\n\n"), "2 bytes");
}

/// A server that answers each connection with `reply` after reading one
/// line, then closes unless `keep_open`.
fn serve(reply: &'static [u8], keep_open: bool) -> (tempfile::TempDir, Address) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            std::thread::spawn(move || {
                let mut b = [0u8; 1];
                while conn.read(&mut b).unwrap_or(0) == 1 && b[0] != b'\n' {}
                let _ = conn.write_all(reply);
                if keep_open {
                    std::thread::sleep(Duration::from_secs(5));
                }
            });
        }
    });
    let addr = Address::Unix(path.to_string_lossy().into_owned());
    (dir, addr)
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[test]
fn reads_until_eof() {
    let (_d, addr) = serve(b"1\napp1 2\n\n", false);
    let (data, end) = exchange(&addr, b"show\n", None, MAX_REPLY, false, soon()).unwrap();
    assert_eq!(
        (data.as_slice(), end),
        (&b"1\napp1 2\n\n"[..], ReplyEnd::Eof)
    );
}

#[test]
fn stops_at_the_terminator_the_cap_or_the_deadline() {
    let (_d, addr) = serve(b"hello\n> more", true);
    let (data, end) = exchange(&addr, b"x\n", Some(b"\n> "), MAX_REPLY, false, soon()).unwrap();
    assert_eq!(
        (data.as_slice(), end),
        (&b"hello\n> "[..], ReplyEnd::Terminator)
    );
    let (data, end) = exchange(&addr, b"x\n", None, 3, false, soon()).unwrap();
    assert_eq!((data.as_slice(), end), (&b"hel"[..], ReplyEnd::Limit));
    let started = Instant::now();
    let (data, end) = exchange(
        &addr,
        b"x\n",
        Some(b"never"),
        MAX_REPLY,
        false,
        Instant::now() + Duration::from_millis(300),
    )
    .unwrap();
    assert_eq!(
        (data.as_slice(), end),
        (&b"hello\n> more"[..], ReplyEnd::Timeout)
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_missing_socket_is_a_clear_error() {
    let e = exchange(
        &Address::Unix("/nonexistent/cairn.sock".into()),
        b"x",
        None,
        10,
        false,
        soon(),
    )
    .unwrap_err();
    assert_eq!(e, "cannot connect: no such socket");
}

#[test]
fn tcp_works_and_a_closed_port_is_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = listener.accept() {
            let mut buf = [0u8; 5];
            let _ = c.read_exact(&mut buf);
            let _ = c.write_all(&buf);
        }
    });
    let addr = Address::parse(&format!("127.0.0.1:{port}")).unwrap();
    let (data, end) = exchange(&addr, b"ping\n", None, 100, true, soon()).unwrap();
    assert_eq!((data.as_slice(), end), (&b"ping\n"[..], ReplyEnd::Eof));
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = Address::parse(&format!("127.0.0.1:{closed}")).unwrap();
    let e = exchange(&addr, b"x", None, 100, false, soon()).unwrap_err();
    assert!(e.contains("refused"), "{e}");
}
