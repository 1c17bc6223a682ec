//! `compare`: does the restored database hold what was backed up?
//!
//! The authority is the backup's manifest: `backup` counts the rows of
//! every table in the snapshot it dumps, so the restored database must have
//! exactly those counts. The live database keeps changing (sessions, logs),
//! so it is only an extra check: each table may differ from it by the
//! `tolerance` (rows, `N`, or percent of the larger count, `N%`; 0 by
//! default), and `ignore-tables` are not compared with it at all. A missing
//! or extra table is always a difference.
//!
//! An archive whose manifest has no row counts (made before they were
//! recorded, or a dump made before cairn) is compared with the live
//! database only, exactly (but for `ignore-tables`), as before; the check
//! says so.

use std::collections::BTreeMap;

use cairn_sdk::prelude::*;
use serde_json::json;

use crate::common::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CompareArgs {
    /// The restored database.
    url: String,
    /// Another database than the URL's.
    database: Option<String>,
    password_secret: Option<String>,
    /// The archive it was restored from: its manifest's row counts.
    storage: Option<String>,
    prefix: Option<String>,
    name: Option<String>,
    key: Option<String>,
    /// The live database it was backed up from.
    source_url: Option<String>,
    source_password_secret: Option<String>,
    /// Tables not compared with the live database: `schema.table`, or a
    /// bare name for that table in any schema; a list, or one string
    /// separated by commas or spaces.
    #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<String>")]
    ignore_tables: Vec<String>,
    /// How far a table may be from the live database: `N` rows or `N%`.
    #[schemars(with = "Option<ToleranceText>")]
    tolerance: Option<serde_json::Value>,
}

/// The schema of `tolerance`: a number of rows, or a string (`"5%"`).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ToleranceText {
    Rows(u64),
    Text(String),
}

/// The allowed difference from the live database.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    Rows(u64),
    Percent(f64),
}

impl Tolerance {
    pub fn parse(v: Option<&serde_json::Value>) -> Result<Self, PluginError> {
        let bad = || {
            PluginError::arg(
                "tolerance",
                "a number of rows (`100`) or a percentage (`5%`)",
            )
        };
        let text = match v {
            None | Some(serde_json::Value::Null) => return Ok(Tolerance::Rows(0)),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) => s.trim().to_string(),
            Some(_) => return Err(bad()),
        };
        if text.is_empty() {
            return Ok(Tolerance::Rows(0));
        }
        match text.strip_suffix('%') {
            Some(p) => match p.trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Ok(Tolerance::Percent(p)),
                _ => Err(bad()),
            },
            None => text.parse().map(Tolerance::Rows).map_err(|_| bad()),
        }
    }

    /// Whether `a` and `b` are within it.
    pub fn allows(self, a: u64, b: u64) -> bool {
        let diff = a.abs_diff(b);
        match self {
            Tolerance::Rows(n) => diff <= n,
            Tolerance::Percent(p) => (diff as f64) <= a.max(b) as f64 * p / 100.0,
        }
    }

    fn show(self) -> String {
        match self {
            Tolerance::Rows(n) => format!("{n} rows"),
            Tolerance::Percent(p) => format!("{p}%"),
        }
    }
}

/// Whether `table` (`schema.table`) is one of `ignored`.
pub fn is_ignored(table: &str, ignored: &[String]) -> bool {
    let bare = table.rsplit_once('.').map_or(table, |(_, t)| t);
    ignored.iter().any(|i| i == table || i == bare)
}

/// The tables where `got` and `want` differ beyond `tolerance`, as lines,
/// and those within it (but not equal).
pub fn differences(
    got: &BTreeMap<String, u64>,
    want: &BTreeMap<String, u64>,
    tolerance: Tolerance,
    ignored: &[String],
    reference: &str,
) -> (Vec<String>, BTreeMap<String, (u64, u64)>) {
    let mut over = Vec::new();
    let mut within = BTreeMap::new();
    let mut tables: Vec<&String> = want.keys().chain(got.keys()).collect();
    tables.sort();
    tables.dedup();
    for table in tables {
        if is_ignored(table, ignored) {
            continue;
        }
        let show = |v: Option<&u64>| v.map_or("missing".to_string(), u64::to_string);
        match (want.get(table), got.get(table)) {
            (Some(w), Some(g)) if w == g => {}
            (Some(w), Some(g)) if tolerance.allows(*w, *g) => {
                within.insert(table.clone(), (*w, *g));
            }
            (w, g) => over.push(format!(
                "{table}: {} {reference}, {} restored",
                show(w),
                show(g)
            )),
        }
    }
    (over, within)
}

fn row_counts(
    host: &dyn Host,
    url: &str,
    secret: Option<&str>,
) -> Result<(String, BTreeMap<String, u64>), PluginError> {
    let (cmd, shown) = pg_command(host, "psql", url, secret.filter(|s| !s.is_empty()))?;
    let cmd = cmd
        .args([
            "--no-password",
            "--no-psqlrc",
            "-v",
            "ON_ERROR_STOP=1",
            "-tA",
            "-f",
            "-",
        ])
        .stdin(COUNT_ROWS)
        .effect(Effect::Read);
    let done = run_ok(host, &cmd, &format!("counting rows in {shown}"))?;
    Ok((shown, parse_counts(&done.stdout_text())))
}

/// Rows per table, `schema.table` → count.
type Counts = BTreeMap<String, u64>;

/// The row counts of the archive's manifest: `None` when no archive is
/// named, or its manifest has none (`Some(key)` says which archive).
fn manifest_counts(
    host: &dyn Host,
    a: &CompareArgs,
) -> Result<(Option<String>, Option<Counts>), PluginError> {
    let storage = a.storage.as_deref().unwrap_or("");
    let key = a.key.as_deref().filter(|k| !k.is_empty());
    let name = a.name.as_deref().filter(|n| !n.is_empty());
    if storage.is_empty() || (key.is_none() && name.is_none()) {
        return Ok((None, None));
    }
    if key.is_some_and(|k| crate::legacy::Format::of(k).is_some()) {
        // A dump made before cairn: no manifest at all.
        return Ok((key.map(str::to_string), None));
    }
    let prefix = a.prefix.as_deref().unwrap_or("backups/");
    let (key, m) = pick(host, storage, prefix, "postgres", name, key)?;
    Ok((Some(key), m.row_counts))
}

pub fn compare(host: &dyn Host, a: CompareArgs) -> Result<Outputs, PluginError> {
    let tolerance = Tolerance::parse(a.tolerance.as_ref())?;
    let ignored: Vec<String> = a
        .ignore_tables
        .iter()
        .flat_map(|s| s.split([',', ' ', '\n', '\t']))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let url = match a.database.as_deref() {
        Some(db) if !db.is_empty() => with_database(&a.url, db),
        _ => a.url.clone(),
    };
    let source_url = a.source_url.clone().filter(|s| !s.is_empty());
    let (key, expected) = manifest_counts(host, &a)?;
    if expected.is_none() && source_url.is_none() {
        return Err(PluginError::new(match key {
            Some(k) => format!(
                "backup `{k}` has no row counts in its manifest and no `source-url` is given: nothing to compare with"
            ),
            None => "give the archive (`storage` and `key` or `name`) or `source-url`: nothing to compare with".into(),
        }));
    }
    let (restored_at, restored) = row_counts(host, &url, a.password_secret.as_deref())?;
    let mut notes = Vec::new();
    if let Some(expected) = &expected {
        let k = key.as_deref().unwrap_or_default();
        if expected.is_empty() {
            return Err(PluginError::new(format!(
                "backup `{k}` counted no tables: nothing to compare"
            )));
        }
        let (over, _) = differences(
            &restored,
            expected,
            Tolerance::Rows(0),
            &[],
            "in the backup",
        );
        if !over.is_empty() {
            return Err(PluginError::new(format!(
                "{restored_at} differs from backup `{k}` (rows counted in the dump's snapshot):\n  {}",
                over.join("\n  ")
            )));
        }
        notes.push(format!("exactly as counted in backup {k}"));
    }
    let mut drift = BTreeMap::new();
    if let Some(source_url) = &source_url {
        let (source_at, live) = row_counts(host, source_url, a.source_password_secret.as_deref())?;
        if live.is_empty() {
            return Err(PluginError::new(format!(
                "{source_at} has no tables to compare"
            )));
        }
        // Without the manifest's counts the live database is the only
        // reference: compared exactly, as before the counts existed.
        let tol = if expected.is_some() {
            tolerance
        } else {
            Tolerance::Rows(0)
        };
        let (over, within) = differences(&restored, &live, tol, &ignored, "live");
        if !over.is_empty() {
            return Err(PluginError::new(format!(
                "{restored_at} differs from the live database {source_at} beyond the tolerance ({}){}:\n  {}",
                tol.show(),
                if ignored.is_empty() {
                    String::new()
                } else {
                    format!(", `ignore-tables` {}", ignored.join(", "))
                },
                over.join("\n  ")
            )));
        }
        for (table, (l, r)) in &within {
            host.info(&format!(
                "{table}: {l} live, {r} restored (within the tolerance of {})",
                tol.show()
            ));
        }
        drift = within;
        let mut live_note = if expected.is_some() {
            format!("live database within {}", tol.show())
        } else {
            "as in the live database (the backup's manifest has no row counts: compared with the live database, exactly)".to_string()
        };
        if !ignored.is_empty() {
            live_note.push_str(&format!(", not comparing {}", ignored.join(", ")));
        }
        notes.push(live_note);
    }
    let rows: u64 = restored.values().sum();
    let summary = format!(
        "{} tables, {rows} rows, {}",
        restored.len(),
        notes.join("; ")
    );
    host.info(&summary);
    Ok(Outputs::new()
        .set("summary", summary.clone())
        .set("stdout", summary)
        .set("tables", restored.len())
        .set("rows", rows)
        .set("counts", json!(restored))
        .set(
            "against",
            if expected.is_some() {
                "manifest"
            } else {
                "live"
            },
        )
        .set("ignored", json!(ignored))
        .set(
            "live-drift",
            json!(
                drift
                    .iter()
                    .map(|(t, (l, r))| (t.clone(), json!({ "live": l, "restored": r })))
                    .collect::<serde_json::Map<_, _>>()
            ),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances() {
        assert_eq!(Tolerance::parse(None).unwrap(), Tolerance::Rows(0));
        assert_eq!(
            Tolerance::parse(Some(&json!("5%"))).unwrap(),
            Tolerance::Percent(5.0)
        );
        assert_eq!(
            Tolerance::parse(Some(&json!(100))).unwrap(),
            Tolerance::Rows(100)
        );
        assert!(Tolerance::parse(Some(&json!("lots"))).is_err());
        assert!(Tolerance::parse(Some(&json!("200%"))).is_err());
        assert!(Tolerance::Percent(10.0).allows(100, 110));
        assert!(!Tolerance::Percent(10.0).allows(100, 112));
        assert!(!Tolerance::Percent(10.0).allows(0, 3));
        assert!(Tolerance::Rows(3).allows(0, 3));
    }

    #[test]
    fn ignored_tables_by_full_or_bare_name() {
        let ig = vec!["django_session".to_string(), "audit.log".to_string()];
        assert!(is_ignored("public.django_session", &ig));
        assert!(is_ignored("audit.log", &ig));
        assert!(!is_ignored("public.log", &ig));
    }

    #[test]
    fn a_missing_table_is_always_a_difference() {
        let live: BTreeMap<String, u64> = [("public.a".to_string(), 10)].into();
        let restored = BTreeMap::new();
        let (over, _) = differences(&restored, &live, Tolerance::Percent(100.0), &[], "live");
        assert_eq!(over, ["public.a: 10 live, missing restored"]);
    }
}
