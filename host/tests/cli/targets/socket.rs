//! The `socket` capability against the lab's HAProxy: reading state,
//! draining a server, and paths not granted.

use super::*;

/// One command on the HAProxy runtime API, straight (not through cairn).
fn haproxy(socket: &str, command: &str) -> String {
    let mut s = UnixStream::connect(socket).expect("haproxy socket");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("{command}\n").as_bytes()).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply
}

/// `srv_admin_state` of `server` in `backend` (`show servers state`): 0 is
/// ready, bit 8 drain.
fn admin_state(socket: &str, backend: &str, server: &str) -> u32 {
    let state = haproxy(socket, &format!("show servers state {backend}"));
    state
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 6 && f[1] == backend && f[3] == server)
        .unwrap_or_else(|| panic!("no {backend}/{server} in:\n{state}"))[6]
        .parse()
        .expect("admin state")
}

/// Sets the server back to ready when a test ends, passed or not.
struct Ready<'a> {
    socket: &'a str,
    server: String,
}

impl Drop for Ready<'_> {
    fn drop(&mut self) {
        haproxy(
            self.socket,
            &format!("set server {} state ready", self.server),
        );
    }
}

const DRAIN: &str = r#"
runbook drain version=1 {
    param socket
    step before uses=net-probe action=socket {
        address "{{ params.socket }}"
        send "show servers state be_app"
        effect read
    }
    step drain uses=net-probe action=socket {
        address "{{ params.socket }}"
        send "set server be_app/app1 state drain"
    }
    step after uses=net-probe action=socket {
        address "{{ params.socket }}"
        send "show servers state be_app"
        effect read
    }
    finally {
        step ready uses=net-probe action=socket {
            address "{{ params.socket }}"
            send "set server be_app/app1 state ready"
        }
    }
}
"#;

#[test]
fn socket_reads_haproxy_state_and_drains_a_server() {
    let Some(v) = lab(&["CAIRN_LAB_HAPROXY_SOCKET"]) else {
        return;
    };
    let sock = v[0].as_str();
    let Some(p) = probe_project(&format!("socket {}", kdl(sock))) else {
        return;
    };
    let _ready = Ready {
        socket: sock,
        server: "be_app/app1".into(),
    };
    p.runbook("drain", DRAIN);
    // The finally step sets app1 back to ready: what `after` saw is the
    // proof of the drain.
    cairn(&p, &["run", "drain", "-p", &format!("socket={sock}")], &[]).code(0);
    let before = text(&p, "before", "reply");
    assert!(
        before.contains("be_app 1 app1 ") && before.contains("be_app 2 app2 "),
        "{before}"
    );
    assert_eq!(output(&p, "before", "end"), "eof");
    let after = text(&p, "after", "reply");
    let app1 = after
        .lines()
        .find(|l| l.contains(" be_app 1 app1 "))
        .unwrap_or_else(|| panic!("no app1 in {after}"));
    let admin: u32 = app1.split_whitespace().nth(6).unwrap().parse().unwrap();
    assert_eq!(admin & 8, 8, "app1 is not in drain after the drain: {app1}");
    assert_eq!(output(&p, "drain", "planned"), false);
    assert_eq!(
        admin_state(sock, "be_app", "app1") & 8,
        0,
        "finally set it ready"
    );

    let journal = p.journals();
    assert!(journal.contains(&format!(
        "send to socket {sock}: set server be_app/app1 state drain"
    )));
}

#[test]
fn a_dry_run_of_the_drain_reads_and_changes_nothing() {
    let Some(v) = lab(&["CAIRN_LAB_HAPROXY_SOCKET"]) else {
        return;
    };
    let sock = v[0].as_str();
    let Some(p) = probe_project(&format!("socket {}", kdl(sock))) else {
        return;
    };
    let _ready = Ready {
        socket: sock,
        server: "be_app/app1".into(),
    };
    p.runbook("drain", DRAIN);
    let state_before = admin_state(sock, "be_app", "app1");
    cairn(
        &p,
        &["run", "drain", "--dry-run", "-p", &format!("socket={sock}")],
        &[],
    )
    .code(0)
    .has(&format!(
        "would send to socket {sock}: set server be_app/app1 state drain"
    ))
    .has(&format!(
        "would send to socket {sock}: set server be_app/app1 state ready"
    ));
    assert_eq!(admin_state(sock, "be_app", "app1"), state_before);
    // Reads are performed: the plan reflects reality.
    assert!(text(&p, "before", "reply").contains("be_app 1 app1 "));
    assert_eq!(output(&p, "drain", "planned"), true);
}

#[test]
fn socket_paths_not_granted_are_refused_dot_dot_included() {
    let Some(v) = lab(&["CAIRN_LAB_HAPROXY_SOCKET"]) else {
        return;
    };
    let sock = v[0].as_str();
    let Some(p) = probe_project(&format!("socket {}", kdl(sock))) else {
        return;
    };
    let dir = Path::new(sock).parent().unwrap();
    let climbing = format!(
        "{}/../{}/{}",
        dir.display(),
        dir.file_name().unwrap().to_string_lossy(),
        Path::new(sock).file_name().unwrap().to_string_lossy()
    );
    assert!(Path::new(&climbing).exists(), "{climbing} names the socket");
    p.runbook(
        "sneaky",
        &r#"
runbook sneaky version=1 {
    param climbing
    step climbs uses=net-probe action=socket continue-on-error=#true {
        address "{{ params.climbing }}"
        send "show info"
        effect read
    }
    step other uses=net-probe action=socket continue-on-error=#true {
        address "127.0.0.1:58084"
        send "GET / HTTP/1.0\r\n"
        effect read
    }
    step granted uses=net-probe action=socket {
        address "PATH"
        send "show info"
        effect read
    }
}
"#
        .replace("PATH", sock),
    );
    cairn(
        &p,
        &["run", "sneaky", "-p", &format!("climbing={climbing}")],
        &[],
    )
    .code(0)
    .has(&format!(
        "socket: `{climbing}` is not permitted for plugin `net-probe`"
    ))
    .has("socket: `127.0.0.1:58084` is not permitted for plugin `net-probe`");
    assert_eq!(finished(&p, "climbs")["status"], "failed-continued");
    assert!(text(&p, "granted", "reply").contains("Name: HAProxy"));
}
