//! The processes a test fixture started: ending a daemon with everything
//! below it (recorded by pid and start time first, so a recycled pid is
//! never hit), and telling whether a pid is alive.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Ends a daemon and every process below it: the descendants are recorded
/// first (pid and start time), the daemon gets SIGTERM and 20 s to end
/// them, then whatever of the recorded processes is left gets SIGKILL.
pub(crate) fn stop_tree(mut child: Child) {
    let root = child.id();
    let tree = descendants(root);
    signal(root, "TERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !matches!(child.try_wait(), Ok(Some(_))) {
        let _ = child.kill();
        let _ = child.wait();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive: Vec<&(u32, u64)> = tree
            .iter()
            .filter(|(pid, start)| start_time(*pid) == Some(*start))
            .collect();
        if alive.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            for (pid, _) in alive {
                signal(*pid, "KILL");
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `kill -SIG PID` (the test crate allows no `unsafe`).
fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

/// A process's start time (field 22 of /proc/PID/stat), to tell it from
/// a later process with the same pid.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every process below `root`, with its start time.
fn descendants(root: u32) -> Vec<(u32, u64)> {
    let all: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|pid| Some((pid, parent(pid)?)))
                .collect()
        })
        .unwrap_or_default();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(all.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    found
        .into_iter()
        .skip(1)
        .filter_map(|pid| Some((pid, start_time(pid)?)))
        .collect()
}

/// Is a process with this pid alive (not a zombie)?
pub(crate) fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 2..].split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}
