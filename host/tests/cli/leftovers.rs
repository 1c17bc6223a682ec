//! A killed run's processes: they die with cairn; `cairn resume` refuses
//! while any still runs and ends them with `--kill-leftovers`; of many
//! resumes at once exactly one proceeds.
//!
//! Every process these tests start is recorded by pid (with its start time)
//! and killed by pid at the end if it still runs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Project;

/// A step that starts a shell, which starts a `sleep`, a second shell
/// with a `sleep` of its own and a `sleep` that leaves the process group
/// (`setsid`), writes their pids and waits for them. With a file `quick` in
/// the project, it ends at once instead.
const SPAWN: &str = r#"
if [ -f quick ]; then exit 0; fi
sleep 300 & echo $! > sleep.pid
sh -c 'sleep 300 & echo $! > grand.tmp; mv grand.tmp grand.pid; wait' &
echo $! > sub.pid
setsid sleep 300 </dev/null >/dev/null 2>&1 &
echo $! > escaped.pid
while [ ! -s grand.pid ]; do sleep 0.01; done
echo $$ > shell.pid
touch ready
wait
"#;

const RUNBOOK: &str = r#"
runbook spawn version=1 {
    step spawn uses=exec {
        run sh "spawn.sh"
        cwd "{{ project.root }}"
    }
    step after uses=exec {
        run sh "-c" "echo x >> after"
        cwd "{{ project.root }}"
    }
}
"#;

/// What `/proc/PID/stat` says: state, parent pid, start time.
fn stat(pid: u32) -> Option<(char, u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((
        f[0].chars().next()?,
        f[1].parse().ok()?,
        f[19].parse().ok()?,
    ))
}

/// Running: it exists and is not a zombie.
fn running(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _, _)| state != 'Z')
}

/// Processes this test started or caused, killed by pid (when still the
/// same process) when the test ends, however it ends.
#[derive(Default)]
struct Cleanup(Vec<(u32, u64)>);

impl Cleanup {
    fn add(&mut self, pid: u32) {
        if let Some((_, _, t)) = stat(pid) {
            self.0.push((pid, t));
        }
    }

    fn add_child(&mut self, child: &Child) {
        self.add(child.id());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (pid, t) in &self.0 {
            if stat(*pid).is_some_and(|(s, _, now)| s != 'Z' && now == *t) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_pid(p: &Project, file: &str) -> u32 {
    std::fs::read_to_string(p.join(file))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Whether cairn gives a step's command a cgroup here (cgroup v2 mounted,
/// run as root): then what leaves the process group is held too.
fn cgroups_expected() -> bool {
    let mounted = std::fs::read_to_string("/proc/self/mountinfo")
        .is_ok_and(|m| m.lines().any(|l| l.contains(" - cgroup2 ")));
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    });
    mounted && root
}

/// The pids of the step's processes a killed run must take with it: all,
/// or, without cgroups, all but the one that left the process group.
fn held(pids: &[u32]) -> Vec<u32> {
    if cgroups_expected() {
        pids.to_vec()
    } else {
        eprintln!("no cgroup v2 as root here: the `setsid` process is not followed");
        pids[..4].to_vec()
    }
}

/// Starts `cairn run spawn` and waits until its step's processes run;
/// returns cairn and the pids of the step's shell, sleep, second shell, its
/// sleep and the sleep that left the group (all recorded in `cleanup`).
fn start_spawning_run(p: &Project, cleanup: &mut Cleanup) -> (Child, Vec<u32>) {
    p.runbook("spawn", RUNBOOK);
    p.file("spawn.sh", SPAWN);
    let cairn = p
        .cmd()
        .args(["run", "spawn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    cleanup.add_child(&cairn);
    wait_for("the step's processes", Duration::from_secs(60), || {
        p.join("ready").exists()
    });
    let pids: Vec<u32> = [
        "shell.pid",
        "sleep.pid",
        "sub.pid",
        "grand.pid",
        "escaped.pid",
    ]
    .iter()
    .map(|f| read_pid(p, f))
    .collect();
    for pid in &pids {
        cleanup.add(*pid);
        assert!(running(*pid), "pid {pid} runs before the kill");
    }
    (cairn, pids)
}

#[test]
fn a_killed_run_takes_its_step_processes_with_it() {
    let p = Project::new();
    let mut cleanup = Cleanup::default();
    let (mut cairn, pids) = start_spawning_run(&p, &mut cleanup);
    let pids = held(&pids);
    let shell_started = stat(pids[0]).unwrap().2;
    cairn.kill().unwrap(); // SIGKILL
    cairn.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| running(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let alive: Vec<u32> = pids.iter().copied().filter(|p| running(*p)).collect();
    assert!(
        alive.is_empty(),
        "still running 10s after cairn was killed: {alive:?} (of shell, sleep, shell, sleep, setsid sleep {pids:?})"
    );
    // The journal names the step's command by pid and start time, and has
    // no end for it.
    let events = p.last_journal();
    let started = events
        .iter()
        .find(|e| e["event"] == "child-started")
        .expect("a child-started record");
    assert_eq!(started["step"], "spawn");
    assert_eq!(started["pid"], pids[0]);
    assert_eq!(started["start_time"], shell_started);
    assert_eq!(
        started["cgroup"].is_string(),
        cgroups_expected(),
        "{started}"
    );
    assert!(!events.iter().any(|e| e["event"] == "child-ended"));
}

/// The children of `pid` whose command line holds `needle`.
fn children_with(pid: u32, needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if stat(child).is_some_and(|(_, ppid, _)| ppid == pid) {
            let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(needle) {
                out.push(child);
            }
        }
    }
    out
}

#[test]
fn resume_refuses_while_a_process_of_the_run_lives_and_kill_leftovers_ends_it() {
    let p = Project::new();
    let mut cleanup = Cleanup::default();
    let (mut cairn, pids) = start_spawning_run(&p, &mut cleanup);
    let pids = held(&pids);
    // Everything of cairn killed at once (cairn and the guard that would
    // have ended the step's processes): the step's shell dies with cairn,
    // what it started lives on.
    let guards = children_with(cairn.id(), "cairn-guard");
    for g in &guards {
        cleanup.add(*g);
        Command::new("kill")
            .args(["-9", &g.to_string()])
            .status()
            .unwrap();
    }
    cairn.kill().unwrap();
    cairn.wait().unwrap();
    wait_for("the step's shell to die", Duration::from_secs(10), || {
        !running(pids[0])
    });
    let survivors = &pids[1..];
    assert!(survivors.iter().all(|p| running(*p)), "{survivors:?}");

    let runs: serde_json::Value =
        serde_json::from_str(&p.cairn(&["--json", "history"]).stdout).unwrap();
    let id = runs[0]["id"].as_str().unwrap().to_string();
    p.file("quick", "");
    let refused = p.cairn(&["resume", &id]);
    refused
        .code(3)
        .stderr_has("still has processes running")
        .stderr_has("--kill-leftovers");
    for pid in survivors {
        refused.stderr_has(&format!("pid {pid} "));
    }
    assert!(!p.join("after").exists(), "nothing ran");
    assert!(survivors.iter().all(|p| running(*p)), "nothing was killed");

    p.cairn(&["resume", &id, "--kill-leftovers"])
        .success()
        .stdout_has("ended what was left");
    assert!(
        survivors.iter().all(|p| !running(*p)),
        "the leftovers are gone"
    );
    if let Some(cg) = started_cgroup(&p) {
        assert!(!cg.exists(), "the step's cgroup {} is gone", cg.display());
    }
    assert_eq!(std::fs::read_to_string(p.join("after")).unwrap(), "x\n");
}

/// The cgroup the journal gives the step's command.
fn started_cgroup(p: &Project) -> Option<std::path::PathBuf> {
    let events = p.last_journal();
    events
        .iter()
        .find(|e| e["event"] == "child-started")
        .and_then(|e| e["cgroup"].as_str())
        .map(std::path::PathBuf::from)
}

#[test]
fn of_fifty_resumes_at_once_exactly_one_proceeds() {
    let p = Project::new();
    let mut cleanup = Cleanup::default();
    p.runbook(
        "once",
        r#"
runbook once version=1 {
    step wait uses=exec {
        run sh "-c" "touch waiting; while [ ! -f go ]; do sleep 0.02; done"
        cwd "{{ project.root }}"
    }
    step count uses=exec {
        run sh "-c" "echo x >> counted; sleep 0.5"
        cwd "{{ project.root }}"
    }
}
"#,
    );
    let mut cairn = p
        .cmd()
        .args(["run", "once"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    cleanup.add_child(&cairn);
    wait_for("the first step", Duration::from_secs(60), || {
        p.join("waiting").exists()
    });
    cairn.kill().unwrap();
    cairn.wait().unwrap();
    let runs: serde_json::Value =
        serde_json::from_str(&p.cairn(&["--json", "history"]).stdout).unwrap();
    assert_eq!(runs[0]["result"], "interrupted");
    let id = runs[0]["id"].as_str().unwrap().to_string();
    std::fs::write(p.join("go"), "").unwrap();

    const N: usize = 50;
    let mut resumes: Vec<Child> = Vec::with_capacity(N);
    for _ in 0..N {
        let c = p
            .cmd()
            .args(["resume", &id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        cleanup.add_child(&c);
        resumes.push(c);
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut codes: Vec<Option<i32>> = vec![None; N];
    while codes.iter().any(Option::is_none) && Instant::now() < deadline {
        for (i, c) in resumes.iter_mut().enumerate() {
            if codes[i].is_none()
                && let Some(status) = c.try_wait().unwrap()
            {
                codes[i] = Some(status.code().unwrap_or(-1));
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for (i, c) in resumes.iter_mut().enumerate() {
        if codes[i].is_none() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    assert!(
        codes.iter().all(Option::is_some),
        "every resume ended within 180s: {codes:?}"
    );
    let ok = codes.iter().filter(|c| **c == Some(0)).count();
    let refused = codes.iter().filter(|c| **c == Some(3)).count();
    assert_eq!((ok, refused), (1, N - 1), "exit codes: {codes:?}");
    let resumed = p
        .last_journal()
        .iter()
        .filter(|e| e["event"] == "run-resumed")
        .count();
    assert_eq!(resumed, 1, "one run-resumed record");
    assert_eq!(
        std::fs::read_to_string(p.join("counted")).unwrap(),
        "x\n",
        "the step ran once"
    );
}
