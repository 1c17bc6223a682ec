//! What HAProxy says about a backend's servers, read from two answers of the
//! runtime API: `show servers state BACKEND` (administrative state, weight,
//! address, operational state) and `show stat` (current sessions, the text
//! of the last health check).

use std::collections::BTreeMap;

use serde::Serialize;

/// The administrative state an operator sets: `set server B/S state X`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Admin {
    Ready,
    Drain,
    Maint,
}

impl Admin {
    pub fn as_str(self) -> &'static str {
        match self {
            Admin::Ready => "ready",
            Admin::Drain => "drain",
            Admin::Maint => "maint",
        }
    }

    pub fn parse(s: &str) -> Option<Admin> {
        match s {
            "ready" => Some(Admin::Ready),
            "drain" => Some(Admin::Drain),
            "maint" => Some(Admin::Maint),
            _ => None,
        }
    }

    /// From `srv_admin_state`'s bits (HAProxy's `SRV_ADMF_*`): any
    /// maintenance bit (forced, inherited, configured, resolution, health)
    /// wins over a drain bit.
    fn from_bits(bits: u32) -> Admin {
        const MAINT: u32 = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
        const DRAIN: u32 = 0x08 | 0x10;
        if bits & MAINT != 0 {
            Admin::Maint
        } else if bits & DRAIN != 0 {
            Admin::Drain
        } else {
            Admin::Ready
        }
    }
}

/// One server of a backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Server {
    pub name: String,
    pub state: Admin,
    /// `up`, `down`, `starting` or `stopping` (`srv_op_state`).
    pub health: String,
    pub weight: u32,
    pub addr: String,
    pub port: u16,
    /// Current sessions (`scur` of `show stat`).
    pub sessions: u64,
    /// `show stat`'s `status` column as HAProxy prints it (`UP`, `DRAIN`, ...).
    pub status: String,
    /// The last health check (`check_status`), empty without checks.
    pub check: String,
}

impl Server {
    /// Takes traffic: ready and up.
    pub fn serving(&self) -> bool {
        self.state == Admin::Ready && self.health == "up" && self.weight > 0
    }
}

/// Parses `show servers state` (format version 1): a version line, a `#`
/// header naming the columns, one line per server. Columns are found by
/// name, so newer HAProxy versions that append columns still parse.
pub fn parse_servers_state(text: &str, backend: &str) -> Result<Vec<Server>, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let version = lines
        .next()
        .ok_or("an empty answer to `show servers state`")?;
    if version != "1" {
        return Err(format!(
            "`show servers state` answered `{}` (expected format version 1)",
            first_line(text)
        ));
    }
    let header = lines
        .next()
        .and_then(|l| l.strip_prefix('#'))
        .ok_or("`show servers state` has no header line")?;
    let cols: Vec<&str> = header.split_whitespace().collect();
    let col = |name: &str| {
        cols.iter()
            .position(|c| *c == name)
            .ok_or(format!("`show servers state` has no column `{name}`"))
    };
    let (be, name, addr, op, admin, weight, port) = (
        col("be_name")?,
        col("srv_name")?,
        col("srv_addr")?,
        col("srv_op_state")?,
        col("srv_admin_state")?,
        col("srv_uweight")?,
        col("srv_port")?,
    );
    let mut out = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        let get = |i: usize| f.get(i).copied().unwrap_or("");
        if get(be) != backend {
            continue;
        }
        let num = |i: usize| -> Result<u32, String> {
            get(i).parse().map_err(|_| {
                format!(
                    "`show servers state`: `{}` is not a number in: {line}",
                    get(i)
                )
            })
        };
        out.push(Server {
            name: get(name).to_string(),
            state: Admin::from_bits(num(admin)?),
            health: match num(op)? {
                0 => "down",
                1 => "starting",
                2 => "up",
                _ => "stopping",
            }
            .to_string(),
            weight: num(weight)?,
            addr: get(addr).to_string(),
            port: get(port).parse().unwrap_or(0),
            sessions: 0,
            status: String::new(),
            check: String::new(),
        });
    }
    Ok(out)
}

/// The `show stat` rows of a backend's servers: `svname` → its columns.
pub fn parse_stat(
    text: &str,
    backend: &str,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .and_then(|l| l.strip_prefix("# "))
        .ok_or_else(|| format!("`show stat` answered `{}`", first_line(text)))?;
    let cols = split_csv(header);
    let mut out = BTreeMap::new();
    for line in lines {
        let f = split_csv(line);
        let row: BTreeMap<String, String> = cols.iter().cloned().zip(f).collect();
        let px = row.get("pxname").map(String::as_str).unwrap_or("");
        let sv = row.get("svname").map(String::as_str).unwrap_or("");
        if px == backend && sv != "BACKEND" && sv != "FRONTEND" {
            out.insert(sv.to_string(), row);
        }
    }
    Ok(out)
}

/// The servers of `backend`, the two answers joined.
pub fn join(state: &str, stat: &str, backend: &str) -> Result<Vec<Server>, String> {
    let mut servers = parse_servers_state(state, backend)?;
    let stats = parse_stat(stat, backend)?;
    for s in &mut servers {
        if let Some(row) = stats.get(&s.name) {
            let col = |n: &str| row.get(n).cloned().unwrap_or_default();
            s.sessions = col("scur").parse().unwrap_or(0);
            s.status = col("status");
            s.check = col("check_status");
        }
    }
    Ok(servers)
}

/// One CSV line as HAProxy writes it: fields that hold a comma or a quote
/// are quoted, quotes doubled.
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}
