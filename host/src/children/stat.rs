//! What `/proc/PID/stat` says about a process: its state, parent, process
//! group and start time. A pid alone names a process only until it is
//! recycled; a pid with its start time (field 22, clock ticks after boot)
//! names one process for good.

use std::sync::OnceLock;

/// The fields of `/proc/PID/stat` cairn uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// `R`, `S`, `D`, `Z` (a zombie: dead, not yet reaped), ...
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    /// Clock ticks after boot when the process started.
    pub start_time: u64,
}

/// The process's stat, when it exists.
pub fn read(pid: u32) -> Option<Stat> {
    use std::io::Read;
    // One `read`: the line is a few hundred bytes (the command name is at
    // most 64), and `/proc` hands it over whole.
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let mut buf = [0u8; 1024];
    let n = f.read(&mut buf).ok()?;
    parse(&String::from_utf8_lossy(&buf[..n]))
}

/// The line's fields. The command name (field 2) is in parentheses and may
/// hold spaces and parentheses itself: the fields after it start after the
/// last `)`.
fn parse(line: &str) -> Option<Stat> {
    let rest = &line[line.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `fields[0]` is field 3 of the line.
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

/// This process's own start time, read once (it does not change).
pub fn own_start_time() -> Option<u64> {
    static OWN: OnceLock<Option<u64>> = OnceLock::new();
    *OWN.get_or_init(|| start_time(std::process::id()))
}

/// Now, in the unit and clock of a start time: clock ticks (`USER_HZ`) of
/// `CLOCK_BOOTTIME`, which the kernel reads to stamp a new process and
/// `/proc` divides the same way (both in this time namespace). A child whose
/// creation began and ended within one tick started at that tick, which
/// spares reading its `/proc/PID/stat` while it is still in its `execve`.
/// `None` where the tick does not divide a second in nanoseconds.
pub fn ticks_now() -> Option<u64> {
    static NS_PER_TICK: OnceLock<Option<u64>> = OnceLock::new();
    let per = (*NS_PER_TICK.get_or_init(|| {
        let hz = crate::sys::clock_ticks_per_second()?;
        (hz > 0 && 1_000_000_000 % hz == 0).then(|| 1_000_000_000 / hz)
    }))?;
    let ns = crate::sys::boottime_ns()?;
    Some(ns / per)
}

/// The start time of a process, when it exists.
pub fn start_time(pid: u32) -> Option<u64> {
    read(pid).map(|s| s.start_time)
}

/// Whether the process recorded as `pid` started at `start_time` still runs:
/// the pid exists, is not a zombie and, when a start time was recorded, has
/// that start time (a recycled pid is another process). Without `/proc`,
/// only whether the pid exists.
pub fn still_running(pid: u32, start_time: Option<u64>) -> bool {
    match read(pid) {
        Some(s) => s.state != 'Z' && start_time.is_none_or(|t| t == s.start_time),
        None if std::path::Path::new("/proc/self/stat").exists() => false,
        None => crate::sys::pid_alive(pid),
    }
}

/// The live processes of group `pgid` that started no earlier than
/// `since` (the group's leader as recorded): what is left of a command
/// whose leader is gone but whose children still run.
pub fn group_members(pgid: u32, since: u64) -> Vec<u32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<u32> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            read(*pid).is_some_and(|s| s.pgrp == pgid && s.state != 'Z' && s.start_time >= since)
        })
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_after_a_command_name_with_spaces_and_parentheses() {
        let line =
            "4242 (a (b) c) S 1 4240 4240 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(
            parse(line),
            Some(Stat {
                state: 'S',
                ppid: 1,
                pgrp: 4240,
                start_time: 987_654,
            })
        );
        assert_eq!(parse("12 (x) S 1"), None);
    }

    #[test]
    fn this_process_is_running_and_a_changed_start_time_is_another_process() {
        let me = std::process::id();
        let t = start_time(me).expect("own stat");
        assert!(still_running(me, Some(t)));
        assert!(still_running(me, None));
        assert!(!still_running(me, Some(t + 1)), "a recycled pid");
        assert!(!still_running(99_999_999, None));
    }
}
