use std::cell::RefCell;
use std::rc::Rc;

use super::{invoke, lines};
use crate::supervisor::parse_status;
use cairn_sdk::mock::MockHost;
use cairn_sdk::prelude::*;
use serde_json::json;

/// supervisord as `supervisorctl` shows it: programs with a state and a
/// pid; a started program is `STARTING` for `slow` looks, then `RUNNING`,
/// or `FATAL` when it is broken.
pub(super) struct Fake {
    pub(super) progs: Vec<(String, String, u32)>,
    pub(super) broken: Vec<String>,
    pub(super) slow: usize,
    pending: Vec<(String, usize)>,
    next_pid: u32,
}

impl Fake {
    pub(super) fn new(progs: &[(&str, &str)]) -> Rc<RefCell<Fake>> {
        Rc::new(RefCell::new(Fake {
            progs: progs
                .iter()
                .enumerate()
                .map(|(i, (n, s))| (n.to_string(), s.to_string(), 100 + i as u32))
                .collect(),
            broken: Vec::new(),
            slow: 2,
            pending: Vec::new(),
            next_pid: 500,
        }))
    }

    pub(super) fn set(&mut self, name: &str, state: &str) {
        let pid = self.next_pid;
        self.next_pid += 1;
        if let Some(p) = self.progs.iter_mut().find(|p| p.0 == name) {
            p.1 = state.to_string();
            p.2 = pid;
        }
    }

    /// supervisorctl's `all` and `GROUP:*`, as supervisord resolves them.
    fn expand(&self, args: &[String]) -> Vec<String> {
        let mut out = vec![args[0].clone()];
        for a in &args[1..] {
            if a == "all" {
                out.extend(self.progs.iter().map(|p| p.0.clone()));
            } else if let Some(g) = a.strip_suffix(":*") {
                let prefix = format!("{g}:");
                out.extend(
                    self.progs
                        .iter()
                        .filter(|p| p.0.starts_with(&prefix))
                        .map(|p| p.0.clone()),
                );
            } else {
                out.push(a.clone());
            }
        }
        out
    }

    pub(super) fn start(&mut self, name: &str) {
        if self.broken.iter().any(|b| b == name) {
            self.set(name, "FATAL");
        } else {
            self.set(name, "STARTING");
            self.pending.push((name.to_string(), self.slow));
        }
    }

    pub(super) fn status(&mut self) -> Completed {
        for (name, left) in std::mem::take(&mut self.pending) {
            if left == 0 {
                self.set(&name, "RUNNING");
            } else {
                self.pending.push((name, left - 1));
            }
        }
        let text: String = self
            .progs
            .iter()
            .map(|(n, s, pid)| match s.as_str() {
                "RUNNING" => format!("{n:<32} RUNNING   pid {pid}, uptime 0:00:05\n"),
                "FATAL" => {
                    format!("{n:<32} FATAL     Exited too quickly (process log may have details)\n")
                }
                s => format!("{n:<32} {s:<9} Dec 03 10:30 AM\n"),
            })
            .collect();
        let all_up = self.progs.iter().all(|p| p.1 == "RUNNING");
        Completed::new(if all_up { 0 } else { 3 }, text, "")
    }

    pub(super) fn host(fake: &Rc<RefCell<Fake>>) -> MockHost {
        let f = fake.clone();
        MockHost::new().on_exec(move |cmd| {
            if cmd.program == "cat" {
                // The config names no `serverurl`: supervisorctl it is.
                assert_eq!(cmd.args, ["/etc/sv.conf"]);
                return Ok(Completed::ok("[supervisord]\n[supervisorctl]\n"));
            }
            assert_eq!(cmd.program, "supervisorctl");
            assert_eq!(&cmd.args[..2], ["-c", "/etc/sv.conf"]);
            let mut f = f.borrow_mut();
            let words: Vec<String> = f.expand(&cmd.args[2..]);
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            Ok(match words[0] {
                "status" => f.status(),
                "start" => {
                    for n in &words[1..] {
                        f.start(n);
                    }
                    Completed::ok("")
                }
                "stop" => {
                    for n in &words[1..] {
                        f.set(n, "STOPPED");
                    }
                    Completed::ok("")
                }
                "restart" => {
                    for n in &words[1..] {
                        f.start(n);
                    }
                    Completed::ok("")
                }
                "signal" => Completed::ok(""),
                "tail" => Completed::ok("booting\nImportError: No module named 'labsite'\n"),
                other => panic!("unexpected supervisorctl {other}"),
            })
        })
    }
}

pub(super) fn args(extra: serde_json::Value) -> serde_json::Value {
    let mut a = json!({ "backend": "supervisor", "config": "/etc/sv.conf", "interval": "1ms", "timeout": "2s" });
    a.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    a
}

#[test]
fn status_lists_every_program_with_its_state_and_pid() {
    let fake = Fake::new(&[
        ("web", "RUNNING"),
        ("workers:w_00", "STOPPED"),
        ("cron", "FATAL"),
    ]);
    let host = Fake::host(&fake);
    let out = invoke(&host, "status", args(json!({}))).unwrap();
    assert_eq!(out["backend"], "supervisor");
    assert_eq!(out["running"], json!(["web"]));
    assert_eq!(out["all-running"], false);
    assert_eq!(out["programs"][0]["name"], "web");
    assert_eq!(out["programs"][0]["pid"], 100);
    assert_eq!(out["programs"][0]["running"], true);
    assert_eq!(out["programs"][1]["state"], "STOPPED");
    assert_eq!(out["programs"][2]["state"], "FATAL");
    assert_eq!(lines(&host), ["supervisorctl -c /etc/sv.conf status"]);
    assert_eq!(host.commands()[0].effect, Effect::Read);
}

#[test]
fn status_parses_supervisorctl_lines_and_skips_the_rest() {
    let progs = parse_status(
        "web                              RUNNING   pid 6196, uptime 0:06:00\n\
         workers:workers_00               BACKOFF   Exited too quickly (process log may have details)\n\
         once                             EXITED    Dec 03 10:41 AM\n\
         error: <class 'xmlrpc.client.Fault'>, <Fault 6: 'SHUTDOWN_STATE'>\n",
    );
    assert_eq!(progs.len(), 3);
    assert_eq!(
        progs[2].class,
        crate::Class::Failed,
        "an EXITED program is not started again by supervisord"
    );
    assert_eq!(progs[0].pid, Some(6196));
    assert_eq!(progs[1].class, crate::Class::Starting);
    assert_eq!(
        progs[1].detail,
        "Exited too quickly (process log may have details)"
    );
}

#[test]
fn supervisord_not_answering_is_an_error_with_its_message() {
    let host = MockHost::new()
        // `cat` of the config: no serverurl.
        .exec_returns(Completed::ok("[supervisorctl]\n"))
        .exec_returns(Completed::new(7, "unix:///run/sv.sock no such file\n", ""));
    let e = invoke(&host, "status", args(json!({}))).unwrap_err();
    assert!(e.message.contains("exited with status 7"), "{}", e.message);
    assert!(e.message.contains("no such file"), "{}", e.message);
}

#[test]
fn stop_stops_what_runs_and_returns_what_was_running() {
    let fake = Fake::new(&[
        ("web", "RUNNING"),
        ("workers:w_00", "RUNNING"),
        ("workers:w_01", "STOPPED"),
        ("cron", "RUNNING"),
    ]);
    let host = Fake::host(&fake);
    let out = invoke(
        &host,
        "stop",
        args(json!({ "programs": ["web", "workers"] })),
    )
    .unwrap();
    assert_eq!(out["was-running"], json!(["web", "workers:w_00"]));
    assert_eq!(out["stopped"], json!(["web", "workers:w_00"]));
    assert_eq!(out["running"], json!([]));
    assert_eq!(out["planned"], false);
    let l = lines(&host);
    assert!(
        l.contains(&"supervisorctl -c /etc/sv.conf stop web workers:w_00".to_string()),
        "{l:?}"
    );
    // cron was not named: still running
    assert_eq!(fake.borrow().progs[3].1, "RUNNING");
}

#[test]
fn groups_are_named_with_or_without_the_star() {
    let fake = Fake::new(&[
        ("web", "RUNNING"),
        ("workers:w_00", "RUNNING"),
        ("workers:w_01", "RUNNING"),
    ]);
    let host = Fake::host(&fake);
    let out = invoke(&host, "status", args(json!({ "programs": "workers:*" }))).unwrap();
    assert_eq!(out["running"], json!(["workers:w_00", "workers:w_01"]));
    let out = invoke(
        &host,
        "status",
        args(json!({ "programs": "web, workers:w_01" })),
    )
    .unwrap();
    assert_eq!(out["running"], json!(["web", "workers:w_01"]));
}

#[test]
fn an_unknown_program_is_an_error_naming_those_there_are() {
    let fake = Fake::new(&[("web", "RUNNING"), ("worker", "RUNNING")]);
    let host = Fake::host(&fake);
    let e = invoke(&host, "stop", args(json!({ "programs": ["web", "wrker"] }))).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("programs"));
    assert_eq!(
        e.message,
        "argument `programs`: supervisor has no program `wrker` (it has: web, worker)"
    );
    assert_eq!(lines(&host).len(), 1, "nothing was stopped");
}

#[test]
fn an_empty_list_selects_nothing_so_an_undo_starts_nothing() {
    let fake = Fake::new(&[("web", "STOPPED")]);
    let host = Fake::host(&fake);
    let out = invoke(&host, "start", args(json!({ "programs": [] }))).unwrap();
    assert_eq!(out["started"], json!([]));
    assert!(lines(&host).iter().all(|l| l.ends_with(" status")));
    assert_eq!(fake.borrow().progs[0].1, "STOPPED");
}

#[test]
fn start_waits_until_running_not_until_the_command_returns() {
    let fake = Fake::new(&[("web", "STOPPED"), ("worker", "RUNNING")]);
    fake.borrow_mut().slow = 3;
    let host = Fake::host(&fake);
    let out = invoke(
        &host,
        "start",
        args(json!({ "programs": ["web", "worker"] })),
    )
    .unwrap();
    assert_eq!(out["started"], json!(["web"]));
    assert_eq!(out["was-running"], json!(["worker"]));
    assert_eq!(out["all-running"], true);
    let statuses = lines(&host)
        .iter()
        .filter(|l| l.ends_with(" status"))
        .count();
    assert!(statuses >= 4, "looked {statuses} times");
    assert!(lines(&host).contains(&"supervisorctl -c /etc/sv.conf start web".to_string()));
}

#[test]
fn a_program_that_cannot_start_fails_with_the_end_of_its_log() {
    let fake = Fake::new(&[("web", "STOPPED")]);
    fake.borrow_mut().broken.push("web".into());
    let host = Fake::host(&fake);
    let e = invoke(&host, "start", args(json!({ "programs": "web" }))).unwrap_err();
    assert_eq!(
        e.message,
        "supervisor `web` did not start: FATAL (Exited too quickly (process log may have details)); \
         its log ends with: booting | ImportError: No module named 'labsite'"
    );
}

#[test]
fn a_program_still_starting_at_the_timeout_fails_naming_it() {
    let fake = Fake::new(&[("web", "STOPPED")]);
    fake.borrow_mut().slow = usize::MAX;
    let host = Fake::host(&fake);
    let e = invoke(
        &host,
        "start",
        args(json!({ "programs": "web", "timeout": "50ms", "interval": "10ms" })),
    )
    .unwrap_err();
    assert!(
        e.message
            .starts_with("supervisor programs not running after 50ms: `web` is STARTING"),
        "{}",
        e.message
    );
}

#[test]
fn restart_waits_and_a_ready_url_is_waited_for_too() {
    let fake = Fake::new(&[("web", "RUNNING")]);
    let host = Fake::host(&fake)
        .http_fails("http: GET http://127.0.0.1:8000/health/: cannot connect: Connection refused")
        .http_returns(Response::new(502, "bad gateway"))
        .http_returns(Response::new(200, "ok"));
    let out = invoke(
        &host,
        "restart",
        args(json!({ "ready-url": "http://127.0.0.1:8000/health/" })),
    )
    .unwrap();
    assert_eq!(out["was-running"], json!(["web"]));
    assert_eq!(out["all-running"], true);
    assert_eq!(host.requests().len(), 3);
    // web is every program supervisord has: restarted as `all`.
    assert!(lines(&host).contains(&"supervisorctl -c /etc/sv.conf restart all".to_string()));
}

#[test]
fn a_ready_url_that_never_answers_fails_with_its_last_answer() {
    let fake = Fake::new(&[("web", "RUNNING")]);
    let host = Fake::host(&fake).on_http(|_| Ok(Response::new(502, "")));
    let e = invoke(
        &host,
        "wait-ready",
        args(json!({ "ready-url": "http://x.test/", "timeout": "30ms", "interval": "5ms" })),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "the programs run, but `http://x.test/` did not answer 200 within 30ms: answered 502"
    );
}

#[test]
fn reload_sends_the_signal() {
    let fake = Fake::new(&[("web", "RUNNING")]);
    let host = Fake::host(&fake);
    invoke(
        &host,
        "reload",
        args(json!({ "programs": "web", "signal": "SIGUSR2" })),
    )
    .unwrap();
    assert!(lines(&host).contains(&"supervisorctl -c /etc/sv.conf signal USR2 web".to_string()));
}

#[test]
fn a_dry_run_looks_but_neither_stops_nor_waits() {
    let fake = Fake::new(&[("web", "RUNNING"), ("worker", "STOPPED")]);
    let f = fake.clone();
    let host = MockHost::new().dry_run().on_exec(move |cmd| {
        if cmd.program == "cat" {
            return Ok(Completed::ok("[supervisorctl]\n"));
        }
        assert_eq!(
            cmd.args[2], "status",
            "only reads reach the handler in a dry-run"
        );
        Ok(f.borrow_mut().status())
    });
    let ctx = Context::for_test().with_mode(Mode::DryRun);
    let out = host
        .invoke::<crate::Service>(&ctx, "stop", args(json!({})))
        .unwrap();
    assert_eq!(out["planned"], true);
    assert_eq!(out["was-running"], json!(["web"]));
    let out = host
        .invoke::<crate::Service>(&ctx, "wait-ready", args(json!({})))
        .unwrap();
    assert_eq!(out["planned"], true);
    assert_eq!(out["running"], json!(["web"]));
    assert_eq!(fake.borrow().progs[0].1, "RUNNING");
}

#[test]
fn a_dry_run_whose_reads_are_planned_too_plans_without_checking_names() {
    // An undo step listed by a dry-run runs offline: even `status` is
    // planned, so the names cannot be checked and the state is not known.
    let ctx = Context::for_test().with_mode(Mode::DryRun);
    for action in ["stop", "start"] {
        let host = MockHost::new()
            .dry_run()
            .on_exec(|_| Ok(Completed::planned()));
        let out = host
            .invoke::<crate::Service>(&ctx, action, args(json!({ "programs": "web worker:*" })))
            .unwrap_or_else(|e| panic!("{action}: {e:?}"));
        assert_eq!(out["planned"], true, "{action}");
        assert_eq!(out["programs"][1]["name"], "worker:*", "{action}");
        assert_eq!(out["programs"][0]["state"], "unknown", "{action}");
    }
}
