//! Record sets as the plugin reasons about them, whatever the provider:
//! a fully qualified name, a type, a TTL and the values, compared as sets.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RRset {
    /// Fully qualified, with the final dot.
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub ttl: u32,
    /// Sorted, as in a zone file (`192.0.2.1`, `"v=spf1 -all"`).
    pub values: Vec<String>,
}

impl RRset {
    pub fn new(name: &str, rtype: &str, ttl: u32, mut values: Vec<String>) -> Self {
        values.sort();
        values.dedup();
        RRset {
            name: fqdn(name),
            rtype: rtype.to_ascii_uppercase(),
            ttl,
            values,
        }
    }

    /// `A www.example.test.`
    pub fn key(&self) -> String {
        format!("{} {}", self.rtype, self.name)
    }
}

/// `www` in zone `example.test.` → `www.example.test.`; `@` → the zone;
/// a name ending in a dot is already absolute.
pub fn absolute(name: &str, zone: &str) -> String {
    let zone = fqdn(zone);
    let name = name.trim();
    if name.is_empty() || name == "@" {
        zone
    } else if name.ends_with('.') {
        name.to_ascii_lowercase()
    } else {
        let n = name.to_ascii_lowercase();
        if format!("{n}.") == zone || n.ends_with(&format!(".{}", zone.trim_end_matches('.'))) {
            format!("{n}.")
        } else {
            format!("{n}.{zone}")
        }
    }
}

pub fn fqdn(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    if n.ends_with('.') { n } else { format!("{n}.") }
}

/// `A www.example.test. 10.0.0.1 → 10.0.0.2, TTL 300 → 60`.
pub fn diff_line(before: Option<&RRset>, after: &RRset) -> String {
    let b_vals = before.map_or("(none)".to_string(), |b| b.values.join(" "));
    let mut line = format!("{} {} {}", after.rtype, after.name, b_vals);
    if before.map(|b| &b.values) != Some(&after.values) {
        line = format!(
            "{} {} {} → {}",
            after.rtype,
            after.name,
            b_vals,
            after.values.join(" ")
        );
    }
    match before {
        Some(b) if b.ttl != after.ttl => line.push_str(&format!(", TTL {} → {}", b.ttl, after.ttl)),
        Some(_) => line.push_str(&format!(", TTL {}", after.ttl)),
        None => line.push_str(&format!(", TTL {} (new)", after.ttl)),
    }
    line
}
