//! The processes a run starts on this machine: the commands of `exec` and
//! `transfer` on a `local` target, and the `ssh` clients that run them on an
//! `ssh` target. Each one
//!
//! - runs in a process group of its own, so it can be stopped with every
//!   process it started;
//! - is sent SIGKILL by the kernel when cairn dies (`PR_SET_PDEATHSIG`);
//! - is listed with the [`guard`], which kills its whole group if cairn ends
//!   before reaping it;
//! - is reported with its pid and start time, which the journal records, so
//!   `cairn resume` can tell whether anything of an interrupted run still
//!   runs (and end it with `--kill-leftovers`).
//!
//! A process that leaves its group on purpose (`setsid`, a daemon) is beyond
//! all three; so is the remote side of an ssh command, and a command run in
//! a container through the engine's API (the engine owns that process).

mod guard;
pub mod stat;

use std::process::{Child, Command};

/// A child just started: its pid (also its process group) and start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    pub pid: u32,
    /// `/proc/PID/stat` field 22; `None` where there is no `/proc`.
    pub start_time: Option<u64>,
}

/// Keeps a child's group on the guard's list until dropped: drop it once the
/// child has been reaped (its pid may be reused from then on).
#[derive(Debug)]
pub struct Watched(u32);

impl Drop for Watched {
    fn drop(&mut self) {
        guard::release(self.0);
    }
}

/// Spawns `cmd` as a child of the run: in its own process group, with the
/// parent-death signal, listed with the guard. Spawn from a thread that
/// outlives the child (the parent-death signal follows the spawning thread).
pub fn spawn(cmd: &mut Command) -> std::io::Result<(Child, Started, Watched)> {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    crate::sys::die_with_parent(cmd);
    let child = cmd.spawn()?;
    let pid = child.id();
    guard::watch(pid);
    let started = Started {
        pid,
        start_time: stat::start_time(pid),
    };
    Ok((child, started, Watched(pid)))
}
