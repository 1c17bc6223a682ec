//! What a run's records say is still running on another machine than this
//! one (the `postgres` state backend records which machine wrote each):
//! commands started there with no recorded end. Their pids are of that
//! machine and cannot be checked from here (see `leftovers::before_resume`).

use std::collections::BTreeMap;

use super::HostEvent;

/// The commands that records of other machines list as started and not
/// ended (pids of that machine), described with the machine.
pub fn running(all: &[HostEvent]) -> Vec<String> {
    let mut open: BTreeMap<(String, u64), String> = BTreeMap::new();
    for e in all {
        let (Some(host), Some(pid)) = (&e.host, e.event["pid"].as_u64()) else {
            continue;
        };
        match e.event["event"].as_str().unwrap_or("") {
            "child-started" => {
                let what = format!(
                    "step `{}`: {} (pid {pid} on {host})",
                    e.event["step"].as_str().unwrap_or(""),
                    e.event["command"].as_str().unwrap_or("")
                );
                open.insert((host.clone(), pid), what);
            }
            "child-ended" => {
                open.remove(&(host.clone(), pid));
            }
            _ => {}
        }
    }
    open.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(host: Option<&str>, event: serde_json::Value) -> HostEvent {
        HostEvent {
            host: host.map(str::to_string),
            event,
        }
    }

    #[test]
    fn a_command_of_another_machine_without_its_end_is_named_with_the_machine() {
        let started = |pid: u32| json!({"event": "child-started", "step": "dump", "pid": pid, "command": "pg_dump hello"});
        let ended = |pid: u32| json!({"event": "child-ended", "step": "dump", "pid": pid});
        let all = vec![
            // This machine's: checked by pid as always, not here.
            at(None, started(10)),
            // Another machine's, ended.
            at(Some("laptop"), started(20)),
            at(Some("laptop"), ended(20)),
            // The same pid on two machines are two processes.
            at(Some("laptop"), started(30)),
            at(Some("desk"), ended(30)),
            // Its cairn: gone with its session, not listed.
            at(Some("laptop"), json!({"event": "run-started", "pid": 40})),
        ];
        assert_eq!(
            running(&all),
            ["step `dump`: pg_dump hello (pid 30 on laptop)"]
        );
    }
}
