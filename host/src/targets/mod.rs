//! Targets: where a command runs. `local` is a process on this machine,
//! `ssh` goes through the system's OpenSSH (honouring the user's ssh config
//! and agent), `docker` is an exec in a container through the engine's API
//! (no `docker` client; the target's `host=`, else `DOCKER_HOST`, else the
//! default socket, as for the `docker` capability).
//!
//! Every ssh command of a run to the same target shares one connection: the
//! first opens a master (`ControlMaster`) whose socket lives in a short
//! per-run directory, the others are sessions multiplexed over it, and the
//! masters are closed (`ssh -O exit`) when the run's last [`Targets`] is
//! dropped. `ControlPersist` closes a master that outlives its run (a killed
//! cairn) after two idle minutes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cairn_lang::TargetKind;

pub mod docker;
pub mod process;
pub mod programs;

use docker::Engine;
use docker::run::ContainerCommand;

/// The project's targets by name; `local` always exists.
///
/// While any `Targets` lives, ssh masters opened for commands stay up; when
/// the last one is dropped (the run is over) they are closed.
#[derive(Debug, Clone)]
pub struct Targets {
    map: BTreeMap<String, TargetKind>,
    _connections: Arc<RunConnections>,
}

impl Default for Targets {
    fn default() -> Self {
        Self::new(BTreeMap::new())
    }
}

impl Targets {
    pub fn new(mut map: BTreeMap<String, TargetKind>) -> Self {
        map.entry("local".into()).or_insert(TargetKind::Local);
        Self {
            map,
            _connections: Arc::new(RunConnections::new()),
        }
    }

    pub fn get(&self, name: &str) -> Option<&TargetKind> {
        self.map.get(name)
    }

    pub fn insert(&mut self, name: String, kind: TargetKind) {
        self.map.insert(name, kind);
    }
}

/// A command as the host will run it.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
    /// On a `local` target, the file to run, found by the host (see
    /// [`programs`]); the program is then found on cairn's `PATH`.
    pub path: Option<PathBuf>,
}

impl Invocation {
    /// The command line as a shell would read it (for plans and journals).
    pub fn display(&self) -> String {
        let mut parts = Vec::new();
        if let Some(cwd) = &self.cwd {
            parts.push(format!("cd {} &&", quote(cwd)));
        }
        for (k, _) in &self.env {
            parts.push(format!("{k}=…"));
        }
        parts.push(quote(&self.program));
        parts.extend(self.args.iter().map(|a| quote(a)));
        parts.join(" ")
    }
}

/// How a command reaches its target.
#[derive(Debug)]
pub enum Launch {
    /// A process of this machine: the command itself (`local`) or the
    /// `ssh` client running it.
    Process(Command),
    /// An exec in a container, through the engine's API (`docker`).
    Container(ContainerCommand),
}

/// How `inv` runs on `target`. For ssh, the target's shared connection is
/// opened first if need be, until `deadline`. For docker, the engine is the
/// target's `host=`, else `DOCKER_HOST`, else the default socket; an
/// address that is not one, or a container name that is not one, is an
/// error.
pub fn launch(target: &TargetKind, inv: &Invocation, deadline: Instant) -> Result<Launch, String> {
    Ok(match target {
        TargetKind::Local => {
            let path = match &inv.path {
                Some(p) => p.clone(),
                None => {
                    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
                    let base = inv.cwd.as_ref().map_or(cwd.clone(), |d| cwd.join(d));
                    programs::find(&inv.program, &base)
                        .ok_or("no such program on this machine's PATH")?
                        .path
                }
            };
            // A clean environment: the few variables of cairn's own that
            // every program expects, then the command's.
            let mut c = Command::new(path);
            c.args(&inv.args);
            c.env_clear();
            c.envs(programs::passed_env());
            c.envs(inv.env.iter().map(|(k, v)| (k, v)));
            if let Some(cwd) = &inv.cwd {
                c.current_dir(cwd);
            }
            Launch::Process(c)
        }
        TargetKind::Ssh {
            destination,
            port,
            options,
        } => {
            let ssh = SshTarget {
                destination,
                port: *port,
                options,
            };
            let control = ssh.shared_connection(deadline);
            let mut c = ssh.command(control.as_deref().map_or(Sharing::None, Sharing::Client));
            c.arg("--").arg(remote_script(inv));
            Launch::Process(c)
        }
        TargetKind::Docker { container, host } => {
            let engine = Engine::resolve(host.as_deref().unwrap_or(""))?;
            let mut cmd = Vec::with_capacity(1 + inv.args.len());
            cmd.push(inv.program.clone());
            cmd.extend(inv.args.iter().cloned());
            Launch::Container(ContainerCommand::new(
                engine,
                container,
                cmd,
                inv.env.clone(),
                inv.cwd.clone(),
            )?)
        }
    })
}

/// How long an idle master outlives its last session when cairn did not
/// close it (a killed run).
const CONTROL_PERSIST: &str = "120";

/// An ssh target as written in `cairn.kdl`.
struct SshTarget<'a> {
    destination: &'a str,
    port: Option<u16>,
    options: &'a [String],
}

/// How an ssh command uses the target's shared connection.
#[derive(Clone, Copy)]
enum Sharing<'a> {
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
    fn command(&self, sharing: Sharing<'_>) -> Command {
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
    fn multiplexes_itself(&self) -> bool {
        self.options.iter().any(|o| {
            let key = o
                .split(|c: char| c == '=' || c.is_whitespace())
                .next()
                .unwrap_or("");
            ["controlmaster", "controlpath", "controlpersist"]
                .contains(&key.to_ascii_lowercase().as_str())
        })
    }

    fn key(&self) -> SshKey {
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
    fn shared_connection(&self, deadline: Instant) -> Option<PathBuf> {
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
struct SshKey {
    destination: String,
    port: Option<u16>,
    options: Vec<String>,
}

/// The ssh masters of this process's run: a private directory for their
/// sockets, made on first use, and the targets that have one (the socket of
/// the n-th is `DIR/n`, short enough for the ~104 bytes a unix socket path
/// may have).
struct Mux {
    dir: Option<PathBuf>,
    /// Set when no directory could be made: no multiplexing then.
    unavailable: bool,
    masters: Vec<(SshKey, Arc<Mutex<()>>)>,
}

static MUX: Mutex<Mux> = Mutex::new(Mux {
    dir: None,
    unavailable: false,
    masters: Vec::new(),
});

/// How many [`Targets`] live; the last one dropped closes the masters.
static LIVE: AtomicUsize = AtomicUsize::new(0);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Mux {
    fn dir(&mut self) -> Option<PathBuf> {
        if self.dir.is_none() && !self.unavailable {
            self.dir = make_control_dir();
            self.unavailable = self.dir.is_none();
        }
        self.dir.clone()
    }

    /// Asks every master to exit and removes the directory.
    fn close(&mut self) {
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
            c.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
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
fn make_control_dir() -> Option<PathBuf> {
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
struct RunConnections;

impl RunConnections {
    fn new() -> Self {
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
fn remote_script(inv: &Invocation) -> String {
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

/// POSIX shell quoting: bare when safe, single quotes otherwise.
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("abc/d-e.f"), "abc/d-e.f");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    fn args(c: &Command) -> Vec<String> {
        c.get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn ssh_options_of_the_target_come_before_cairns_own() {
        let options = vec![
            "IdentityFile=/k".to_string(),
            "ConnectTimeout=3".to_string(),
        ];
        let t = SshTarget {
            destination: "deploy@db1",
            port: Some(2222),
            options: &options,
        };
        let a = args(&t.command(Sharing::Client(Path::new("/tmp/c/0"))));
        let pos = |s: &str| {
            a.iter()
                .position(|x| x == s)
                .unwrap_or_else(|| panic!("{s} in {a:?}"))
        };
        assert_eq!(a[..2], ["-o", "BatchMode=yes"]);
        assert_eq!(a[pos("-p") + 1], "2222");
        // ssh keeps the first value of an option: the target's win.
        assert!(pos("ConnectTimeout=3") < pos("ConnectTimeout=20"));
        assert!(pos("IdentityFile=/k") < pos("ControlMaster=auto"));
        assert!(a.contains(&"ControlPath=/tmp/c/0".to_string()));
        assert_eq!(a.last().unwrap(), "deploy@db1");

        let open = args(&t.command(Sharing::OpenMaster(Path::new("/tmp/c/0"))));
        assert!(open.contains(&"ControlMaster=yes".to_string()));
        assert_eq!(open[open.len() - 3..], ["-f", "-N", "deploy@db1"]);

        let plain = args(&t.command(Sharing::None));
        assert!(!plain.iter().any(|x| x.starts_with("Control")));
    }

    #[test]
    fn targets_that_multiplex_themselves_are_left_alone() {
        let options = vec!["ControlPath ~/.ssh/cm-%C".to_string()];
        let t = SshTarget {
            destination: "db1",
            port: None,
            options: &options,
        };
        assert!(t.multiplexes_itself());
        assert_eq!(t.shared_connection(Instant::now()), None);
        let options = vec!["controlmaster=no".to_string()];
        assert!(
            SshTarget {
                destination: "db1",
                port: None,
                options: &options
            }
            .multiplexes_itself()
        );
        assert!(
            !SshTarget {
                destination: "db1",
                port: None,
                options: &[]
            }
            .multiplexes_itself()
        );
    }

    #[test]
    fn docker_targets_run_through_the_engine_of_their_host() {
        let inv = Invocation {
            program: "nginx".into(),
            args: vec!["-s".into(), "reload".into()],
            env: vec![("A".into(), "secret value".into())],
            cwd: Some("/etc/nginx".into()),
            path: None,
        };
        let docker = |host: &str, container: &str| TargetKind::Docker {
            container: container.into(),
            host: Some(host.into()),
        };
        let Ok(Launch::Container(c)) = launch(
            &docker("tcp://127.0.0.1:2375", "web_1"),
            &inv,
            Instant::now(),
        ) else {
            panic!("a docker target is an exec in a container");
        };
        assert_eq!(c.engine.to_string(), "tcp://127.0.0.1:2375");
        assert_eq!(c.container, "web_1");
        assert_eq!(c.cmd, ["nginx", "-s", "reload"]);
        assert_eq!(c.env, [("A".to_string(), "secret value".to_string())]);
        assert_eq!(c.cwd.as_deref(), Some("/etc/nginx"));
        let Ok(Launch::Container(c)) = launch(&docker("/run/d.sock", "web"), &inv, Instant::now())
        else {
            panic!("a bare socket path is an engine");
        };
        assert_eq!(c.engine.to_string(), "unix:///run/d.sock");
        let err = launch(&docker("ssh://me@host", "web"), &inv, Instant::now()).unwrap_err();
        assert!(
            err.contains("neither `unix:///PATH` nor `tcp://HOST:PORT`"),
            "{err}"
        );
        let err = launch(&docker("/run/d.sock", "../x"), &inv, Instant::now()).unwrap_err();
        assert!(err.contains("is not a container name"), "{err}");
    }

    #[test]
    fn ssh_script_quotes_every_word() {
        let inv = Invocation {
            program: "git".into(),
            args: vec!["-C".into(), "/srv/my site".into()],
            env: vec![("A".into(), "x y".into())],
            cwd: Some("/tmp".into()),
            path: None,
        };
        assert_eq!(
            remote_script(&inv),
            "cd /tmp && exec env 'A=x y' git -C '/srv/my site'"
        );
        let inv = Invocation {
            program: "git".into(),
            args: vec!["status".into()],
            env: vec![("PATH".into(), "/tmp/evil".into())],
            cwd: None,
            path: None,
        };
        assert_eq!(
            remote_script(&inv),
            "p=$(command -v git) || { echo \"git: not found\" >&2; exit 127; }; exec env PATH=/tmp/evil \"$p\" status"
        );
    }
}
