//! Starting a child without copying cairn: `clone3` with `CLONE_VM |
//! CLONE_VFORK` (the child borrows cairn's memory until it calls `execve`,
//! as `posix_spawn` does), `CLONE_CLEAR_SIGHAND` (the kernel resets every
//! handled signal to its default in the child, so none of cairn's or
//! wasmtime's handlers can run there) and, when the child has a cgroup,
//! `CLONE_INTO_CGROUP` (the kernel creates it in its group: no migration,
//! which costs about a millisecond and waits for an RCU grace period).
//!
//! A `fork` of cairn copies the page tables of every wasmtime mapping and
//! tears them down again at the child's `execve`; std's
//! `std::process::Command` forks whenever something must run between fork
//! and exec, and cairn's children need three things there (their own
//! process group, the parent-death signal, entering their cgroup).
//!
//! The child runs [`child_main`] on a stack of its own, in cairn's memory,
//! while the calling thread is suspended by the kernel until the child's
//! `execve` or exit. It only reads what the parent prepared and calls
//! async-signal-safe functions: no allocation, no lock, no panic. A failure
//! there is written to [`ChildArgs::error`] (shared memory) before `_exit`.
//!
//! Linux 5.7+ on x86_64 only; elsewhere, and where `clone3` is refused
//! (ENOSYS, a seccomp filter's EPERM, EINVAL from an older kernel, a
//! cgroup the kernel will not create the child in), the caller falls back
//! to std's spawn.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::RawFd;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicI32, Ordering};

const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

const SH: &CStr = c"/bin/sh";

/// The child's stack: it runs a handful of system calls.
const STACK: usize = 64 << 10;

/// `struct clone_args` of `linux/sched.h` (version 2, with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What the child needs, all prepared by the parent: NUL-terminated
/// strings and NULL-terminated pointer arrays.
pub struct Prepared {
    path: CString,
    /// Own the strings that `argv_ptrs` and `envp_ptrs` point into.
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    /// `/bin/sh PATH ARGS...`: what `execvp` runs when the file is not a
    /// program the kernel knows (a script without `#!`).
    sh_argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    cwd: Option<CString>,
}

impl Prepared {
    pub fn new(
        path: CString,
        argv: Vec<CString>,
        envp: Vec<CString>,
        cwd: Option<CString>,
    ) -> Self {
        let ptrs = |v: &[CString]| {
            v.iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect::<Vec<_>>()
        };
        let sh_argv_ptrs = [SH.as_ptr(), path.as_ptr()]
            .into_iter()
            .chain(argv.iter().skip(1).map(|s| s.as_ptr()))
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        Self {
            argv_ptrs: ptrs(&argv),
            sh_argv_ptrs,
            envp_ptrs: ptrs(&envp),
            path,
            _argv: argv,
            _envp: envp,
            cwd,
        }
    }
}

/// Read by the child through a raw pointer; `error` written by it.
struct ChildArgs {
    path: *const libc::c_char,
    argv: *const *const libc::c_char,
    sh_argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    /// NULL: stay in cairn's working directory.
    cwd: *const libc::c_char,
    /// The descriptors that become the child's 0, 1 and 2.
    stdio: [RawFd; 3],
    parent: libc::pid_t,
    /// The errno of what failed in the child; 0 when it reached `execve`.
    error: AtomicI32,
}

/// Why a spawn did not happen.
pub enum SpawnError {
    /// `clone3` itself failed (the errno): not there, refused by a filter,
    /// the cgroup not usable, or no resources.
    Clone(io::Error),
    /// The child could not run the program (or was not prepared).
    Failed(io::Error),
}

/// Whether this build has the `clone3` spawn at all.
pub const AVAILABLE: bool = cfg!(all(target_os = "linux", target_arch = "x86_64"));

/// Starts the prepared program as a child in its own process group, with
/// the parent-death signal (SIGKILL), `stdio` as its descriptors 0, 1 and
/// 2, inside the cgroup whose directory is open as `cgroup` when given.
/// The child is running the program (or has failed to) when this returns.
pub fn spawn(p: &Prepared, stdio: [RawFd; 3], cgroup: Option<RawFd>) -> Result<u32, SpawnError> {
    let args = ChildArgs {
        path: p.path.as_ptr(),
        argv: p.argv_ptrs.as_ptr(),
        sh_argv: p.sh_argv_ptrs.as_ptr(),
        envp: p.envp_ptrs.as_ptr(),
        cwd: p.cwd.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
        stdio,
        // SAFETY: getpid has no preconditions.
        parent: unsafe { libc::getpid() },
        error: AtomicI32::new(0),
    };
    let mut stack: Vec<u128> = Vec::with_capacity(STACK / 16);
    let mut clone = CloneArgs {
        flags: libc::CLONE_VM as u64 | libc::CLONE_VFORK as u64 | CLONE_CLEAR_SIGHAND,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack.as_mut_ptr() as u64,
        stack_size: (stack.capacity() * 16) as u64,
        ..Default::default()
    };
    if let Some(fd) = cgroup {
        clone.flags |= CLONE_INTO_CGROUP;
        clone.cgroup = fd as u64;
    }
    let ret = clone3(&clone, &args);
    if ret < 0 {
        return Err(SpawnError::Clone(io::Error::from_raw_os_error(-ret as i32)));
    }
    let pid = ret as u32;
    // The child has called execve, or exited: its writes are done.
    let error = args.error.load(Ordering::Acquire);
    drop(stack);
    if error != 0 {
        let _ = wait(pid, false);
        return Err(SpawnError::Failed(io::Error::from_raw_os_error(error)));
    }
    Ok(pid)
}

/// `clone3` with the child on `clone.stack`, running `child_main(args)`:
/// the child's pid, or a negative errno.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn clone3(clone: &CloneArgs, args: &ChildArgs) -> i64 {
    let ret: i64;
    let entry: unsafe extern "C" fn(*const ChildArgs) -> ! = child_main;
    // SAFETY: the kernel creates the child on the fresh stack described by
    // `clone` (16-byte aligned at its top, as the `call` needs); only the
    // child takes the branch to `child_main`, which never returns, so the
    // child never runs Rust code of this frame nor touches the parent's
    // stack. `CLONE_VFORK` suspends this thread until the child's execve
    // or exit, so `args`, `clone`, the stack and everything they point to
    // outlive the child's use of them. In the parent, `syscall` clobbers
    // rax, rcx and r11 only; r12 and r13 are read-only inputs.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r12",
            "call r13",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") clone as *const CloneArgs,
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") args as *const ChildArgs,
            in("r13") entry as usize,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn clone3(_: &CloneArgs, _: &ChildArgs) -> i64 {
    -(libc::ENOSYS as i64)
}

/// The child, between clone and exec: async-signal-safe calls only, on the
/// prepared data, no allocation, nothing that can panic.
///
/// # Safety
///
/// `args` points to a live `ChildArgs` whose pointers are valid C strings
/// and NULL-terminated arrays; called only as the entry of a vfork-style
/// child.
#[cfg_attr(
    not(all(target_os = "linux", target_arch = "x86_64")),
    allow(dead_code)
)]
unsafe extern "C" fn child_main(args: *const ChildArgs) -> ! {
    // SAFETY: see the function's contract; the parent is suspended and
    // keeps `args` alive until execve or _exit.
    unsafe {
        let a = &*args;
        if libc::setpgid(0, 0) != 0 {
            fail(a);
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
            fail(a);
        }
        // cairn died before the prctl: nobody will send the signal.
        if libc::getppid() != a.parent {
            libc::_exit(137);
        }
        let mut target = 0;
        while target < 3 {
            let fd = a.stdio[target as usize];
            if fd == target {
                // dup2 onto itself keeps close-on-exec: clear it.
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    fail(a);
                }
            } else if libc::dup2(fd, target) < 0 {
                fail(a);
            }
            target += 1;
        }
        if !a.cwd.is_null() && libc::chdir(a.cwd) != 0 {
            fail(a);
        }
        // std ignores SIGPIPE; programs expect its default. Handled signals
        // were reset by CLONE_CLEAR_SIGHAND; ignored ones stay ignored, and
        // the mask is emptied, as std's spawn does.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::execve(a.path, a.argv, a.envp);
        if *libc::__errno_location() == libc::ENOEXEC {
            libc::execve(SH.as_ptr(), a.sh_argv, a.envp);
            *libc::__errno_location() = libc::ENOEXEC;
        }
        fail(a)
    }
}

/// Ends the child after a failure, telling the parent its errno.
///
/// # Safety
///
/// Called only in the child of [`spawn`], as [`child_main`].
#[cfg_attr(
    not(all(target_os = "linux", target_arch = "x86_64")),
    allow(dead_code)
)]
unsafe fn fail(a: &ChildArgs) -> ! {
    // SAFETY: errno is the calling thread's; _exit ends the child at once.
    unsafe {
        let errno = *libc::__errno_location();
        a.error.store(
            if errno == 0 { libc::EIO } else { errno },
            Ordering::Release,
        );
        libc::_exit(127)
    }
}

/// Waits for the child `pid` (`nohang`: only if it has exited already).
pub fn wait(pid: u32, nohang: bool) -> io::Result<Option<ExitStatus>> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let flags = if nohang { libc::WNOHANG } else { 0 };
    loop {
        let mut status = 0;
        // SAFETY: plain syscall writing one int we own.
        let rc = unsafe { libc::waitpid(pid, &mut status, flags) };
        match rc {
            0 => return Ok(None),
            r if r > 0 => return Ok(Some(ExitStatus::from_raw(status))),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}
