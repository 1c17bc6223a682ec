//! The stock `haproxy` plugin through the real binary against a real HAProxy
//! (a private one in front of the lab's nginx app servers): drain with a
//! client counting errors, the undo that puts the state back, the
//! empty-backend guardrail, a dry-run that reads and changes nothing.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use crate::Project;
use crate::backup::outputs;
use crate::fixture_haproxy::PrivateHaproxy;

/// A private HAProxy whose backend `be_site` has the lab's two nginx app
/// servers as `app1` and `app2`; `None` without the lab (a panic under CI).
pub(crate) fn start() -> Option<PrivateHaproxy> {
    let port = |n: &str| {
        std::env::var(n).ok().and_then(|u| {
            u.rsplit(':')
                .next()?
                .trim_end_matches('/')
                .parse::<u16>()
                .ok()
        })
    };
    match (port("CAIRN_LAB_APP1_URL"), port("CAIRN_LAB_APP2_URL")) {
        (Some(a1), Some(a2)) => Some(PrivateHaproxy::start(&[("app1", a1), ("app2", a2)])),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but the lab's site is not up"
            );
            eprintln!("skipped: no lab site (eval \"$(tests/lab/up site)\")");
            None
        }
    }
}

fn admin_of(h: &PrivateHaproxy, server: &str) -> u32 {
    h.admin_state(server)
}

fn project(h: &PrivateHaproxy, steps: &str) -> Project {
    let p = Project::new();
    p.runbook(
        "lb",
        &format!("runbook lb version=1 {{\n    param server default=app1\n{steps}\n}}\n")
            .replace("SOCK", &h.socket.display().to_string()),
    );
    p
}

/// One `GET /health/` through the frontend on a fresh connection; the status.
fn get(port: u16) -> u16 {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    if s.write_all(b"GET /health/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return 0;
    }
    let mut head = [0u8; 12];
    if s.read_exact(&mut head).is_err() {
        return 0;
    }
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn draining_a_server_loses_no_request_and_the_undo_puts_it_back() {
    let Some(h) = start() else {
        return;
    };
    let p = project(
        &h,
        r#"    step drain uses=haproxy action=drain {
        socket "SOCK"
        backend be_site
        server "{{ params.server }}"
        timeout "20s"
    }
    step seen uses=haproxy action=status {
        socket "SOCK"
        backend be_site
    }
    step back uses=haproxy action=set-state {
        socket "SOCK"
        backend be_site
        server "{{ params.server }}"
        state "{{ steps.drain.outputs.previous-state }}"
    }
    step healthy uses=haproxy action=wait-healthy {
        socket "SOCK"
        backend be_site
        server "{{ params.server }}"
        timeout "20s"
    }"#,
    );
    // A client polls the site through this haproxy the whole time.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, bad) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let client = {
        let (stop, ok, bad, port) = (stop.clone(), ok.clone(), bad.clone(), h.port);
        std::thread::spawn(move || {
            for _ in 0..20_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if get(port) == 200 {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    // The client runs before the drain starts (a loaded machine is slow to
    // schedule it), and goes on through the whole run.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while ok.load(Ordering::Relaxed) < 10 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = ok.load(Ordering::Relaxed);
    p.cairn(&["run", "lb"]).success();
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();

    let drain = outputs(&p, "drain");
    assert_eq!(drain["previous-state"], "ready", "{drain}");
    assert_eq!(drain["planned"], false);
    let seen = outputs(&p, "seen");
    let app1 = &seen["servers"][0];
    assert_eq!(
        (app1["name"].as_str(), app1["state"].as_str()),
        (Some("app1"), Some("drain")),
        "{seen}"
    );
    assert_eq!(seen["serving"], 1);
    assert_eq!(
        admin_of(&h, "app1"),
        0,
        "back to ready: {:?}",
        h.api("show servers state be_site")
    );
    let (ok, bad) = (ok.load(Ordering::Relaxed), bad.load(Ordering::Relaxed));
    assert!(
        before >= 10 && ok > before,
        "the client made too few requests: {before} before the run, {ok} in all"
    );
    assert_eq!(
        bad,
        0,
        "{bad} of {} requests failed while app1 was drained",
        ok + bad
    );
}

#[test]
fn the_last_serving_server_is_not_taken_out_unless_the_step_says_so() {
    let Some(h) = start() else {
        return;
    };
    let p = project(
        &h,
        r#"    step one uses=haproxy action=maint {
        socket "SOCK"
        backend be_site
        server app1
    }
    step two uses=haproxy action=maint {
        socket "SOCK"
        backend be_site
        server app2
    }"#,
    );
    let run = p.cairn(&["run", "lb"]);
    run.code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("would have no server that is ready and up"),
        "{all}"
    );
    assert!(all.contains("allow-empty-backend"), "{all}");
    assert_eq!(
        admin_of(&h, "app2"),
        0,
        "app2 still ready: {:?}",
        h.api("show servers state be_site")
    );
    h.api("set server be_site/app1 state ready");

    let allowed = project(
        &h,
        r#"    step all uses=haproxy action=maint {
        socket "SOCK"
        backend be_site
        server app1
    }
    step last uses=haproxy action=maint {
        socket "SOCK"
        backend be_site
        server app2
        allow-empty-backend #true
    }"#,
    );
    allowed.cairn(&["run", "lb"]).success();
    assert_eq!(
        admin_of(&h, "app2") & 1,
        1,
        "{:?}",
        h.api("show servers state be_site")
    );
}

#[test]
fn a_dry_run_shows_the_change_from_the_real_state_and_sends_nothing() {
    let Some(h) = start() else {
        return;
    };
    let p = project(
        &h,
        r#"    step drain uses=haproxy action=drain {
        socket "SOCK"
        backend be_site
        server app2
    }
    step move uses=haproxy action=set-addr {
        socket "SOCK"
        backend be_site
        server app2
        addr "127.0.0.2"
    }"#,
    );
    let before = h.api("show servers state be_site");
    let run = p.cairn(&["run", "lb", "--dry-run"]);
    run.success()
        .stdout_has("server be_site/app2: ready → drain")
        .stdout_has("would send to socket");
    assert!(
        run.stdout.contains("server be_site/app2: 127.0.0.1:"),
        "{}",
        run.stdout
    );
    let after = h.api("show servers state be_site");
    let cols = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                // name, addr, admin state, weight, port: not the timers.
                [3, 4, 6, 7, 18]
                    .iter()
                    .filter_map(|i| f.get(*i))
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    assert_eq!(cols(&before), cols(&after));
}
