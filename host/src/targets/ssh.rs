//! ssh targets: every ssh command of a run to the same target shares one
//! connection. The first opens a master (`ControlMaster`) whose socket lives
//! in a short per-run directory, the others are sessions multiplexed over
//! it, and the masters are closed (`ssh -O exit`) when the run's last
//! [`Targets`](super::Targets) is dropped. `ControlPersist` closes a master that outlives
//! its run (a killed cairn) after two idle minutes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Invocation, process, programs, quote};
use crate::children::Command;

/// How long an idle master outlives its last session when cairn did not
/// close it (a killed run).
pub(super) const CONTROL_PERSIST: &str = "120";

/// An ssh target as written in `cairn.kdl`.
pub(super) struct SshTarget<'a> {
    pub(super) destination: &'a str,
    pub(super) port: Option<u16>,
    pub(super) options: &'a [String],
}

/// How an ssh command uses the target's shared connection.
#[derive(Clone, Copy)]
pub(super) enum Sharing<'a> {
    /// A connection of its own.
    None,
    /// A session over the master at this control socket (or a new master
    /// there when it is gone).
    Client(&'a Path),
    /// Opens the master at this control socket and detaches (`-f -N`).
    OpenMaster(&'a Path),
}

impl SshTarget<'_> {
    /// `ssh` with the target's port and options, then cairn's defaults (ssh
    /// takes the first value given for an option, so the target's options
    /// win over cairn's, and both over the user's ssh config), then the
    /// destination.
    pub(super) fn command(&self, sharing: Sharing<'_>) -> Command {
        let mut c = Command::new("ssh");
        // The client gets a clean environment too (so no `SendEnv` forwards
        // cairn's), keeping its agent.
        c.env_clear();
        c.envs(programs::passed_env());
        c.envs(std::env::vars_os().filter(|(k, _)| k == "SSH_AUTH_SOCK"));
        c.arg("-o").arg("BatchMode=yes");
        if let Some(p) = self.port {
            c.arg("-p").arg(p.to_string());
        }
        for o in self.options {
            c.arg("-o").arg(o);
        }
        let (master, path) = match sharing {
            Sharing::None => ("", None),
            Sharing::Client(p) => ("auto", Some(p)),
            Sharing::OpenMaster(p) => ("yes", Some(p)),
        };
        if let Some(path) = path {
            c.arg("-o").arg(format!("ControlMaster={master}"));
            c.arg("-o").arg(format!("ControlPath={}", path.display()));
            c.arg("-o").arg(format!("ControlPersist={CONTROL_PERSIST}"));
        }
        // A dead network shows as an error, not as a step that hangs until
        // its deadline.
        c.arg("-o").arg("ConnectTimeout=20");
        c.arg("-o").arg("ServerAliveInterval=15");
        c.arg("-o").arg("ServerAliveCountMax=4");
        if matches!(sharing, Sharing::OpenMaster(_)) {
            c.arg("-f").arg("-N");
        }
        c.arg(self.destination);
        c
    }

    /// Whether the target's options set up multiplexing themselves: then
    /// cairn leaves it to them.
    pub(super) fn multiplexes_itself(&self) -> bool {
        self.options.iter().any(|o| {
            let key = o
                .split(|c: char| c == '=' || c.is_whitespace())
                .next()
                .unwrap_or("");
            ["controlmaster", "controlpath", "controlpersist"]
                .contains(&key.to_ascii_lowercase().as_str())
        })
    }

    pub(super) fn key(&self) -> SshKey {
        SshKey {
            destination: self.destination.to_string(),
            port: self.port,
            options: self.options.to_vec(),
        }
    }

    /// The control socket of this target's shared connection, opening the
    /// master if it is not up; `None` when multiplexing is not possible (no
    /// private directory for the sockets) or the target's options set it
    /// up themselves. A master that cannot be opened (an unreachable host,
    /// a refused key) is not an error here: the command then tries the
    /// connection itself and reports what ssh says.
    pub(super) fn shared_connection(&self, deadline: Instant) -> Option<PathBuf> {
        if self.multiplexes_itself() {
            return None;
        }
        let (path, opening) = {
            let mut mux = lock(&MUX);
            let dir = mux.dir()?;
            let key = self.key();
            let index = match mux.masters.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    mux.masters.push((key, Arc::new(Mutex::new(()))));
                    mux.masters.len() - 1
                }
            };
            (dir.join(index.to_string()), mux.masters[index].1.clone())
        };
        // One opening at a time per target: steps that start together on a
        // fresh target wait for the first to open the master, then share it
        // (`ControlMaster=auto` clients racing would each open a connection
        // of their own, and one would complain on stderr).
        let _opening = lock(&opening);
        if !path.exists() {
            // The master detaches with its standard streams on /dev/null.
            // What ssh says before that (a refused key) is not kept: the
            // command will say it again.
            let c = self.command(Sharing::OpenMaster(&path));
            let _ = process::run_process(c, None, deadline, 64 << 10, &|_| {});
        }
        Some(path)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SshKey {
    pub(super) destination: String,
    pub(super) port: Option<u16>,
    pub(super) options: Vec<String>,
}

/// The ssh masters of this process's run: a private directory for their
/// sockets, made on first use, and the targets that have one (the socket of
/// the n-th is `DIR/n`, short enough for the ~104 bytes a unix socket path
/// may have).
pub(super) struct Mux {
    pub(super) dir: Option<PathBuf>,
    /// Set when no directory could be made: no multiplexing then.
    pub(super) unavailable: bool,
    pub(super) masters: Vec<(SshKey, Arc<Mutex<()>>)>,
}

pub(super) static MUX: Mutex<Mux> = Mutex::new(Mux {
    dir: None,
    unavailable: false,
    masters: Vec::new(),
});

/// How many [`Targets`] live; the last one dropped closes the masters.
pub(super) static LIVE: AtomicUsize = AtomicUsize::new(0);

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Mux {
    pub(super) fn dir(&mut self) -> Option<PathBuf> {
        if self.dir.is_none() && !self.unavailable {
            self.dir = make_control_dir();
            self.unavailable = self.dir.is_none();
        }
        self.dir.clone()
    }

    /// Asks every master to exit and removes the directory.
    pub(super) fn close(&mut self) {
        let Some(dir) = self.dir.take() else {
            return;
        };
        for (i, (key, _)) in self.masters.iter().enumerate() {
            let path = dir.join(i.to_string());
            if !path.exists() {
                continue;
            }
            let ssh = SshTarget {
                destination: &key.destination,
                port: key.port,
                options: &key.options,
            };
            let mut c = Command::new("ssh");
            c.arg("-o")
                .arg(format!("ControlPath={}", path.display()))
                .arg("-O")
                .arg("exit");
            if let Some(p) = ssh.port {
                c.arg("-p").arg(p.to_string());
            }
            c.arg(ssh.destination);
            let _ = process::run_process(
                c,
                None,
                Instant::now() + Duration::from_secs(5),
                4 << 10,
                &|_| {},
            );
        }
        self.masters.clear();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A fresh directory only this user can enter, under the temporary
/// directory when its path is short, else under `/tmp`.
pub(super) fn make_control_dir() -> Option<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let tmp = std::env::temp_dir();
    // ssh binds `PATH.` + 16 random characters before renaming it, and
    // option values must not need quoting.
    let usable = |p: &Path| {
        let s = p.to_string_lossy();
        s.len() <= 48 && !s.contains(|c: char| c.is_whitespace() || "%\"'".contains(c))
    };
    let base = if usable(&tmp) {
        tmp
    } else {
        PathBuf::from("/tmp")
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..16u32 {
        let tag = (seed ^ attempt.wrapping_mul(0x9e37_79b9)) & 0xffff;
        let dir = base.join(format!("cairn-ssh-{}-{tag:04x}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Some(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                tracing::warn!(
                    "cannot create `{}` for ssh connection sharing, each ssh command connects on its own: {e}",
                    dir.display()
                );
                return None;
            }
        }
    }
    None
}

/// Counts the live [`Targets`]; the last one closes the run's ssh masters.
pub(super) struct RunConnections;

impl RunConnections {
    pub(super) fn new() -> Self {
        LIVE.fetch_add(1, Ordering::SeqCst);
        RunConnections
    }
}

impl Drop for RunConnections {
    fn drop(&mut self) {
        // Under the lock, so a Targets made meanwhile finds a clean state.
        let mut mux = lock(&MUX);
        if LIVE.fetch_sub(1, Ordering::SeqCst) == 1 {
            mux.close();
        }
    }
}

impl std::fmt::Debug for RunConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunConnections")
    }
}

/// The directory holding this run's ssh control sockets, if one was made
/// (for tests and diagnostics).
pub fn ssh_control_dir() -> Option<PathBuf> {
    lock(&MUX).dir.clone()
}

/// The remote shell command for ssh: `cd DIR && exec env K=V PROGRAM ARGS`.
pub(super) fn remote_script(inv: &Invocation) -> String {
    let mut s = String::new();
    if let Some(cwd) = &inv.cwd {
        s.push_str(&format!("cd {} && ", quote(cwd)));
    }
    // The program is found on the login's PATH, never on one the command
    // sets.
    let program = if inv.env.iter().any(|(k, _)| k == "PATH") && !inv.program.contains('/') {
        s.push_str(&format!(
            "p=$(command -v {0}) || {{ echo \"{0}: not found\" >&2; exit 127; }}; ",
            quote(&inv.program)
        ));
        "\"$p\"".to_string()
    } else {
        quote(&inv.program)
    };
    s.push_str("exec ");
    if !inv.env.is_empty() {
        s.push_str("env ");
        for (k, v) in &inv.env {
            s.push_str(&quote(&format!("{k}={v}")));
            s.push(' ');
        }
    }
    s.push_str(&program);
    for a in &inv.args {
        s.push(' ');
        s.push_str(&quote(a));
    }
    s
}
