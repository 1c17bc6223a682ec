//! The few calls into libc that std does not offer. Kept in one place so the
//! rest of the crate stays free of `unsafe`: the workspace denies
//! `unsafe_code`, and this module alone allows it, because signals, process
//! groups and the parent-death signal have no safe std API.
#![allow(unsafe_code)]

pub mod spawn;

use std::os::unix::process::CommandExt;

/// Whether a process with this pid exists (it may belong to another user).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Sends SIGKILL to a whole process group (a command and its children).
pub fn kill_process_group(pgid: u32) {
    signal_group(pgid, libc::SIGKILL);
}

/// Sends `sig` to the process group `pgid`; whether it was delivered.
pub fn signal_group(pgid: u32, sig: libc::c_int) -> bool {
    // Group 0 and 1 would address our own group or every process.
    match libc::pid_t::try_from(pgid) {
        // SAFETY: plain syscall; a negative pid addresses the process group.
        Ok(pgid) if pgid > 1 => unsafe { libc::kill(-pgid, sig) == 0 },
        _ => false,
    }
}

/// Sends `sig` to one process; whether it was delivered.
pub fn signal_pid(pid: u32, sig: libc::c_int) -> bool {
    match libc::pid_t::try_from(pid) {
        // SAFETY: plain syscall on one positive pid.
        Ok(pid) if pid > 1 => unsafe { libc::kill(pid, sig) == 0 },
        _ => false,
    }
}

/// Makes the command's child write `bytes` to the open file `fd` between
/// fork and exec, ignoring failure (entering a cgroup: `0` to its
/// `cgroup.procs`). `bytes` must outlive the command: a constant.
pub fn write_on_spawn(
    cmd: &mut std::process::Command,
    fd: std::os::fd::RawFd,
    bytes: &'static [u8],
) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and calls
    // only `write`, which is async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            let _ = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
            Ok(())
        });
    }
}

/// Makes the command's child ask the kernel for SIGKILL when its parent
/// dies (`PR_SET_PDEATHSIG`, Linux). The kernel sends it when the *thread*
/// that forked the child exits, not only the process: a caller spawns from a
/// thread that outlives the child (every spawn in cairn waits for its child
/// on the spawning thread, or kills it before that thread returns).
pub fn die_with_parent(cmd: &mut std::process::Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: the closure runs in the forked child before exec and calls
        // only async-signal-safe functions (prctl, getppid, _exit); it
        // allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died between fork and prctl: nobody will send
                // the signal, so end here.
                if u32::try_from(libc::getppid()).ok() != Some(parent) {
                    libc::_exit(137);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_stop_signal(sig: libc::c_int) {
    STOP.store(true, std::sync::atomic::Ordering::SeqCst);
    let msg = b"cairn: stopping after the current step (the run can be resumed); send the signal again to stop at once\n";
    // SAFETY: write(2) and signal(2) are async-signal-safe; the buffer is static.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::signal(sig, libc::SIG_DFL);
    }
}

/// From now on the first SIGINT or SIGTERM asks the run to stop after its
/// current step (see [`stop_requested`]); a second one has its default effect.
pub fn catch_stop_signals() {
    let handler = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: installs a handler that only stores an atomic and calls
    // async-signal-safe functions.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Asks the run to stop after its current step, as SIGTERM does (the
/// state database is gone: the run's journal and lock with it).
pub fn request_stop() {
    STOP.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether SIGINT or SIGTERM asked the run to stop.
pub fn stop_requested() -> bool {
    STOP.load(std::sync::atomic::Ordering::SeqCst)
}

/// Sets an extended attribute on an open file; a file system that takes
/// none is not an error (the attribute is a hint, never the only record).
pub fn set_xattr(file: &std::fs::File, name: &str, value: &[u8]) {
    use std::os::fd::AsRawFd;
    let Ok(name) = std::ffi::CString::new(name) else {
        return;
    };
    // SAFETY: the fd is open for the call; name is NUL-terminated; value is
    // a valid buffer of the given length.
    unsafe {
        libc::fsetxattr(
            file.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        );
    }
}

/// An extended attribute of a path (a symbolic link's own, never its
/// target's); `None` when it is not set or cannot be read.
pub fn get_xattr(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let name = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 256];
    // SAFETY: both strings are NUL-terminated; buf is valid for its length.
    let n = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let n = usize::try_from(n).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Ends the process as SIGPIPE ends other Unix tools whose reader went away
/// (`cairn list | head -1`): no message, killed by the signal. std ignores
/// SIGPIPE, so its default action is restored first.
pub fn die_of_sigpipe() -> ! {
    // SAFETY: restoring a signal's default disposition and raising it are
    // plain syscalls; nothing runs after the signal kills the process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(128 + libc::SIGPIPE)
}

/// A pidfd of a child (`pidfd_open`, Linux 5.3+): readable once the child
/// has exited, so that a `poll` can wait for the exit and for output at once.
pub struct PidFd(std::os::fd::OwnedFd);

impl PidFd {
    /// `None` where the kernel has no pidfds.
    pub fn open(pid: u32) -> Option<Self> {
        use std::os::fd::FromRawFd;
        let pid = libc::pid_t::try_from(pid).ok()?;
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let fd = std::os::fd::RawFd::try_from(fd)
            .ok()
            .filter(|fd| *fd >= 0)?;
        // SAFETY: the fd was just returned by the kernel and is owned by no one else.
        Some(Self(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }))
    }

    pub fn fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.0.as_raw_fd()
    }
}

/// Waits until one of `fds` is readable (or at its end), at most `timeout`;
/// says which are. `None` entries are not watched.
pub fn poll_readable(
    fds: &[Option<std::os::fd::RawFd>],
    timeout: std::time::Duration,
) -> std::io::Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.unwrap_or(-1),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // Round up, so that a wait of less than a millisecond is not a busy loop.
    let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `polled` is a valid array of `polled.len()` pollfd structs.
    let n = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(polled
        .iter()
        .map(|p| p.fd >= 0 && p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0)
        .collect())
}

/// This machine's host name.
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// The real user id of this process.
pub fn uid() -> u32 {
    // SAFETY: getuid cannot fail and touches no memory of ours.
    unsafe { libc::getuid() }
}

/// `CLOCK_BOOTTIME` in nanoseconds: the clock the kernel stamps a new
/// process with.
pub fn boottime_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) } != 0 {
        return None;
    }
    Some(u64::try_from(ts.tv_sec).ok()? * 1_000_000_000 + u64::try_from(ts.tv_nsec).ok()?)
}

/// Clock ticks per second (`USER_HZ`), the unit of `/proc`'s times.
pub fn clock_ticks_per_second() -> Option<u64> {
    // SAFETY: sysconf has no preconditions.
    u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()
}
