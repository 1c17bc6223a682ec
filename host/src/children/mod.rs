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
//! - where cgroup v2 can be used, runs in a [`cgroup`] of its own, which
//!   holds even what leaves the process group (`setsid`, a daemon): the
//!   guard ends that too, and `cairn resume` finds it by the group's path,
//!   which the journal records.
//!
//! Without cgroups, a process that leaves its group on purpose is beyond
//! all three. The remote side of an ssh command and a command run in a
//! container through the engine's API are not processes of this machine:
//! they are marked and found again there ([`crate::targets::marked`]).

pub mod cgroup;
mod command;
mod guard;
pub mod stat;
#[cfg(test)]
mod tests;

pub use command::{Child, Command};
pub use guard::start_early as start_guard_early;
use std::path::PathBuf;

/// A child just started: its pid (also its process group), start time and
/// cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub pid: u32,
    /// `/proc/PID/stat` field 22; `None` where there is no `/proc`.
    pub start_time: Option<u64>,
    /// The child's own cgroup, where there is one.
    pub cgroup: Option<PathBuf>,
}

/// Keeps a child's group on the guard's list until dropped: drop it once the
/// child has been reaped (its pid may be reused from then on). Dropping it
/// also hands back what the child left in its cgroup (see [`cgroup`]).
#[derive(Debug)]
pub struct Watched(u32, bool, Option<cgroup::Cgroup>);

impl Drop for Watched {
    fn drop(&mut self) {
        if self.1 {
            guard::release(self.0);
        }
        if let Some(cg) = self.2.take() {
            cg.release();
        }
    }
}

/// Spawns `cmd` as a child of the run: in its own process group, with the
/// parent-death signal, in a cgroup of its own where there are cgroups,
/// listed with the guard; stdin null or piped, stdout and stderr piped.
/// Spawn from a thread that outlives the child (the parent-death signal
/// follows the spawning thread).
pub fn spawn(cmd: &Command, stdin_piped: bool) -> std::io::Result<(Child, Started, Watched)> {
    let group = cgroup::create();
    let spawned = command::start(
        cmd,
        stdin_piped,
        group.as_ref().map(|g| (g.dir(), g.procs())),
    );
    let child = match spawned {
        Ok(child) => child,
        Err(e) => {
            if let Some(g) = group {
                g.release();
            }
            return Err(e);
        }
    };
    let pid = child.id();
    // A child the kernel created in its cgroup is ended through the group
    // (the guard ends every group of this cairn): its process group need
    // not be listed.
    let listed = !child.in_cgroup;
    guard::watch(pid, listed);
    let started = Started {
        pid,
        start_time: child.start_time.or_else(|| stat::start_time(pid)),
        cgroup: group.as_ref().map(|g| g.path().to_path_buf()),
    };
    Ok((child, started, Watched(pid, listed, group)))
}
