//! A command to start as a child of the run, and the child once started.
//!
//! Not `std::process::Command`: std starts a child with `posix_spawn` (a
//! `vfork`) only when nothing has to run between fork and exec, and a
//! child of the run needs three things there (see [`super`]); with a
//! `pre_exec` hook std `fork`s, which copies the page tables of every
//! wasmtime mapping of cairn. This command is plain data that cairn
//! starts with `clone3` where it can ([`crate::sys::spawn`]) and with std's
//! `Command` and its hooks elsewhere, with the same result: program, args,
//! environment, working directory, stdin null or piped, stdout and stderr
//! piped.

use std::ffi::{CString, OsStr, OsString};
use std::io::{self, PipeReader, PipeWriter};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::sys::spawn::{Prepared, SpawnError};

/// What to run, as `std::process::Command` says it (the subset cairn uses).
#[derive(Debug, Clone)]
pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    /// Whether the environment starts empty instead of cairn's.
    env_clear: bool,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
}

impl Command {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env_clear: false,
            env: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// The child's environment starts empty instead of as cairn's.
    pub fn env_clear(&mut self) -> &mut Self {
        self.env_clear = true;
        self.env.clear();
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    pub fn get_program(&self) -> &OsStr {
        &self.program
    }

    pub fn get_args(&self) -> impl Iterator<Item = &OsStr> {
        self.args.iter().map(OsString::as_os_str)
    }

    /// The same command for std (the fallback spawn).
    fn to_std(&self) -> std::process::Command {
        let mut c = std::process::Command::new(&self.program);
        c.args(&self.args);
        if self.env_clear {
            c.env_clear();
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        c
    }

    /// The child's whole environment: cairn's (unless cleared) with the
    /// command's variables over it.
    fn environment(&self) -> Vec<(OsString, OsString)> {
        let mut all: Vec<(OsString, OsString)> = if self.env_clear {
            Vec::new()
        } else {
            std::env::vars_os().collect()
        };
        for (k, v) in &self.env {
            match all.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1 = v.clone(),
                None => all.push((k.clone(), v.clone())),
            }
        }
        all
    }

    /// The file to execute: the program itself when it holds a `/`, else
    /// the first executable file of that name on the child's `PATH`
    /// (`/bin:/usr/bin` without one), as `execvp` in the child would find.
    fn resolve(&self, env: &[(OsString, OsString)]) -> io::Result<PathBuf> {
        if self.program.as_bytes().contains(&b'/') {
            return Ok(PathBuf::from(&self.program));
        }
        let path = env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map_or_else(|| OsString::from("/bin:/usr/bin"), |(_, v)| v.clone());
        for dir in std::env::split_paths(&path) {
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            let dir = match &self.cwd {
                Some(cwd) if dir.is_relative() => cwd.join(dir),
                _ => dir,
            };
            let file = dir.join(&self.program);
            let runnable = std::fs::metadata(&file)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
            if runnable {
                return Ok(file);
            }
        }
        Err(io::Error::from_raw_os_error(libc::ENOENT))
    }

    /// Everything the `clone3` child needs, made before it exists.
    fn prepare(&self) -> io::Result<Prepared> {
        let c = |s: Vec<u8>| {
            CString::new(s).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "nul byte found in provided data",
                )
            })
        };
        let env = self.environment();
        let path = c(self.resolve(&env)?.into_os_string().into_vec())?;
        let argv = std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| c(a.as_bytes().to_vec()))
            .collect::<io::Result<Vec<_>>>()?;
        let envp = env
            .into_iter()
            .map(|(k, v)| {
                let mut kv = k.into_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                c(kv)
            })
            .collect::<io::Result<Vec<_>>>()?;
        let cwd = self
            .cwd
            .as_ref()
            .map(|d| c(d.as_os_str().as_bytes().to_vec()))
            .transpose()?;
        Ok(Prepared::new(path, argv, envp, cwd))
    }
}

/// A started child: its pid (and process group) and the parent's ends of
/// its pipes.
#[derive(Debug)]
pub struct Child {
    pid: u32,
    status: Option<ExitStatus>,
    /// Whether the kernel created the child in its cgroup (`clone3`); a
    /// child started by std enters it itself, and may have failed to.
    pub(super) in_cgroup: bool,
    /// Its start time as `/proc/PID/stat` gives it, when known without
    /// reading it: the kernel created it within one clock tick.
    pub(super) start_time: Option<u64>,
    pub stdin: Option<PipeWriter>,
    pub stdout: Option<PipeReader>,
    pub stderr: Option<PipeReader>,
}

impl Child {
    pub fn id(&self) -> u32 {
        self.pid
    }

    /// Waits for the child to exit (its stdin closed first, as std does).
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        if let Some(s) = self.status {
            return Ok(s);
        }
        let s = crate::sys::spawn::wait(self.pid, false)?
            .ok_or_else(|| io::Error::other("waitpid returned no status"))?;
        self.status = Some(s);
        Ok(s)
    }

    /// The exit status if the child has exited, without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = crate::sys::spawn::wait(self.pid, true)?;
        }
        Ok(self.status)
    }
}

/// How children are started in this process: not tried yet, by `clone3`,
/// or by std (`clone3` refused, or turned off by `CAIRN_NO_CLONE3`).
static HOW: AtomicU8 = AtomicU8::new(UNTRIED);
const UNTRIED: u8 = 0;
const CLONE3: u8 = 1;
const STD: u8 = 2;

/// Starts `cmd` in its own process group with the parent-death signal,
/// inside `cgroup` when given (its directory and its `cgroup.procs` open
/// for writing), stdin null or piped, stdout and stderr piped.
pub(super) fn start(
    cmd: &Command,
    stdin_piped: bool,
    cgroup: Option<(&OwnedFd, &std::fs::File)>,
) -> io::Result<Child> {
    let mut how = HOW.load(Ordering::Relaxed);
    if how == UNTRIED {
        how = if !crate::sys::spawn::AVAILABLE {
            note_std("no clone3 spawn on this platform");
            STD
        } else if std::env::var_os("CAIRN_NO_CLONE3").is_some() {
            note_std("CAIRN_NO_CLONE3 is set");
            STD
        } else {
            CLONE3
        };
        HOW.store(how, Ordering::Relaxed);
    }
    if how == CLONE3 {
        match start_clone3(cmd, stdin_piped, cgroup.map(|(dir, _)| dir)) {
            Ok(child) => return Ok(child),
            Err(SpawnError::Failed(e)) => return Err(e),
            // No process or memory for a child: std would fail as well.
            Err(SpawnError::Clone(e))
                if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::ENOMEM)) =>
            {
                return Err(e);
            }
            // Not there, filtered, or the cgroup refused (permissions, a
            // group with controllers): std's way, where a child that cannot
            // enter its group still runs, tracked by its process group.
            Err(SpawnError::Clone(e)) => {
                HOW.store(STD, Ordering::Relaxed);
                note_std(&format!("clone3 refused: {e}"));
            }
        }
    }
    start_std(cmd, stdin_piped, cgroup.map(|(_, procs)| procs))
}

fn note_std(why: &str) {
    tracing::debug!("children start with fork (std::process::Command and pre_exec): {why}");
}

pub(super) fn start_clone3(
    cmd: &Command,
    stdin_piped: bool,
    cgroup: Option<&OwnedFd>,
) -> Result<Child, SpawnError> {
    let prepared = cmd.prepare().map_err(SpawnError::Failed)?;
    let pipes = || -> io::Result<_> {
        let stdin = if stdin_piped {
            let (r, w) = io::pipe()?;
            (OwnedFd::from(r), Some(w))
        } else {
            (OwnedFd::from(std::fs::File::open("/dev/null")?), None)
        };
        Ok((stdin, io::pipe()?, io::pipe()?))
    };
    let ((child_in, stdin), (stdout, child_out), (stderr, child_err)) =
        pipes().map_err(SpawnError::Failed)?;
    let stdio = [
        child_in.as_raw_fd(),
        child_out.as_raw_fd(),
        child_err.as_raw_fd(),
    ];
    let before = super::stat::ticks_now();
    let pid = crate::sys::spawn::spawn(&prepared, stdio, cgroup.map(AsRawFd::as_raw_fd))?;
    let after = super::stat::ticks_now();
    if HOW.load(Ordering::Relaxed) == CLONE3 {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            tracing::debug!(
                "children start with clone3 (CLONE_VM | CLONE_VFORK{})",
                if cgroup.is_some() {
                    " | CLONE_INTO_CGROUP"
                } else {
                    ""
                }
            );
        });
    }
    Ok(Child {
        pid,
        status: None,
        in_cgroup: cgroup.is_some(),
        start_time: before.filter(|_| before == after),
        stdin,
        stdout: Some(stdout),
        stderr: Some(stderr),
    })
}

/// std's spawn, with the process group, the parent-death signal and the
/// cgroup entered between its fork and exec.
pub(super) fn start_std(
    cmd: &Command,
    stdin_piped: bool,
    procs: Option<&std::fs::File>,
) -> io::Result<Child> {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let mut c = cmd.to_std();
    c.stdin(if stdin_piped {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .process_group(0);
    crate::sys::die_with_parent(&mut c);
    if let Some(procs) = procs {
        crate::sys::write_on_spawn(&mut c, procs.as_raw_fd(), b"0");
    }
    let mut child = c.spawn()?;
    // std's `Child` neither waits nor kills when dropped: the pid is reaped
    // by [`Child::wait`].
    Ok(Child {
        pid: child.id(),
        status: None,
        in_cgroup: false,
        start_time: None,
        stdin: child.stdin.take().map(|p| OwnedFd::from(p).into()),
        stdout: child.stdout.take().map(|p| OwnedFd::from(p).into()),
        stderr: child.stderr.take().map(|p| OwnedFd::from(p).into()),
    })
}
