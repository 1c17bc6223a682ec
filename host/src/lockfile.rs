//! `cairn.lock`: each plugin a project's runbooks use, pinned by sha256 with
//! the capabilities it was granted. A component whose digest or granted
//! capabilities changed is refused until `cairn lock --update`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::capabilities::Grants;
use crate::runtime::LoadedPlugin;

pub const FILE: &str = "cairn.lock";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub name: String,
    pub version: String,
    /// `stock`, or the component's path relative to the project root.
    pub source: String,
    pub sha256: String,
    /// Effective grants: capability → values.
    pub capabilities: BTreeMap<String, Vec<String>>,
    /// Each granted `exec` program (not `*`) and the file it resolved to on
    /// this machine's `PATH`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub programs: BTreeMap<String, ProgramPin>,
}

/// Where a granted program was found (`path` is `null` when it was not
/// found on this machine), and, in a strict lock, the file's sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramPin {
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockFile {
    pub version: u32,
    /// `cairn lock --strict`: the sha256 of each granted program is pinned
    /// too, and checked before every run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
    pub plugins: Vec<Pin>,
}

impl LockFile {
    pub fn path(root: &Path) -> PathBuf {
        root.join(FILE)
    }

    /// The project's lock file, if it has one.
    pub fn read(root: &Path) -> Result<Option<Self>, String> {
        let path = Self::path(root);
        // A regular file of at most 4 MiB: a FIFO must not hang cairn.
        match cairn_lang::limits::read_text_bounded(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("{FILE}:{}:{}: {e}", e.line(), e.column())),
            Err(cairn_lang::limits::ReadError::Io(e))
                if e.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(None)
            }
            Err(e) => Err(format!("cannot read {FILE}: {e}")),
        }
    }

    pub fn write(&self, root: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).expect("lock json");
        text.push('\n');
        let tmp = root.join(format!(".{FILE}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, Self::path(root))
    }

    pub fn find(&self, name: &str, version: &str) -> Option<&Pin> {
        self.plugins
            .iter()
            .find(|p| p.name == name && p.version == version)
    }

    /// Adds or replaces a pin, keeping the file sorted; the programs'
    /// digests are kept in a strict lock only.
    pub fn upsert(&mut self, mut pin: Pin) {
        if !self.strict {
            for p in pin.programs.values_mut() {
                p.sha256 = None;
            }
        }
        self.plugins
            .retain(|p| !(p.name == pin.name && p.version == pin.version));
        self.plugins.push(pin);
        self.plugins
            .sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    }
}

/// The pin a plugin would get now.
pub fn pin_of(plugin: &LoadedPlugin, grants: &Grants, root: &Path) -> Pin {
    let source = match &plugin.source {
        crate::runtime::PluginSource::Stock(_) => "stock".to_string(),
        crate::runtime::PluginSource::File(p) => {
            p.strip_prefix(root).unwrap_or(p).display().to_string()
        }
    };
    Pin {
        name: plugin.name.clone(),
        version: plugin.version.to_string(),
        source,
        sha256: plugin.digest.clone(),
        capabilities: grants
            .iter()
            .map(|(k, v)| (k.clone(), v.values()))
            .collect(),
        programs: grants
            .programs()
            .map(|(name, found)| {
                let file = found.as_ref().map(|f| &f.file);
                let pin = ProgramPin {
                    path: file.map(|f| f.display().to_string()),
                    sha256: file.and_then(|f| crate::capabilities::programs::sha256_of(f).ok()),
                };
                (name.clone(), pin)
            })
            .collect(),
    }
}

/// Why a plugin does not match its pin, or `None` when it does.
pub fn mismatch(pin: Option<&Pin>, now: &Pin) -> Option<String> {
    let Some(pin) = pin else {
        return Some(format!(
            "plugin `{}` {} is not pinned in {FILE}",
            now.name, now.version
        ));
    };
    if pin.sha256 != now.sha256 {
        return Some(format!(
            "plugin `{}` {} changed since {FILE} pinned it (sha256 {} → {})",
            now.name,
            now.version,
            &pin.sha256[..pin.sha256.len().min(12)],
            &now.sha256[..12]
        ));
    }
    if pin.capabilities != now.capabilities {
        return Some(format!(
            "plugin `{}` {} is granted other capabilities than {FILE} records ({} → {})",
            now.name,
            now.version,
            describe(&pin.capabilities),
            describe(&now.capabilities)
        ));
    }
    for (name, found) in &now.programs {
        let shown = |p: &Option<String>| p.clone().unwrap_or_else(|| "nothing".into());
        match pin.programs.get(name) {
            None => {
                return Some(format!(
                    "program `{name}` of plugin `{}` {} is not pinned in {FILE}",
                    now.name, now.version
                ));
            }
            Some(old) if old.path != found.path => {
                return Some(format!(
                    "program `{name}` of plugin `{}` {} resolves to {} now, {FILE} has {}",
                    now.name,
                    now.version,
                    shown(&found.path),
                    shown(&old.path)
                ));
            }
            Some(ProgramPin {
                sha256: Some(sha),
                path,
            }) if found.sha256.as_ref() != Some(sha) => {
                return Some(format!(
                    "program `{name}` ({}) of plugin `{}` {} changed since {FILE} pinned it (sha256 {} → {})",
                    shown(path),
                    now.name,
                    now.version,
                    &sha[..sha.len().min(12)],
                    found
                        .sha256
                        .as_deref()
                        .map_or("none", |s| &s[..s.len().min(12)])
                ));
            }
            Some(_) => {}
        }
    }
    None
}

fn describe(caps: &BTreeMap<String, Vec<String>>) -> String {
    if caps.is_empty() {
        return "none".into();
    }
    caps.iter()
        .map(|(k, v)| format!("{k}={}", v.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(sha: &str, caps: &[(&str, &[&str])]) -> Pin {
        Pin {
            name: "backup".into(),
            version: "1.0.0".into(),
            source: "plugins/backup.wasm".into(),
            sha256: sha.repeat(64 / sha.len()),
            capabilities: caps
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
            programs: BTreeMap::new(),
        }
    }

    #[test]
    fn a_program_that_resolves_elsewhere_or_changed_is_a_mismatch() {
        let program = |path: &str, sha: Option<&str>| ProgramPin {
            path: Some(path.into()),
            sha256: sha.map(str::to_string),
        };
        let mut locked = pin("a", &[("exec", &["echo"])]);
        let mut now = locked.clone();
        now.programs
            .insert("echo".into(), program("/usr/bin/echo", Some("11")));
        assert!(
            mismatch(Some(&locked), &now)
                .unwrap()
                .contains("is not pinned")
        );
        locked
            .programs
            .insert("echo".into(), program("/usr/bin/echo", None));
        assert_eq!(mismatch(Some(&locked), &now), None, "no digest pinned");
        locked
            .programs
            .insert("echo".into(), program("/usr/bin/echo", Some("11")));
        assert_eq!(mismatch(Some(&locked), &now), None);
        locked
            .programs
            .insert("echo".into(), program("/usr/bin/echo", Some("22")));
        assert!(
            mismatch(Some(&locked), &now)
                .unwrap()
                .contains("changed since")
        );
        locked
            .programs
            .insert("echo".into(), program("/tmp/echo", None));
        let why = mismatch(Some(&locked), &now).unwrap();
        assert!(
            why.contains("resolves to /usr/bin/echo now, cairn.lock has /tmp/echo"),
            "{why}"
        );
    }

    #[test]
    fn digest_and_capability_changes_are_mismatches() {
        let a = pin("a", &[("exec", &["pg_dump"])]);
        assert_eq!(mismatch(Some(&a), &a), None);
        let b = pin("b", &[("exec", &["pg_dump"])]);
        assert!(mismatch(Some(&a), &b).unwrap().contains("changed since"));
        let c = pin("a", &[("exec", &["pg_dump", "rm"])]);
        assert!(
            mismatch(Some(&a), &c)
                .unwrap()
                .contains("other capabilities")
        );
        assert!(mismatch(None, &a).unwrap().contains("not pinned"));
    }
}
