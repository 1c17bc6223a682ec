//! Saved plans: `cairn plan NAME --out FILE` keeps a dry-run's reads, the
//! runbook's and plugins' digests, the params (masked) and the limit
//! counts; `cairn apply FILE` reads again, compares, and runs that plan
//! only when nothing drifted. Documented in docs/runbook-language.md
//! ("Saved plans"); the choice of what is compared in docs/decisions.md.

mod diff;
mod reads;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use cairn_lang::Runbook;
use serde_json::Value;

pub use diff::{differences, digests};
pub use reads::{Recorder, StepRead, flatten};

use super::Resolved;
use super::guard::LimitCount;
use crate::redact::Redactor;

/// The format a plan file declares; another is refused.
pub const FORMAT: &str = "cairn-plan/1";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PlanFile {
    pub format: String,
    pub cairn: String,
    pub created: String,
    /// The dry-run that made the plan.
    pub run_id: String,
    pub runbook: RunbookDigest,
    /// Every plugin the runbook's steps use: name → version and digest.
    pub plugins: BTreeMap<String, PluginDigest>,
    /// The params as the run bound them; secrets and passwords masked.
    pub params: serde_json::Map<String, Value>,
    /// Params whose value is masked: `cairn apply` needs them again.
    #[serde(default)]
    pub masked: Vec<String>,
    pub limits: Vec<LimitCount>,
    pub steps: Vec<StepRead>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunbookDigest {
    pub name: String,
    pub version: u64,
    pub file: String,
    pub sha256: String,
    /// Files brought in with `use`: name → sha256.
    #[serde(default)]
    pub includes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PluginDigest {
    pub version: String,
    pub digest: String,
}

pub fn runbook_digest(rb: &Runbook) -> RunbookDigest {
    RunbookDigest {
        name: rb.name.clone(),
        version: rb.version,
        file: rb.file.name.clone(),
        sha256: rb.sha256.clone(),
        includes: rb
            .includes
            .iter()
            .map(|i| (i.file.name.clone(), i.sha256.clone()))
            .collect(),
    }
}

pub fn plugin_digests(plugins: &HashMap<String, Resolved>) -> BTreeMap<String, PluginDigest> {
    plugins
        .values()
        .map(|r| {
            (
                r.plugin.name.clone(),
                PluginDigest {
                    version: r.plugin.version.to_string(),
                    digest: r.plugin.digest.clone(),
                },
            )
        })
        .collect()
}

/// The paths each step's action marks volatile.
pub fn volatile_of(plugins: &HashMap<String, Resolved>) -> impl Fn(&str) -> Vec<String> + '_ {
    move |step: &str| {
        let Some(r) = plugins.get(step) else {
            return Vec::new();
        };
        crate::schema::for_action(&r.plugin.description.args_schema, &r.action)
            .and_then(|s| s.get("x-volatile-outputs").cloned())
            .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
            .unwrap_or_default()
    }
}

/// Params as a plan keeps them: every secret value and URL password
/// masked; the names of the masked ones.
pub fn masked_params(
    params: &[(String, String)],
    redactor: &Redactor,
) -> (serde_json::Map<String, Value>, Vec<String>) {
    let mut out = serde_json::Map::new();
    let mut masked = Vec::new();
    for (k, v) in params {
        let m = mask(v, redactor);
        if &m != v {
            masked.push(k.clone());
        }
        out.insert(k.clone(), Value::String(m));
    }
    (out, masked)
}

/// One value masked as a plan holds it.
pub fn mask(value: &str, redactor: &Redactor) -> String {
    crate::redact::mask_passwords(&redactor.redact(value)).into_owned()
}

/// A value as a plan holds it: secret values and URL passwords masked.
pub fn masked_json(v: &Value, redactor: &Redactor) -> Value {
    let v = redactor.redact_json(v);
    let text = v.to_string();
    let masked = crate::redact::mask_passwords(&text);
    if masked == text {
        return v;
    }
    serde_json::from_str(&masked).unwrap_or(v)
}

/// Writes the plan masked: no secret value reaches the file.
pub fn write(path: &Path, plan: &PlanFile, redactor: &Redactor) -> std::io::Result<()> {
    let v = serde_json::to_value(plan).map_err(std::io::Error::other)?;
    let text =
        serde_json::to_string_pretty(&masked_json(&v, redactor)).map_err(std::io::Error::other)?;
    std::fs::write(path, format!("{text}\n"))
}

/// Reads a plan file; the error says what is wrong with it.
pub fn read(path: &Path) -> Result<PlanFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the plan `{}`: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("`{}` is not a plan: {e}", path.display()))?;
    let format = v.get("format").and_then(Value::as_str).unwrap_or_default();
    if format != FORMAT {
        return Err(format!(
            "`{}` is not a plan cairn {} reads (format `{format}`, expected `{FORMAT}`)",
            path.display(),
            crate::VERSION
        ));
    }
    serde_json::from_value(v).map_err(|e| format!("`{}` is not a plan: {e}", path.display()))
}
