//! Plugins' descriptions, kept beside their compiled code in the cache.
//!
//! A plugin's `describe` depends on nothing but its component, so its answer
//! is kept under the component's digest and the next run reads it instead of
//! instantiating the plugin to ask again (an instance, a call and a store
//! per plugin, per run). The file has the trust of the
//! compiled components beside it: cairn's own state directory. One that
//! cannot be read, or that an older or newer cairn wrote in another shape,
//! is ignored and written again.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{ActionInfo, Capability, Description, Effect};

/// The shape of the file; another one is not read.
const FORMAT: u64 = 1;

fn path(dir: &Path, digest: &str) -> PathBuf {
    dir.join(format!("{digest}.description.json"))
}

/// The description kept for the component of `digest`, if there is one
/// this cairn can read.
pub fn load(dir: &Path, digest: &str) -> Option<Description> {
    let text = std::fs::read(path(dir, digest)).ok()?;
    let v: Value = serde_json::from_slice(&text).ok()?;
    if v.get("format")?.as_u64()? != FORMAT || v.get("digest")?.as_str()? != digest {
        return None;
    }
    from_json(v.get("description")?)
}

/// Keeps `d` for the component of `digest`; a failure only costs the next
/// run a `describe`.
pub fn store(dir: &Path, digest: &str, d: &Description) {
    let text = json!({"format": FORMAT, "digest": digest, "description": to_json(d)}).to_string();
    let path = path(dir, digest);
    if let Err(e) = super::cache::write_atomically(dir, &path, text.as_bytes()) {
        tracing::debug!(path = %path.display(), "cannot keep the plugin's description: {e}");
    }
}

fn to_json(d: &Description) -> Value {
    json!({
        "name": d.name,
        "version": d.version,
        "summary": d.summary,
        "actions": d.actions.iter().map(|a| json!({
            "name": a.name,
            "summary": a.summary,
            "effect": match a.effect { Effect::Read => "read", Effect::Write => "write" },
        })).collect::<Vec<_>>(),
        "default_action": d.default_action,
        "args_schema": d.args_schema,
        "capabilities": d.capabilities.iter().map(|c| json!({
            "name": c.name,
            "values": c.values,
        })).collect::<Vec<_>>(),
    })
}

fn from_json(v: &Value) -> Option<Description> {
    let s = |v: &Value, k: &str| v.get(k)?.as_str().map(str::to_string);
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    let actions = v
        .get("actions")?
        .as_array()?
        .iter()
        .map(|a| {
            Some(ActionInfo {
                name: s(a, "name")?,
                summary: s(a, "summary")?,
                effect: match a.get("effect")?.as_str()? {
                    "read" => Effect::Read,
                    "write" => Effect::Write,
                    _ => return None,
                },
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let capabilities = v
        .get("capabilities")?
        .as_array()?
        .iter()
        .map(|c| {
            Some(Capability {
                name: s(c, "name")?,
                values: strings(c.get("values")?)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let default_action = match v.get("default_action")? {
        Value::Null => None,
        other => Some(other.as_str()?.to_string()),
    };
    Some(Description {
        name: s(v, "name")?,
        version: s(v, "version")?,
        summary: s(v, "summary")?,
        actions,
        default_action,
        args_schema: s(v, "args_schema")?,
        capabilities,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Description {
        Description {
            name: "p".into(),
            version: "1.2.3".into(),
            summary: "a \"plugin\"\n".into(),
            actions: vec![
                ActionInfo {
                    name: "look".into(),
                    summary: "reads".into(),
                    effect: Effect::Read,
                },
                ActionInfo {
                    name: "change".into(),
                    summary: "writes".into(),
                    effect: Effect::Write,
                },
            ],
            default_action: Some("look".into()),
            args_schema: r#"{"actions":{"look":{"type":"object"}}}"#.into(),
            capabilities: vec![Capability {
                name: "exec".into(),
                values: vec!["pg_dump".into(), "*".into()],
            }],
        }
    }

    fn same(a: &Description, b: &Description) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn a_kept_description_reads_back_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let mut none = sample();
        none.default_action = None;
        for d in [sample(), none] {
            store(dir.path(), "abc", &d);
            assert!(same(&load(dir.path(), "abc").unwrap(), &d));
        }
        assert!(load(dir.path(), "other").is_none());
    }

    #[test]
    fn a_file_of_another_shape_or_digest_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), "abc", &sample());
        let file = path(dir.path(), "abc");
        let good: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let mut variants = Vec::new();
        for (k, v) in [
            ("format", json!(FORMAT + 1)),
            ("digest", json!("def")),
            ("description", json!({"name": "p"})),
        ] {
            let mut bad = good.clone();
            bad[k] = v;
            variants.push(bad.to_string());
        }
        let mut bad_effect = good.clone();
        bad_effect["description"]["actions"][0]["effect"] = json!("maybe");
        variants.push(bad_effect.to_string());
        variants.push("{not json".into());
        for text in variants {
            std::fs::write(&file, &text).unwrap();
            assert!(load(dir.path(), "abc").is_none(), "{text}");
        }
    }
}
