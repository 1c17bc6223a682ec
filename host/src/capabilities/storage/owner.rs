//! Who is writing an object: the run, and the process of this machine that
//! writes for it. Every temporary name a writer leaves while it works (a
//! `dir` storage's `.cairn-tmp-` file, an `s3` storage's upload marker)
//! and every object it commits carries this owner, so a later sweep can
//! prove that what it removes was left by a run whose writer is gone,
//! and never touches the work of one that is alive.
//!
//! The tag: `RUN.PID.START.MACHINE` — the run id, the writer's pid, its
//! start time (clock ticks since boot, from `/proc/PID/stat`: a pid used
//! again by another process does not match), and 8 hex digits naming
//! this machine (from `/etc/machine-id`, else the host name).

use std::sync::OnceLock;

/// What every temporary name starts with.
pub const TMP_MARK: &str = ".cairn-tmp-";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub run_id: String,
    pub pid: u32,
    pub start: u64,
    pub machine: String,
}

/// Whether the writer that left something is still at work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// The writer process runs: its work is never touched.
    Alive,
    /// The writer is gone; the reason says how that is known.
    Gone(String),
    /// The writer ran on another machine: nothing here can tell.
    Unknown(String),
}

impl Owner {
    /// This process, writing for `run_id` (`-` outside a run).
    pub fn current(run_id: &str) -> Self {
        Self {
            run_id: clean_run_id(run_id),
            pid: std::process::id(),
            start: crate::children::stat::own_start_time().unwrap_or(0),
            machine: machine().to_string(),
        }
    }

    pub fn tag(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.run_id, self.pid, self.start, self.machine
        )
    }

    pub fn parse(tag: &str) -> Option<Self> {
        let mut it = tag.splitn(4, '.');
        let run_id = it.next()?.to_string();
        let pid = it.next()?.parse().ok()?;
        let start = it.next()?.parse().ok()?;
        let machine = it.next()?.to_string();
        let valid_machine = machine.len() == 8 && machine.bytes().all(|b| b.is_ascii_hexdigit());
        (!run_id.is_empty() && clean_run_id(&run_id) == run_id && valid_machine).then_some(Self {
            run_id,
            pid,
            start,
            machine,
        })
    }

    /// A temporary name in [`TMP_MARK`]`TAG-N-BASE` form back to its
    /// owner; `None` for a name that carries none (one left by an older
    /// cairn, or not cairn's at all).
    pub fn of_tmp_name(name: &str) -> Option<Self> {
        let rest = name.strip_prefix(TMP_MARK)?;
        // RUN.PID.START.MACHINE, then `-N-BASE`: the machine is 8 hex digits.
        let dots: Vec<usize> = rest.match_indices('.').map(|(i, _)| i).take(3).collect();
        let third = *dots.get(2)?;
        let end = third + 1 + 8;
        if rest.len() <= end || rest.as_bytes()[end] != b'-' {
            return None;
        }
        Self::parse(&rest[..end])
    }

    /// Whether the writer is still at work.
    pub fn liveness(&self) -> Liveness {
        if self.machine != machine() {
            return Liveness::Unknown(format!(
                "written by run `{}` on another machine ({}); cairn cannot tell there whether it is alive",
                self.run_id, self.machine
            ));
        }
        match crate::children::stat::start_time(self.pid) {
            Some(s) if s == self.start => Liveness::Alive,
            Some(_) => Liveness::Gone(format!(
                "left by run `{}`, whose writer (pid {}) is gone: the pid now belongs to another process",
                self.run_id, self.pid
            )),
            None => Liveness::Gone(format!(
                "left by run `{}`, whose writer (pid {}) is gone",
                self.run_id, self.pid
            )),
        }
    }
}

/// Run ids are `YYYYMMDD-HHMMSS-mmmxx`; anything else is made safe for a
/// file name and the tag's `.` separators.
fn clean_run_id(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() { "-".into() } else { s }
}

/// 8 hex digits naming this machine.
pub fn machine() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let id = std::fs::read_to_string("/etc/machine-id")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| s.len() >= 8 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        match id {
            Some(id) => id[..8].to_ascii_lowercase(),
            None => {
                let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
                // FNV-1a, 32 bits: stable across builds and versions.
                let mut h: u32 = 0x811c_9dc5;
                for b in host.trim().bytes() {
                    h ^= u32::from(b);
                    h = h.wrapping_mul(0x0100_0193);
                }
                format!("{h:08x}")
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_tell_the_living_from_the_gone() {
        let me = Owner::current("20261203-070527-123ab");
        assert_eq!(me.liveness(), Liveness::Alive);
        assert_eq!(Owner::parse(&me.tag()), Some(me.clone()));
        let name = format!("{TMP_MARK}{}-0-site-20261203T070527Z.dump.zst", me.tag());
        assert_eq!(Owner::of_tmp_name(&name), Some(me.clone()));
        // An older cairn's name carries no owner.
        assert_eq!(Owner::of_tmp_name(".cairn-tmp-1234-0-site.dump.zst"), None);
        let gone = Owner {
            pid: 99_999_999,
            ..me.clone()
        };
        assert!(matches!(gone.liveness(), Liveness::Gone(_)));
        let reused = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        assert!(matches!(reused.liveness(), Liveness::Gone(w) if w.contains("another process")));
        let elsewhere = Owner {
            machine: "00000000".into(),
            ..me
        };
        assert!(matches!(elsewhere.liveness(), Liveness::Unknown(_)));
        assert_eq!(Owner::current("a.b/c").run_id, "a_b_c");
    }
}
