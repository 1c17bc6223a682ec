//! prepare, switch, verify, restore: read the zone, compute the change,
//! check the guardrails, log the diff, apply, return what was replaced.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cairn_sdk::prelude::*;
use serde_json::{Value, json};

use crate::StepArgs;
use crate::model::{RRset, absolute, diff_line, fqdn};
use crate::provider;

const DEFAULT_SHARE: f64 = 0.3;
/// octoDNS's MIN_EXISTING_RECORDS: smaller zones have no share threshold.
const MIN_RECORDS_FOR_SHARE: usize = 10;
const DEFAULT_VERIFY: Duration = Duration::from_secs(120);

fn find<'a>(zone: &'a [RRset], name: &str, rtype: &str) -> Option<&'a RRset> {
    zone.iter().find(|r| r.name == name && r.rtype == rtype)
}

fn named(
    a: &StepArgs,
    zone: &[RRset],
) -> Result<Vec<(String, String, Option<RRset>)>, PluginError> {
    if a.record.is_empty() {
        return Err(PluginError::arg(
            "record",
            "name at least one `record name=... type=...`",
        ));
    }
    Ok(a.record
        .iter()
        .map(|r| {
            let name = absolute(&r.name, &a.zone);
            let rtype = r.rtype.to_ascii_uppercase();
            let cur = find(zone, &name, &rtype).cloned();
            (name, rtype, cur)
        })
        .collect())
}

fn log(host: &dyn Host, line: &str, dry: bool) {
    let line = if dry {
        format!("{line} (would change)")
    } else {
        line.to_string()
    };
    host.log(Level::Info, &line, &[]);
}

pub fn show(host: &dyn Host, a: &StepArgs) -> Result<Outputs, PluginError> {
    let p = provider::from_args(host, a)?;
    let zone = p.zone(host)?;
    let sets: Vec<Value> = named(a, &zone)?
        .into_iter()
        .map(|(n, t, cur)| {
            cur.map_or(json!({ "name": n, "type": t, "absent": true }), |c| {
                json!(c)
            })
        })
        .collect();
    Ok(Outputs::new()
        .set("records", sets)
        .set("zone-size", zone.len()))
}

pub fn prepare(host: &dyn Host, a: &StepArgs, dry: bool) -> Result<Outputs, PluginError> {
    let p = provider::from_args(host, a)?;
    let zone = p.zone(host)?;
    let low = a.ttl.unwrap_or(60);
    let mut previous = Vec::new();
    let mut wait = 0u32;
    let mut sent = true;
    for (name, rtype, cur) in named(a, &zone)? {
        let cur = cur.ok_or_else(|| {
            PluginError::arg(
                "record",
                format!("{rtype} {name} does not exist in zone {}", fqdn(&a.zone)),
            )
        })?;
        if cur.ttl <= low {
            continue;
        }
        let new = RRset {
            ttl: low,
            ..cur.clone()
        };
        log(host, &diff_line(Some(&cur), &new), dry);
        sent &= p.replace(host, Some(&cur), &new)?;
        wait = wait.max(cur.ttl);
        previous.push(cur);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(Outputs::new()
        .set("previous", json!(previous))
        .set("changed", previous.len())
        .set("ttl", low)
        // Resolvers that cached a record just before the change keep it for
        // its old TTL: after this many seconds every cache has the low one.
        .set("wait-seconds", wait)
        .set("expired-at", rfc3339(now + u64::from(wait)))
        .set("planned", !sent))
}

pub fn switch(host: &dyn Host, a: &StepArgs, dry: bool) -> Result<Outputs, PluginError> {
    let p = provider::from_args(host, a)?;
    let zone = p.zone(host)?;
    let mut plan: Vec<(Option<RRset>, Option<RRset>)> = Vec::new();
    for ((name, rtype, cur), r) in named(a, &zone)?.into_iter().zip(&a.record) {
        let to = r.to.as_deref().ok_or_else(|| {
            PluginError::arg(
                "record",
                format!("switch needs `to` for {rtype} {name} (an empty `to` deletes it)"),
            )
        })?;
        let values: Vec<String> = to
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        if values.is_empty() {
            if cur.is_some() {
                plan.push((cur, None));
            }
            continue;
        }
        let ttl = r.ttl.or(cur.as_ref().map(|c| c.ttl)).unwrap_or(300);
        let new = RRset::new(&name, &rtype, ttl, values);
        if cur.as_ref() != Some(&new) {
            plan.push((cur, Some(new)));
        }
    }
    guard(a, &zone, &plan)?;
    let mut sent = true;
    let mut previous = Vec::new();
    for (cur, new) in &plan {
        match (cur, new) {
            (_, Some(n)) => {
                log(host, &diff_line(cur.as_ref(), n), dry);
                sent &= p.replace(host, cur.as_ref(), n)?;
            }
            (Some(c), None) => {
                log(
                    host,
                    &format!("{} {} {} → (deleted)", c.rtype, c.name, c.values.join(" ")),
                    dry,
                );
                sent &= p.delete(host, c)?;
            }
            (None, None) => {}
        }
        previous.push(match (cur, new) {
            (Some(c), _) => json!(c),
            (None, Some(n)) => json!({ "name": n.name, "type": n.rtype, "absent": true }),
            (None, None) => continue,
        });
    }
    Ok(Outputs::new()
        .set("previous", json!(previous))
        .set("changed", plan.len())
        .set("zone-size", zone.len())
        .set("planned", !sent))
}

/// octoDNS's thresholds: deletes need permission; in a zone of at least
/// [`MIN_RECORDS_FOR_SHARE`] record sets, changing more than the share does too.
fn guard(
    a: &StepArgs,
    zone: &[RRset],
    plan: &[(Option<RRset>, Option<RRset>)],
) -> Result<(), PluginError> {
    let deletes: Vec<String> = plan
        .iter()
        .filter(|(_, n)| n.is_none())
        .filter_map(|(c, _)| c.as_ref().map(RRset::key))
        .collect();
    if !deletes.is_empty() && !a.allow_delete {
        return Err(PluginError::new(format!(
            "refused: this would delete {}; say `allow-delete #true` on the step to do it",
            deletes.join(", ")
        )));
    }
    let share = a.max_change_share.unwrap_or(DEFAULT_SHARE);
    if zone.len() >= MIN_RECORDS_FOR_SHARE {
        let changed = plan.iter().filter(|(c, _)| c.is_some()).count();
        if changed as f64 > share * zone.len() as f64 {
            return Err(PluginError::new(format!(
                "refused: this changes {changed} of the {} record sets of zone {} ({:.0} %), more than the {:.0} % allowed; raise `max-change-share` on the step if that is meant",
                zone.len(),
                fqdn(&a.zone),
                100.0 * changed as f64 / zone.len() as f64,
                100.0 * share
            )));
        }
    }
    Ok(())
}

/// The `previous` output of switch or prepare: an array, or its JSON text.
pub(crate) fn previous_of(a: &StepArgs) -> Result<Vec<Value>, PluginError> {
    let v = a.previous.clone().ok_or_else(|| {
        PluginError::arg(
            "previous",
            "restore needs `previous`: the `previous` output of the switch or prepare to undo",
        )
    })?;
    let v = match v {
        Value::String(s) => serde_json::from_str(&s).map_err(|e| {
            PluginError::arg(
                "previous",
                format!("not the JSON of a `previous` output: {e}"),
            )
        })?,
        v => v,
    };
    v.as_array()
        .cloned()
        .ok_or_else(|| PluginError::arg("previous", "expected a list of record sets"))
}

pub fn restore(
    host: &dyn Host,
    a: &StepArgs,
    dry: bool,
    ttl_only: bool,
) -> Result<Outputs, PluginError> {
    let previous = match previous_of(a) {
        Ok(p) => p,
        // A dry-run's undo: `previous` is what the switch returns when it
        // runs, not known yet; the zone is not read either.
        Err(_) if dry && matches!(&a.previous, Some(Value::String(_))) => {
            host.log(
                Level::Info,
                "would put back the record sets in `previous` (known only when the step that changes them runs)",
                &[],
            );
            return Ok(Outputs::new().set("restored", 0).set("planned", true));
        }
        Err(e) => return Err(e),
    };
    let p = provider::from_args(host, a)?;
    let zone = p.zone(host)?;
    let mut sent = true;
    let mut restored = 0;
    for item in previous {
        let name = fqdn(item["name"].as_str().unwrap_or(""));
        let rtype = item["type"].as_str().unwrap_or("").to_ascii_uppercase();
        let cur = find(&zone, &name, &rtype);
        if item["absent"] == true {
            if let Some(c) = cur {
                log(
                    host,
                    &format!(
                        "{} {} {} → (deleted: it did not exist before)",
                        c.rtype,
                        c.name,
                        c.values.join(" ")
                    ),
                    dry,
                );
                sent &= p.delete(host, c)?;
                restored += 1;
            }
            continue;
        }
        let before: RRset = serde_json::from_value(item.clone()).map_err(|e| {
            PluginError::arg(
                "previous",
                format!("a record set in `previous` is not one: {e}"),
            )
        })?;
        let target = match (ttl_only, cur) {
            (true, Some(c)) => RRset {
                ttl: before.ttl,
                ..c.clone()
            },
            (true, None) => continue,
            (false, _) => before,
        };
        if cur != Some(&target) {
            log(host, &diff_line(cur, &target), dry);
            sent &= p.replace(host, cur, &target)?;
            restored += 1;
        }
    }
    Ok(Outputs::new()
        .set("restored", restored)
        .set("planned", !sent))
}

pub fn verify(host: &dyn Host, a: &StepArgs, dry: bool) -> Result<Outputs, PluginError> {
    if a.servers.is_empty() {
        return Err(PluginError::arg(
            "servers",
            "verify needs `servers`: the zone's authoritative servers, IP[:PORT]",
        ));
    }
    let want: Vec<(String, String, Vec<String>)> = a
        .record
        .iter()
        .map(|r| {
            let mut v: Vec<String> =
                r.to.as_deref()
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
                    .collect();
            v.sort();
            (absolute(&r.name, &a.zone), r.rtype.to_ascii_uppercase(), v)
        })
        .collect();
    if want.is_empty() {
        return Err(PluginError::arg(
            "record",
            "name at least one `record name=... type=... to=...`",
        ));
    }
    let limit = a.timeout.map_or(DEFAULT_VERIFY, Into::into);
    let started = Instant::now();
    loop {
        let mut pending = Vec::new();
        for server in &a.servers {
            for (name, rtype, values) in &want {
                let ans = host.dns(&DnsQuery::new(name, rtype, server))?;
                if ans.planned {
                    return Ok(Outputs::new().set("planned", true));
                }
                let mut got: Vec<String> = ans
                    .values(rtype)
                    .into_iter()
                    .map(|s| s.to_string())
                    .collect();
                got.sort();
                if &got != values {
                    pending.push(format!(
                        "{server} answers {rtype} {name} {}",
                        if got.is_empty() {
                            ans.rcode.clone()
                        } else {
                            got.join(" ")
                        }
                    ));
                }
            }
        }
        if pending.is_empty() {
            return Ok(Outputs::new()
                .set("servers", a.servers.len())
                .set(
                    "waited-ms",
                    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                )
                .set("planned", false));
        }
        if dry {
            for p in &pending {
                host.log(Level::Info, &format!("not yet: {p}"), &[]);
            }
            return Ok(Outputs::new()
                .set("pending", json!(pending))
                .set("planned", true));
        }
        if started.elapsed() >= limit {
            return Err(PluginError::new(format!(
                "after {}s not every authoritative server answers the new values: {}",
                limit.as_secs(),
                pending.join("; ")
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `2026-12-03T10:00:00Z` of a Unix time (days to civil date after Howard
/// Hinnant's algorithm).
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
pub(crate) fn rfc3339_for_test(secs: u64) -> String {
    rfc3339(secs)
}
