//! What of an interrupted run may still be running: its cairn processes
//! (`run-started`, `run-resumed`) and the processes its steps started
//! (`child-started` without a `child-ended`), each known by pid and start
//! time, so a recycled pid is never taken for one of them, and where cairn
//! gave a child a cgroup, every process in that group (it holds what left
//! the process group too). `cairn resume` refuses while any runs, or ends
//! them first with `--kill-leftovers`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::resume::Resume;
use crate::children::{cgroup, stat};
use crate::error::{Error, Result};
use crate::events::{Event, EventSink};
use crate::targets::marked;
use cairn_lang::TargetKind;

/// A live process of an earlier run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub pid: u32,
    /// The process group to signal: a step's command is the leader of its
    /// own group (its children are in it too); a cairn process is signalled
    /// alone (its group may be the operator's shell job).
    pub group: Option<u32>,
    /// The cgroup cairn made for the step's command, which holds it.
    pub cgroup: Option<PathBuf>,
    /// What it is, for messages: `cairn`, or the step and its command.
    pub what: String,
}

/// A child the journal lists as running: step, command, start time, cgroup.
type Running = (String, String, Option<u64>, Option<PathBuf>);

/// The live processes the journal's events name.
pub fn find(events: &[Value]) -> Vec<Leftover> {
    let me = std::process::id();
    let mut out = Vec::new();
    // Children still listed as running, by pid.
    let mut running: BTreeMap<u32, Running> = BTreeMap::new();
    for e in events {
        let pid = e["pid"].as_u64().and_then(|p| u32::try_from(p).ok());
        let Some(pid) = pid else { continue };
        match e["event"].as_str().unwrap_or("") {
            "run-started" | "run-resumed" => {
                let since = e["pid_start_time"].as_u64();
                if pid != me && stat::still_running(pid, since) {
                    out.push(Leftover {
                        pid,
                        group: None,
                        cgroup: None,
                        what: "cairn".into(),
                    });
                }
            }
            "child-started" => {
                let step = e["step"].as_str().unwrap_or("").to_string();
                let command = e["command"].as_str().unwrap_or("").to_string();
                let cg = e["cgroup"].as_str().map(PathBuf::from);
                running.insert(pid, (step, command, e["start_time"].as_u64(), cg));
            }
            "child-ended" => {
                running.remove(&pid);
            }
            _ => {}
        }
    }
    for (pid, (step, command, since, cg)) in running {
        let what = format!("step `{step}`: {command}");
        let mut seen = BTreeSet::new();
        if stat::still_running(pid, since) {
            seen.insert(pid);
            out.push(Leftover {
                pid,
                group: Some(pid),
                cgroup: cg.clone(),
                what: what.clone(),
            });
        } else if let Some(since) = since {
            // The command is gone; what it started in its group may not be.
            for member in stat::group_members(pid, since) {
                seen.insert(member);
                out.push(Leftover {
                    pid: member,
                    group: Some(pid),
                    cgroup: cg.clone(),
                    what: format!("{what} (started by it)"),
                });
            }
        }
        // What left the group (`setsid`, a daemon) is still in the cgroup.
        let Some(path) = cg else { continue };
        for member in cgroup::procs(&path) {
            if seen.insert(member) {
                out.push(Leftover {
                    pid: member,
                    group: None,
                    cgroup: Some(path.clone()),
                    what: format!("{what} (started by it, in its cgroup)"),
                });
            }
        }
    }
    out
}

/// The cgroups of the children the journal lists as running.
fn cgroups(events: &[Value]) -> BTreeSet<PathBuf> {
    let mut by_pid: BTreeMap<u64, PathBuf> = BTreeMap::new();
    for e in events {
        let Some(pid) = e["pid"].as_u64() else {
            continue;
        };
        match e["event"].as_str().unwrap_or("") {
            "child-started" => {
                if let Some(cg) = e["cgroup"].as_str() {
                    by_pid.insert(pid, PathBuf::from(cg));
                }
            }
            "child-ended" => {
                by_pid.remove(&pid);
            }
            _ => {}
        }
    }
    by_pid.into_values().collect()
}

/// A command of an interrupted run on an ssh or docker target, whose
/// processes there are marked (see [`marked`]).
#[derive(Debug, Clone)]
pub struct Remote {
    pub at: TargetKind,
    pub marker: String,
    /// For messages: the step and its command.
    pub what: String,
}

/// The commands on other machines the journal lists as started and not
/// ended.
pub fn remote(events: &[Value]) -> Vec<Remote> {
    let mut open: BTreeMap<String, Remote> = BTreeMap::new();
    for e in events {
        let Some(marker) = e["marker"].as_str() else {
            continue;
        };
        match e["event"].as_str().unwrap_or("") {
            "remote-started" => {
                let Ok(at) = serde_json::from_value::<TargetKind>(e["at"].clone()) else {
                    continue;
                };
                let what = format!(
                    "step `{}`: {}",
                    e["step"].as_str().unwrap_or(""),
                    e["command"].as_str().unwrap_or("")
                );
                open.insert(
                    marker.to_string(),
                    Remote {
                        at,
                        marker: marker.to_string(),
                        what,
                    },
                );
            }
            "remote-ended" => {
                open.remove(marker);
            }
            _ => {}
        }
    }
    open.into_values().collect()
}

/// The processes still running of each such command, on its target: one
/// line each, as `pid 5 on `host` (step ...)`. A target that cannot be
/// searched is an error: resuming without knowing could run a step twice.
fn remote_running(remotes: &[Remote], kill: bool) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for r in remotes {
        let pids = marked::find(&r.at, &r.marker, kill).map_err(|e| {
            Error::Refused(format!(
                "cannot tell whether {} still runs on {} (its processes carry {}={}): {e}; end it there by hand, then resume",
                r.what,
                marked::describe(&r.at),
                marked::MARKER,
                r.marker
            ))
        })?;
        for pid in pids {
            out.push(format!(
                "pid {pid} on {} ({})",
                marked::describe(&r.at),
                r.what
            ));
        }
    }
    Ok(out)
}

/// `pid 12 (cairn), pid 34 (step `x`: sleep 100)`.
pub fn describe(left: &[Leftover]) -> String {
    both(left, &[])
}

/// The processes of this machine ([`describe`]) and those on targets, in
/// one list.
fn both(here: &[Leftover], far: &[String]) -> String {
    let mut all: Vec<String> = here
        .iter()
        .map(|l| format!("pid {} ({})", l.pid, l.what))
        .collect();
    all.extend(far.iter().cloned());
    all.join(", ")
}

/// How long each signal is given to take effect.
const GRACE: Duration = Duration::from_secs(5);

/// Ends the leftovers: SIGTERM to each (the whole group of a step's
/// command), up to [`GRACE`] for them to go, then SIGKILL to what is left
/// and up to [`GRACE`] again. What still runs after that is returned.
pub fn kill(events: &[Value]) -> Vec<Leftover> {
    for sig in [libc::SIGTERM, libc::SIGKILL] {
        let left = find(events);
        if left.is_empty() {
            return left;
        }
        for l in &left {
            match l.group {
                Some(g) => crate::sys::signal_group(g, sig),
                None => crate::sys::signal_pid(l.pid, sig),
            };
        }
        if sig == libc::SIGKILL {
            for cg in cgroups(events) {
                cgroup::kill(&cg);
            }
        }
        let until = Instant::now() + GRACE;
        while Instant::now() < until && !find(events).is_empty() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    find(events)
}

/// Called with the project lock held, before a resumed run writes
/// anything: reads the journal again (another `cairn resume` may have
/// finished the run meanwhile), then refuses while a process of the run
/// still runs, or ends them first with `--kill-leftovers`.
///
/// Records written on another machine (the `postgres` state backend) name
/// pids of that machine, which cannot be checked from here: its cairn
/// processes are gone (their database session held the project lock, which
/// this process holds now), and a command a step started there with no
/// recorded end makes the resume refuse, naming the machine. Commands on
/// `ssh` and `docker` targets are checked from here as on any resume.
pub fn before_resume(
    r: &Resume,
    store: &dyn super::state::StateStore,
    sink: &dyn EventSink,
) -> Result<()> {
    let run = super::state::RunRef {
        id: r.run_id.clone(),
        dir: r.dir.clone(),
    };
    let now = super::resume::load_in(store, &run).map_err(Error::Refused)?;
    let mut done: Vec<&String> = r.done.keys().collect();
    let mut done_now: Vec<&String> = now.done.keys().collect();
    done.sort();
    done_now.sort();
    if done != done_now {
        return Err(Error::Refused(format!(
            "run `{}` went on while this resume waited for the lock; run `cairn resume {}` again",
            r.run_id, r.run_id
        )));
    }
    let all = store.events_by_host(&run)?;
    let elsewhere = super::state::elsewhere::running(&all);
    if !elsewhere.is_empty() {
        if !r.ended_elsewhere {
            return Err(Error::Refused(format!(
                "run `{}` started commands on another machine that have no recorded end: {}; cairn cannot check processes there from this machine. Resume it there, or, once sure they ended (that machine is down, or you ended them), resume with `cairn resume {} --ended-elsewhere`",
                r.run_id,
                elsewhere.join(", "),
                r.run_id
            )));
        }
        sink.emit(&Event::Warning {
            message: format!(
                "taken as ended (--ended-elsewhere): {}",
                elsewhere.join(", ")
            ),
        });
    }
    continue_here(r, &all, sink)
}

fn continue_here(r: &Resume, all: &[super::state::HostEvent], sink: &dyn EventSink) -> Result<()> {
    // Remote commands are reached from here whoever started them; pids and
    // cgroups only on the machine that recorded them.
    let everything: Vec<Value> = all.iter().map(|e| e.event.clone()).collect();
    let events: Vec<Value> = all
        .iter()
        .filter(|e| e.host.is_none())
        .map(|e| e.event.clone())
        .collect();
    let left = find(&events);
    let remotes = remote(&everything);
    let far = remote_running(&remotes, false)?;
    if left.is_empty() && far.is_empty() {
        // The emptied groups of a killed run go now.
        for cg in cgroups(&events) {
            cgroup::kill(&cg);
        }
        return Ok(());
    }
    let named = both(&left, &far);
    if !r.kill_leftovers {
        return Err(Error::Refused(format!(
            "run `{}` still has processes running: {named}; resuming now could run a step twice at once. Wait for them to end, or end them with `cairn resume {} --kill-leftovers`",
            r.run_id, r.run_id
        )));
    }
    let still = kill(&events);
    // The recorded cgroups go once empty (`kill` may have ended all in them
    // with SIGTERM already).
    for cg in cgroups(&events) {
        cgroup::kill(&cg);
    }
    remote_running(&remotes, true)?;
    let far_still = remote_running(&remotes, false)?;
    if !still.is_empty() || !far_still.is_empty() {
        return Err(Error::Refused(format!(
            "run `{}`: these processes did not end after SIGTERM and SIGKILL: {}",
            r.run_id,
            both(&still, &far_still)
        )));
    }
    sink.emit(&Event::Warning {
        message: format!("ended what was left of run `{}`: {named}", r.run_id),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::os::unix::process::CommandExt;

    fn started(pid: u32, start_time: Option<u64>) -> Value {
        json!({"event": "child-started", "step": "wait", "pid": pid, "start_time": start_time, "command": "sleep 30"})
    }

    #[test]
    fn a_live_child_is_found_an_ended_or_recycled_one_is_not_and_kill_ends_it() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        let t = stat::start_time(pid).unwrap();
        // A reaper, so the killed child does not linger as a zombie.
        let reaper = std::thread::spawn(move || child.wait());
        let events = vec![started(pid, Some(t))];
        let left = find(&events);
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(left[0].pid, pid);
        assert!(describe(&left).contains("step `wait`: sleep 30"));
        // Another start time: a recycled pid, not ours.
        assert!(find(&[started(pid, Some(t + 1))]).is_empty());
        // Ended, as journaled.
        let ended = vec![
            started(pid, Some(t)),
            json!({"event": "child-ended", "step": "wait", "pid": pid, "status": 0}),
        ];
        assert!(find(&ended).is_empty());
        assert!(kill(&events).is_empty());
        let status = reaper.join().unwrap().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }

    #[test]
    fn this_process_is_never_its_own_leftover() {
        let me = std::process::id();
        let events = vec![
            json!({"event": "run-resumed", "pid": me, "pid_start_time": stat::start_time(me)}),
        ];
        assert!(find(&events).is_empty());
    }
}
