//! The guard: a small process, started with the run's first child, that
//! kills the process groups of the run's children when cairn ends without
//! having waited for them (cairn was killed, even with SIGKILL).
//!
//! cairn writes `+ PGID` when a child starts and `- PGID` once it has been
//! reaped, on a pipe the guard reads. The kernel closes that pipe however
//! cairn ends; at its end the guard sends SIGKILL to every group still
//! listed, kills what is in the cgroups cairn made for its children (those
//! of reaped children are empty by then) and removes those groups, and
//! exits. A child the kernel created in its cgroup is not listed: its
//! group holds its whole process group, and more. The parent-death signal
//! alone kills only the direct child: a shell's own children live on
//! without the guard.
//!
//! The guard is `/bin/sh` running a fixed script (no allocation or
//! unsafe code in a forked copy of cairn), in a process group of its own so
//! that a terminal's signals (Ctrl-C, hang-up) do not end it early.

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, PoisonError};

/// Keeps the listed groups; kills what is left when its input ends.
const SCRIPT: &str = r#"trap '' INT HUP QUIT
g=' '
while read -r op pg; do
  case $op$pg in
    +[0-9]*) g="$g$pg " ;;
    -[0-9]*) case $g in *" $pg "*) g="${g%% $pg *} ${g#* $pg }" ;; esac ;;
  esac
done
for pg in $g; do kill -9 -"$pg" 2>/dev/null; done
if [ -n "$1" ]; then
  for cg in "$1"*; do
    [ -d "$cg" ] || continue
    echo 1 > "$cg/cgroup.kill" 2>/dev/null ||
      for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    rmdir "$cg" 2>/dev/null
  done
fi
"#;

enum State {
    NotStarted,
    Running {
        _child: Child,
        input: ChildStdin,
    },
    /// It could not be started, or its pipe broke: children then die with
    /// cairn through the parent-death signal only.
    Unavailable,
}

static GUARD: Mutex<State> = Mutex::new(State::NotStarted);

/// Starts the guard if need be and, when `listed`, lists the process group
/// `pgid` with it (a child in one of this cairn's cgroups is ended through
/// its group, which the guard ends whether listed or not).
pub fn watch(pgid: u32, listed: bool) {
    send(&if listed {
        format!("+ {pgid}\n")
    } else {
        String::new()
    });
}

/// Starts the guard on a thread of its own, so that the first child of a
/// run does not wait for the guard's `/bin/sh` to start: for a run that
/// will start children, as it begins. A child started before the thread
/// is done waits for it (the guard's lock).
pub fn start_early() {
    let started = std::thread::Builder::new()
        .name("cairn-guard-start".into())
        .spawn(|| send(""));
    if let Err(e) = started {
        tracing::debug!("the guard starts with the first child: no thread ({e})");
    }
}

/// Takes `pgid` off the list: its leader has been reaped.
pub fn release(pgid: u32) {
    send(&format!("- {pgid}\n"));
}

fn send(line: &str) {
    let mut state = GUARD.lock().unwrap_or_else(PoisonError::into_inner);
    if matches!(*state, State::NotStarted) {
        *state = start();
    }
    if let State::Running { input, .. } = &mut *state
        && !line.is_empty()
        && let Err(e) = input.write_all(line.as_bytes())
    {
        tracing::warn!("the guard of this run's processes is gone: {e}");
        *state = State::Unavailable;
    }
}

fn start() -> State {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new("/bin/sh");
    c.arg("-c")
        .arg(SCRIPT)
        .arg("cairn-guard")
        .arg(super::cgroup::guard_pattern().unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    match c.spawn() {
        Ok(mut child) => match child.stdin.take() {
            Some(input) => State::Running {
                _child: child,
                input,
            },
            None => State::Unavailable,
        },
        Err(e) => {
            tracing::warn!(
                "cannot start the guard of this run's processes (`/bin/sh`): {e}; a child's own children may outlive a killed cairn"
            );
            State::Unavailable
        }
    }
}
