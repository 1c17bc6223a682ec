//! docker-compose 1.x (the Python one, still what Debian 12 ships as
//! `docker-compose`): its `ps` has no JSON output and no service column.
//! `docker-compose ps -a` prints a table, one container a line:
//!
//! ```text
//!       Name                    Command                  State       Ports
//! ------------------------------------------------------------------------
//! site_other_1   sh -c exit 3                     Exit 3
//! site_web_1     sh -c trap 'exit 0' TERM;  ...   Up (healthy)
//! ```
//!
//! Columns are left-aligned and separated by three spaces or more; the
//! command is cut at 30 characters; the state is `Up`, `Up (healthy)`,
//! `Up (unhealthy)`, `Up (health: starting)`, `Exit N`, `Restarting`,
//! `Paused` or `Ghost`; ports never look like a state, so the state is the
//! last cell that does. A container is named `PROJECT_SERVICE_N` (`_run_`
//! for one-off containers, left out); a service whose containers are named
//! otherwise (`container_name:`) is read with `ps -a SERVICE`.

use crate::compose::Container;

/// Whether `version --short` names compose 1.x.
pub(crate) fn is_v1(version: &str) -> bool {
    version.trim().trim_start_matches('v').starts_with("1.")
}

/// The containers of a `ps -a` table, each given to the service of
/// `services` its name ends with (`_SERVICE_N`); `only` is the service of
/// every row (`ps -a SERVICE`).
pub(crate) fn parse_table(text: &str, services: &[String], only: Option<&str>) -> Vec<Container> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("---"));
    lines.next();
    lines
        .filter_map(|line| {
            let name = line.split_whitespace().next()?;
            let cells: Vec<&str> = split_cells(line);
            let (state, health, exit_code) = cells.iter().rev().find_map(|c| read_state(c))?;
            let service = match only {
                Some(s) => s.to_string(),
                None => service_of(name, services)?,
            };
            Some(Container {
                service,
                name: name.to_string(),
                state,
                health,
                exit_code,
            })
        })
        .collect()
}

/// The cells of a row: text separated by runs of three spaces or more.
fn split_cells(line: &str) -> Vec<&str> {
    let mut cells = Vec::new();
    let mut start = 0;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' {
            let run = bytes[i..].iter().take_while(|b| **b == b' ').count();
            if run >= 3 {
                if i > start {
                    cells.push(&line[start..i]);
                }
                start = i + run;
            }
            i += run;
        } else {
            i += 1;
        }
    }
    if start < line.len() {
        cells.push(&line[start..]);
    }
    cells
}

/// A state cell as `(state, health, exit code)` in the words of compose 2's
/// JSON (`running`, `exited`...); `None` for any other cell.
fn read_state(cell: &str) -> Option<(String, String, i64)> {
    let cell = cell.trim();
    let s = |v: &str| v.to_string();
    if let Some(rest) = cell.strip_prefix("Up") {
        let health = match rest.trim() {
            "" => "",
            "(healthy)" => "healthy",
            "(unhealthy)" => "unhealthy",
            "(health: starting)" => "starting",
            _ => return None,
        };
        return Some((s("running"), s(health), 0));
    }
    if let Some(code) = cell.strip_prefix("Exit ") {
        return Some((s("exited"), String::new(), code.trim().parse().ok()?));
    }
    match cell {
        "Restarting" => Some((s("restarting"), String::new(), 0)),
        "Paused" => Some((s("paused"), String::new(), 0)),
        "Ghost" => Some((s("dead"), String::new(), 0)),
        _ => None,
    }
}

/// The service of a container named `PROJECT_SERVICE_N`: the longest of
/// `services` that fits; `None` for a one-off (`_run_`) or another name.
fn service_of(name: &str, services: &[String]) -> Option<String> {
    let (rest, n) = name.rsplit_once('_')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    services
        .iter()
        .filter(|s| {
            rest.strip_suffix(s.as_str())
                .is_some_and(|p| p.ends_with('_') && !p.ends_with("_run_"))
        })
        .max_by_key(|s| s.len())
        .cloned()
}
