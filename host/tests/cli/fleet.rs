//! Fleets on the lab's app hosts (network namespaces, each with its own
//! sshd and nginx; `eval "$(tests/lab/up hosts)"`): a step on a group runs
//! on every member over ssh with its outputs by member; `rolling` drains
//! each batch in a private HAProxy in front of those hosts, runs `once`
//! steps once, puts the batch back, stops at `max-failures` with the undo
//! of what it did, and lists every host with its state; a dry-run shows
//! the batches and changes nothing.

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;

use crate::Project;
use crate::fixture_haproxy::PrivateHaproxy;

/// One test at a time drives the app hosts (their sshd's `MaxStartups`,
/// and the order the journals are read in).
pub(crate) static HOSTS: Mutex<()> = Mutex::new(());

/// An app host as the lab's OpenSSH client configuration describes it.
struct Host {
    name: String,
    addr: String,
    user: String,
    key: String,
    known: String,
}

/// The lab's first three app hosts; `None` without them (a panic under CI).
fn lab_hosts() -> Option<Vec<Host>> {
    let conf = std::env::var("CAIRN_LAB_SSH_CONFIG")
        .ok()
        .filter(|c| !c.is_empty());
    let Some(conf) = conf else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the lab's app hosts are not up"
        );
        eprintln!("skipped: no lab app hosts (eval \"$(tests/lab/up hosts)\")");
        return None;
    };
    let text = std::fs::read_to_string(&conf).expect("the lab's ssh config");
    let mut hosts: Vec<Host> = Vec::new();
    for line in text.lines().map(str::trim) {
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        let v = v.trim().to_owned();
        match k {
            "Host" => hosts.push(Host {
                name: v,
                addr: String::new(),
                user: String::new(),
                key: String::new(),
                known: String::new(),
            }),
            "HostName" => hosts.last_mut()?.addr = v,
            "User" => hosts.last_mut()?.user = v,
            "IdentityFile" => hosts.last_mut()?.key = v,
            "UserKnownHostsFile" => hosts.last_mut()?.known = v,
            _ => {}
        }
    }
    assert!(
        hosts.len() >= 3,
        "the lab has fewer than 3 app hosts: {conf}"
    );
    hosts.truncate(3);
    Some(hosts)
}

/// A project with the hosts as ssh targets and `group app` over them, and
/// a directory of this test on the hosts' shared disk (`work`).
struct Fleet {
    p: Project,
    hosts: Vec<Host>,
    work: PathBuf,
}

impl Fleet {
    fn new(hosts: Vec<Host>) -> Self {
        let mut conf = String::from("project fleet-test {\n");
        for h in &hosts {
            let opts = [
                format!("IdentityFile={}", h.key),
                "IdentitiesOnly=yes".into(),
                format!("UserKnownHostsFile={}", h.known),
                "GlobalKnownHostsFile=/dev/null".into(),
                "StrictHostKeyChecking=yes".into(),
                "BatchMode=yes".into(),
                "LogLevel=ERROR".into(),
            ];
            let opts: Vec<String> = opts.iter().map(|o| format!("option=\"{o}\"")).collect();
            conf.push_str(&format!(
                "    target {} {{ ssh \"{}@{}\" {} }}\n",
                h.name,
                h.user,
                h.addr,
                opts.join(" ")
            ));
        }
        let names: Vec<String> = hosts.iter().map(|h| format!("target {}", h.name)).collect();
        conf.push_str(&format!("    group app {{ {} }}\n}}\n", names.join("; ")));
        let p = Project::with_config(&conf);
        std::fs::create_dir_all(p.join("tmp")).expect("tmp");
        // The hosts share this machine's disk: a directory of this test,
        // writable by the hosts' ssh user, that the test removes.
        let work = tempfile::Builder::new()
            .prefix("cairn-fleet-")
            .tempdir_in(std::env::temp_dir())
            .expect("work dir")
            .keep();
        let _ = std::process::Command::new("chmod")
            .arg("1777")
            .arg(&work)
            .status();
        Self { p, hosts, work }
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self
            .p
            .cmd()
            .args(args)
            .env("TMPDIR", self.p.join("tmp"))
            .output()
            .expect("run cairn");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn file(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.work.join(name)).ok()
    }

    fn runbook(&self, name: &str, text: &str) {
        self.p.runbook(
            name,
            &text.replace("WORK", &self.work.display().to_string()),
        );
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        // Made by `new` for this test alone (a fresh temp name).
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

/// The journal's step events, in order: (event, step).
fn step_events(j: &[Value]) -> Vec<(String, String)> {
    j.iter()
        .filter(|e| matches!(e["event"].as_str(), Some("step-started" | "step-finished")))
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["step"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn index_of(ev: &[(String, String)], event: &str, step: &str) -> usize {
    ev.iter()
        .position(|(e, s)| e == event && s == step)
        .unwrap_or_else(|| panic!("no {event} of `{step}` in {ev:?}"))
}

fn finished(j: &[Value]) -> &Value {
    j.iter()
        .find(|e| e["event"] == "run-finished")
        .expect("run-finished")
}

#[test]
fn a_step_on_a_group_runs_on_every_member_over_ssh_with_outputs_by_member() {
    let Some(hosts) = lab_hosts() else { return };
    let _one = HOSTS.lock().unwrap_or_else(|e| e.into_inner());
    let f = Fleet::new(hosts);
    f.runbook(
        "where",
        r#"runbook where version=1 {
    step addr uses=exec target=app parallel=2 {
        run sh -c "set -- $SSH_CONNECTION; echo $3"
    }
    step second uses=exec { run echo "{{ steps.addr.outputs.app2.stdout }}" }
}"#,
    );
    let (code, out, err) = f.run(&["run", "where"]);
    assert_eq!(code, 0, "{out}{err}");
    let j = f.p.last_journal();
    for h in &f.hosts {
        let end = j
            .iter()
            .find(|e| e["event"] == "step-finished" && e["step"] == format!("addr@{}", h.name))
            .unwrap_or_else(|| panic!("no step addr@{}", h.name));
        assert_eq!(
            end["outputs"]["stdout"],
            h.addr.as_str(),
            "ran on {}",
            h.name
        );
    }
    let second = j
        .iter()
        .find(|e| e["event"] == "step-finished" && e["step"] == "second")
        .unwrap();
    assert_eq!(second["outputs"]["stdout"], f.hosts[1].addr.as_str());
    let hosts = &finished(&j)["hosts"];
    assert_eq!(hosts.as_array().map(Vec::len), Some(3), "{hosts}");
    assert!(
        hosts
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["state"] == "done"),
        "{hosts}"
    );
}

/// A private HAProxy whose `be_site` balances over the hosts' nginx.
fn haproxy(f: &Fleet) -> PrivateHaproxy {
    let servers: Vec<(&str, String)> = f
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), format!("{}:80", h.addr)))
        .collect();
    PrivateHaproxy::start_at(&servers)
}

const ROLLING: &str = r#"runbook roll version=1 {
    param bad default="none"
    rolling group=app batch=1 max-failures=MAXF {
        before {
            step drain uses=haproxy action=drain {
                socket "SOCK"
                backend be_site
                server "{{ target.name }}"
                timeout "10s"
                undo {
                    step undrain uses=haproxy action=set-state {
                        socket "SOCK"
                        backend be_site
                        server "{{ target.name }}"
                        state "{{ steps.drain.outputs.previous-state }}"
                    }
                }
            }
        }
        step deploy uses=exec {
            run sh -c "echo new > WORK/{{ target.name }} && test {{ target.name }} != {{ params.bad }}"
            undo {
                step back uses=exec { run sh -c "echo undone > WORK/{{ target.name }}" }
            }
        }
        once {
            step migrate uses=exec { run sh -c "echo {{ target.name }} >> WORK/migrated" }
        }
        step check uses=exec { run cat "WORK/{{ target.name }}" }
        after {
            step ready uses=haproxy action=ready {
                socket "SOCK"
                backend be_site
                server "{{ target.name }}"
            }
            step healthy uses=haproxy action=wait-healthy {
                socket "SOCK"
                backend be_site
                server "{{ target.name }}"
                timeout "20s"
            }
        }
    }
}"#;

fn rolling(f: &Fleet, h: &PrivateHaproxy, max_failures: &str) {
    f.runbook(
        "roll",
        &ROLLING
            .replace("SOCK", &h.socket.display().to_string())
            .replace("MAXF", max_failures),
    );
}

fn host_states(j: &[Value]) -> Vec<(String, String, bool)> {
    finished(j)["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_owned(),
                h["state"].as_str().unwrap().to_owned(),
                h["undone"] == true,
            )
        })
        .collect()
}

#[test]
fn rolling_drains_one_member_at_a_time_runs_once_steps_once_and_puts_each_back() {
    let Some(hosts) = lab_hosts() else { return };
    let _one = HOSTS.lock().unwrap_or_else(|e| e.into_inner());
    let f = Fleet::new(hosts);
    let h = haproxy(&f);
    rolling(&f, &h, "0");
    let (code, out, err) = f.run(&["run", "roll"]);
    assert_eq!(code, 0, "{out}{err}");
    for m in ["app1", "app2", "app3"] {
        assert_eq!(f.file(m).as_deref(), Some("new\n"), "{m} deployed");
        assert_eq!(h.admin_state(m), 0, "{m} back in service");
    }
    assert_eq!(
        f.file("migrated").as_deref(),
        Some("app1\n"),
        "once, on the first member"
    );
    let ev = step_events(&f.p.last_journal());
    // One member out of service at a time: the next drain starts after
    // the previous member is back and healthy.
    for (a, b) in [("app1", "app2"), ("app2", "app3")] {
        assert!(
            index_of(&ev, "step-finished", &format!("healthy@{a}"))
                < index_of(&ev, "step-started", &format!("drain@{b}"))
        );
    }
    for m in ["app1", "app2", "app3"] {
        assert!(
            index_of(&ev, "step-finished", &format!("drain@{m}"))
                < index_of(&ev, "step-started", &format!("deploy@{m}"))
        );
    }
    // `once` after app1's deploy, before its check.
    assert!(
        index_of(&ev, "step-finished", "deploy@app1") < index_of(&ev, "step-started", "migrate")
    );
    assert!(
        index_of(&ev, "step-finished", "migrate") < index_of(&ev, "step-started", "check@app1")
    );
    assert_eq!(
        ev.iter()
            .filter(|(e, s)| e == "step-started" && s.starts_with("migrate"))
            .count(),
        1
    );
    assert!(out.contains("rolling `app`: batch 2/3: app2"), "{out}");
    assert!(out.contains("app app3: done"), "{out}");
}

#[test]
fn a_failed_member_stops_the_rolling_its_batch_is_undone_and_later_members_are_not_reached() {
    let Some(hosts) = lab_hosts() else { return };
    let _one = HOSTS.lock().unwrap_or_else(|e| e.into_inner());
    let f = Fleet::new(hosts);
    let h = haproxy(&f);
    rolling(&f, &h, "0");
    let (code, out, err) = f.run(&["run", "roll", "-p", "bad=app2"]);
    assert_ne!(code, 0, "{out}{err}");
    let j = f.p.last_journal();
    assert_eq!(finished(&j)["verdict"], "failed", "{out}{err}");
    assert_eq!(
        host_states(&j),
        [
            ("app1".into(), "undone".into(), false),
            ("app2".into(), "failed".into(), true),
            ("app3".into(), "not-reached".into(), false),
        ]
    );
    assert_eq!(f.file("app1").as_deref(), Some("undone\n"));
    // The step that failed is not undone (its effect is partial); its
    // drain, which finished, is.
    assert_eq!(f.file("app2").as_deref(), Some("new\n"));
    assert_eq!(f.file("app3"), None, "app3 was never touched");
    for m in ["app1", "app2", "app3"] {
        assert_eq!(h.admin_state(m), 0, "{m} in service after the rollback");
    }
    assert!(out.contains("app app2: failed, undone"), "{out}");
    assert!(out.contains("app app3: not reached"), "{out}");
}

#[test]
fn failures_within_max_failures_let_the_rolling_go_on() {
    let Some(hosts) = lab_hosts() else { return };
    let _one = HOSTS.lock().unwrap_or_else(|e| e.into_inner());
    let f = Fleet::new(hosts);
    let h = haproxy(&f);
    rolling(&f, &h, "1");
    let (code, out, err) = f.run(&["run", "roll", "-p", "bad=app2"]);
    assert_eq!(code, 0, "{out}{err}");
    let j = f.p.last_journal();
    assert_eq!(
        host_states(&j),
        [
            ("app1".into(), "done".into(), false),
            ("app2".into(), "failed".into(), true),
            ("app3".into(), "done".into(), false),
        ]
    );
    // The step that failed is not undone (its effect is partial); its
    // drain, which finished, is.
    assert_eq!(f.file("app2").as_deref(), Some("new\n"));
    assert_eq!(f.file("app3").as_deref(), Some("new\n"));
    assert_eq!(h.admin_state("app2"), 0, "its drain was undone");
}

#[test]
fn a_dry_run_shows_the_batches_in_order_and_changes_nothing() {
    let Some(hosts) = lab_hosts() else { return };
    let _one = HOSTS.lock().unwrap_or_else(|e| e.into_inner());
    let f = Fleet::new(hosts);
    let h = haproxy(&f);
    rolling(&f, &h, "0");
    let (code, out, err) = f.run(&["run", "roll", "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    let b1 = out.find("batch 1/3: app1").expect("batch 1 shown");
    let b2 = out.find("batch 2/3: app2").expect("batch 2 shown");
    let b3 = out.find("batch 3/3: app3").expect("batch 3 shown");
    assert!(b1 < b2 && b2 < b3, "{out}");
    let d2 = out.find("drain@app2").expect("drain@app2 planned");
    assert!(b2 < d2 && d2 < b3, "{out}");
    for m in ["app1", "app2", "app3"] {
        assert_eq!(f.file(m), None, "{m} untouched");
        assert_eq!(h.admin_state(m), 0, "{m} still in service");
    }
    assert_eq!(f.file("migrated"), None);
}
