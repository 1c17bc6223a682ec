//! What an install changes: the difference of two package lists, or of a
//! list and pip's `--report` (or uv's `+`/`-` lines) of a dry-run.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// Packages by normalized name (PEP 503: lowercase, runs of `-_.` as `-`).
pub type Installed = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub name: String,
    /// `""`: not installed before.
    pub from: String,
    /// `""`: removed.
    pub to: String,
}

pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// `pip list --format=json` (and `uv pip list --format json`).
pub fn parse_list(json: &str) -> Result<Installed, String> {
    let v: Value =
        serde_json::from_str(json.trim()).map_err(|e| format!("not a package list: {e}"))?;
    let items = v.as_array().ok_or("not a package list")?;
    Ok(items
        .iter()
        .filter_map(|p| {
            Some((
                normalize(p["name"].as_str()?),
                p["version"].as_str()?.to_string(),
            ))
        })
        .collect())
}

/// The snippet's answer: `{"before": {name: version}, "after": {...}}`.
pub fn parse_before_after(json: &str) -> Result<(Installed, Installed), String> {
    let v: Value =
        serde_json::from_str(json.trim()).map_err(|e| format!("not a package list: {e}"))?;
    let read = |key: &str| -> Result<Installed, String> {
        let map = v[key]
            .as_object()
            .ok_or_else(|| format!("no `{key}` package list"))?;
        Ok(map
            .iter()
            .filter_map(|(n, ver)| Some((normalize(n), ver.as_str()?.to_string())))
            .collect())
    };
    Ok((read("before")?, read("after")?))
}

pub fn diff(before: &Installed, after: &Installed) -> Vec<Change> {
    let mut out = Vec::new();
    for (name, to) in after {
        match before.get(name) {
            Some(from) if from == to => {}
            from => out.push(Change {
                name: name.clone(),
                from: from.cloned().unwrap_or_default(),
                to: to.clone(),
            }),
        }
    }
    for (name, from) in before {
        if !after.contains_key(name) {
            out.push(Change {
                name: name.clone(),
                from: from.clone(),
                to: String::new(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// pip's installation report (`--dry-run --report -`): what it would
/// install, against what is installed.
pub fn from_report(before: &Installed, report: &str) -> Result<Vec<Change>, String> {
    let v: Value =
        serde_json::from_str(report.trim()).map_err(|e| format!("not a pip report: {e}"))?;
    let items = v["install"]
        .as_array()
        .ok_or("a pip report without `install`")?;
    let mut out: Vec<Change> = items
        .iter()
        .filter_map(|i| {
            let name = normalize(i["metadata"]["name"].as_str()?);
            let to = i["metadata"]["version"].as_str()?.to_string();
            let from = before.get(&name).cloned().unwrap_or_default();
            (from != to).then_some(Change { name, from, to })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// uv's dry-run lines: ` + name==1.1` and ` - name==1.0`.
pub fn from_uv(text: &str) -> Vec<Change> {
    let mut map: BTreeMap<String, Change> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        let (sign, rest) = match line.split_at_checked(1) {
            Some((s @ ("+" | "-"), r)) => (s, r.trim()),
            _ => continue,
        };
        let Some((name, version)) = rest.split_once("==") else {
            continue;
        };
        let name = normalize(name);
        let c = map.entry(name.clone()).or_insert(Change {
            name,
            from: String::new(),
            to: String::new(),
        });
        let version = version.split_whitespace().next().unwrap_or("").to_string();
        if sign == "+" {
            c.to = version;
        } else {
            c.from = version;
        }
    }
    map.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(pairs: &[(&str, &str)]) -> Installed {
        pairs
            .iter()
            .map(|(n, v)| (normalize(n), v.to_string()))
            .collect()
    }

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize("Django_Rest.Framework"), "django-rest-framework");
        assert_eq!(normalize("a--b"), "a-b");
    }

    #[test]
    fn diffs_lists() {
        let before = list(&[("Django", "5.1"), ("gone", "1"), ("same", "2")]);
        let after = list(&[("django", "5.2"), ("new", "0.1"), ("same", "2")]);
        let names: Vec<(String, String, String)> = diff(&before, &after)
            .into_iter()
            .map(|c| (c.name, c.from, c.to))
            .collect();
        assert_eq!(
            names,
            [
                ("django".into(), "5.1".into(), "5.2".into()),
                ("gone".into(), "1".into(), String::new()),
                ("new".into(), String::new(), "0.1".into()),
            ]
        );
    }

    #[test]
    fn reads_pip_reports_and_uv_lines() {
        let before = list(&[("django", "5.1")]);
        let report = r#"{"version":"1","install":[{"metadata":{"name":"Django","version":"5.2"}},{"metadata":{"name":"asgiref","version":"3.8"}}]}"#;
        let c = from_report(&before, report).unwrap();
        assert_eq!(
            c[1],
            Change {
                name: "django".into(),
                from: "5.1".into(),
                to: "5.2".into()
            }
        );
        assert_eq!(c[0].from, "");
        let c =
            from_uv("Would install 1 package\n - django==5.1\n + django==5.2\n + asgiref==3.8\n");
        assert_eq!(c.len(), 2);
        assert_eq!((c[1].from.as_str(), c[1].to.as_str()), ("5.1", "5.2"));
        assert!(from_report(&before, "garbage").is_err());
    }
}
