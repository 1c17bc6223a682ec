//! Both ways of starting a child (`clone3` and std's fork with hooks) give
//! the child the same world: its own process group, its cgroup, the
//! parent-death signal, the environment, working directory and
//! descriptors asked for, default signal handling.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::command::{self, Child, Command};
use super::{cgroup, stat};

type Start =
    fn(&Command, bool, Option<(&std::os::fd::OwnedFd, &std::fs::File)>) -> std::io::Result<Child>;

fn clone3(
    c: &Command,
    stdin: bool,
    g: Option<(&std::os::fd::OwnedFd, &std::fs::File)>,
) -> std::io::Result<Child> {
    match command::start_clone3(c, stdin, g.map(|(dir, _)| dir)) {
        Ok(child) => Ok(child),
        Err(crate::sys::spawn::SpawnError::Failed(e)) => Err(e),
        Err(crate::sys::spawn::SpawnError::Clone(e)) => {
            panic!("clone3 is refused on this machine: {e}")
        }
    }
}

fn fork(
    c: &Command,
    stdin: bool,
    g: Option<(&std::os::fd::OwnedFd, &std::fs::File)>,
) -> std::io::Result<Child> {
    command::start_std(c, stdin, g.map(|(_, procs)| procs))
}

/// Both ways, named; `clone3` only where this build has it.
fn ways() -> Vec<(&'static str, Start)> {
    let mut v: Vec<(&'static str, Start)> = vec![("fork", fork)];
    if crate::sys::spawn::AVAILABLE {
        v.push(("clone3", clone3));
    }
    v
}

/// A child's group, released when dropped (a failed assertion included).
struct Released(Option<cgroup::Cgroup>);

impl Drop for Released {
    fn drop(&mut self) {
        if let Some(g) = self.0.take() {
            g.release();
        }
    }
}

/// Runs the child to its end: exit code, stdout, stderr.
fn finish(mut child: Child, input: Option<&[u8]>) -> (i32, String, String) {
    if let (Some(mut w), Some(data)) = (child.stdin.take(), input) {
        w.write_all(data).unwrap();
    }
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), out, err)
}

/// What a shell child reports about itself: pid, process group, cgroup,
/// working directory and environment, then (the program it `exec`s, with
/// the signal state the shell was given: a shell blocks every signal while
/// it waits for a command) blocked, ignored and caught signals.
const REPORT: &str = r#"read -r line
echo "line=$line"
echo "pid=$$"
set -- $(sed 's/.*) //' /proc/$$/stat)
echo "pgrp=$3"
echo "cgroup=$(sed -n 's/^0:://p' /proc/$$/cgroup)"
echo "cwd=$(pwd)"
env | grep -v '^PWD=' | grep -v '^SHLVL=' | grep -v '^_=' | sort
echo to-stderr >&2
exec grep -E '^Sig(Blk|Ign|Cgt)' /proc/self/status
"#;

#[test]
fn a_child_gets_its_group_cgroup_environment_and_directory_either_way() {
    let dir = std::env::temp_dir().canonicalize().unwrap();
    let mut reports = Vec::new();
    for (name, start) in ways() {
        let mut c = Command::new("sh");
        c.arg("-c").arg(REPORT).env("DROPPED", "x");
        c.env_clear();
        c.env("PATH", "/usr/bin:/bin")
            .env("CAIRN_TEST_VALUE", "a b=c");
        c.current_dir(&dir);
        let group = cgroup::create();
        let child = start(&c, true, group.as_ref().map(|g| (g.dir(), g.procs())));
        // The group is released when this iteration ends, failed or not.
        let group = group.map(|g| Released(Some(g)));
        let child = child.unwrap();
        let pid = child.id();
        let (code, out, err) = finish(child, Some(b"hello\n"));
        assert_eq!(code, 0, "{name}: {out}{err}");
        assert_eq!(err, "to-stderr\n", "{name}");
        let field = |k: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("{name}: no {k} in {out}"))
                .to_string()
        };
        assert_eq!(field("line"), "hello", "{name}: stdin");
        assert_eq!(field("pid"), pid.to_string(), "{name}");
        assert_eq!(field("pgrp"), pid.to_string(), "{name}: own process group");
        assert_eq!(field("cwd"), dir.display().to_string(), "{name}");
        assert_eq!(field("CAIRN_TEST_VALUE"), "a b=c", "{name}");
        assert!(!out.contains("DROPPED"), "{name}: env_clear: {out}");
        assert!(out.contains("SigBlk:\t0000000000000000"), "{name}: {out}");
        let ignored = out
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:\t"))
            .map(|m| u64::from_str_radix(m, 16).unwrap())
            .unwrap();
        assert_eq!(
            ignored & (1 << (libc::SIGPIPE - 1)),
            0,
            "{name}: SIGPIPE ignored: {out}"
        );
        if let Some(Released(Some(g))) = &group {
            let rel = field("cgroup");
            assert_eq!(
                std::path::Path::new(&rel).file_name(),
                g.path().file_name(),
                "{name}: in {rel}, not in its group {}",
                g.path().display()
            );
        } else {
            eprintln!("no cgroup v2 to create groups in here: the cgroup is not checked");
        }
        reports.push(
            out.lines()
                .filter(|l| {
                    !l.starts_with("pid=") && !l.starts_with("pgrp=") && !l.starts_with("cgroup=")
                })
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
    }
    if let [a, b] = &reports[..] {
        assert_eq!(a, b, "fork and clone3 give the same child");
    }
}

#[test]
fn a_child_dies_with_the_thread_that_started_it_either_way() {
    for (name, start) in ways() {
        let mut c = Command::new("sleep");
        c.arg("30");
        let mut child = std::thread::spawn(move || start(&c, false, None).unwrap())
            .join()
            .unwrap();
        let pid = child.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                crate::sys::kill_process_group(pid);
                child.wait().unwrap();
                panic!("{name}: the child outlived the thread that started it");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{name}: {status:?}");
        assert!(stat::read(pid).is_none(), "{name}: reaped");
    }
}

#[test]
fn a_program_that_cannot_run_is_an_error_of_its_kind_either_way() {
    let dir = std::env::temp_dir();
    for (name, start) in ways() {
        let missing = start(&Command::new("cairn-no-such-program-here"), false, None).unwrap_err();
        assert_eq!(
            missing.kind(),
            std::io::ErrorKind::NotFound,
            "{name}: {missing}"
        );
        let not_a_program = start(&Command::new(&dir), false, None).unwrap_err();
        assert_eq!(
            not_a_program.kind(),
            std::io::ErrorKind::PermissionDenied,
            "{name}: {not_a_program}"
        );
        let mut c = Command::new("true");
        c.current_dir(dir.join("cairn-no-such-directory"));
        let no_dir = start(&c, false, None).unwrap_err();
        assert_eq!(
            no_dir.kind(),
            std::io::ErrorKind::NotFound,
            "{name}: {no_dir}"
        );
        let mut c = Command::new("true");
        c.arg("a\0b");
        let nul = start(&c, false, None).unwrap_err();
        assert_eq!(
            nul.kind(),
            std::io::ErrorKind::InvalidInput,
            "{name}: {nul}"
        );
    }
}

#[test]
fn a_script_without_a_shebang_runs_in_sh_as_execvp_runs_it_either_way() {
    use std::os::unix::fs::PermissionsExt;
    let file = std::env::temp_dir().join(format!("cairn-script-{}", std::process::id()));
    std::fs::write(&file, "echo \"from-script $1\"\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, start) in ways() {
        let mut c = Command::new(&file);
        c.arg("arg1");
        let (code, out, _) = finish(start(&c, false, None).unwrap(), None);
        assert_eq!((code, out.as_str()), (0, "from-script arg1\n"), "{name}");
    }
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn a_start_time_known_without_proc_is_the_one_proc_gives() {
    // Up to 40 children: each start time cairn knew from the clock must be
    // the one `/proc/PID/stat` shows (read before the child is reaped: a
    // zombie keeps its stat); most children are created within one tick.
    let mut known = 0;
    for _ in 0..40 {
        let child = super::spawn(&Command::new("/bin/true"), false).unwrap();
        let (mut child, started, watched) = child;
        let from_proc = stat::start_time(started.pid);
        assert_eq!(started.start_time, from_proc, "pid {}", started.pid);
        if child.start_time.is_some() {
            known += 1;
        }
        child.wait().unwrap();
        drop(watched);
    }
    if crate::sys::spawn::AVAILABLE && stat::ticks_now().is_some() {
        assert!(known >= 20, "only {known} of 40 start times from the clock");
    }
}

#[test]
fn what_a_child_leaves_running_leaves_its_group_before_the_group_is_reused() {
    if !cgroup::available() {
        eprintln!("no cgroup for children here");
        return;
    }
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "sleep 30 >/dev/null 2>&1 & echo $!"]);
    let (child, started, watched) = super::spawn(&cmd, false).unwrap();
    let group = started.cgroup.clone().expect("a cgroup");
    let (code, out, _) = finish(child, None);
    assert_eq!(code, 0);
    let left: u32 = out.trim().parse().unwrap();
    // Ended whatever the assertions say: the pid this test started.
    struct End(u32);
    impl Drop for End {
        fn drop(&mut self) {
            crate::sys::signal_pid(self.0, libc::SIGKILL);
        }
    }
    let _end = End(left);
    let in_group = |pid: u32| {
        std::fs::read_to_string(group.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .any(|l| l.trim() == pid.to_string())
    };
    assert!(
        in_group(left),
        "the background sleep is in the child's group"
    );
    drop(watched);
    assert!(stat::still_running(left, None), "moved, not killed");
    assert!(!in_group(left), "the group kept for reuse is empty");
}
