//! Which plugin and action each step uses, with its effective grants,
//! resolved once before a run and checked against `cairn.lock`.

use std::collections::HashMap;
use std::sync::Arc;

use cairn_lang::{Runbook, Step};

use crate::capabilities::Grants;
use crate::error::{Error, Result};
use crate::events::{Event, Phase};
use crate::project::Workspace;
use crate::runtime::LoadedPlugin;

/// A step's plugin, resolved once before the run.
pub struct Resolved {
    pub plugin: Arc<LoadedPlugin>,
    pub action: String,
    pub grants: Grants,
}

/// Every step of a runbook, in every list (`undo` blocks included).
pub fn all_steps(rb: &Runbook) -> Vec<&Step> {
    rb.step_places().into_iter().map(|p| p.step).collect()
}

/// Resolves every step's plugin and grants; a project plugin that needs
/// capabilities nobody granted is refused here, before anything runs.
pub(crate) fn resolve_plugins(ws: &Workspace, rb: &Runbook) -> Result<HashMap<String, Resolved>> {
    let mut out = HashMap::new();
    for step in all_steps(rb) {
        let plugin = ws
            .catalog
            .resolve(&step.plugin, step.version_req.as_ref())
            .map_err(|e| Error::Usage(format!("step `{}`: {e}", step.id)))?;
        let action = match (&step.action, &plugin.description.default_action) {
            (Some(a), _) => a.value.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(Error::Usage(format!(
                    "step `{}`: plugin `{}` has no default action; name one with `action=`",
                    step.id, plugin.name
                )));
            }
        };
        let grant = ws.project.grants.iter().find(|g| g.plugin == plugin.name);
        let stock = plugin.source.is_stock();
        let declared = &plugin.description.capabilities;
        if !stock && grant.is_none() && !declared.is_empty() {
            let needs: Vec<String> = declared.iter().map(|c| format!("`{}`", c.name)).collect();
            return Err(Error::Refused(format!(
                "plugin `{}` (step `{}`) needs {} but cairn.kdl grants it nothing; add `grant plugin={} {{ ... }}`",
                plugin.name,
                step.id,
                needs.join(", "),
                plugin.name
            )));
        }
        let grants = Grants::effective(declared, grant, stock).with_programs(&ws.project.root);
        out.insert(
            step.id.clone(),
            Resolved {
                plugin,
                action,
                grants,
            },
        );
    }
    Ok(out)
}

/// With a `cairn.lock`, every plugin the run uses must match its pin.
pub(crate) fn check_lock(ws: &Workspace, plugins: &HashMap<String, Resolved>) -> Result<()> {
    let root = &ws.project.root;
    let Some(lock) = crate::lockfile::LockFile::read(root).map_err(Error::Usage)? else {
        return Ok(());
    };
    let mut problems = std::collections::BTreeSet::new();
    for r in plugins.values() {
        let now = crate::lockfile::pin_of(&r.plugin, &r.grants, root);
        if let Some(m) = crate::lockfile::mismatch(lock.find(&now.name, &now.version), &now) {
            problems.insert(m);
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = problems.into_iter().collect();
    Err(Error::Refused(format!(
        "{}; review the change, then run `cairn lock --update`",
        list.join("; ")
    )))
}

/// A step's plugin as `cairn show` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepPlugin {
    pub plugin: String,
    pub version: String,
    pub action: String,
    /// Effective grants, e.g. `exec=* http=*`.
    pub grants: String,
    pub source: String,
    pub digest: String,
}

/// Every step's plugin and effective grants, by step id.
pub fn resolve_plugins_raw(ws: &Workspace, rb: &Runbook) -> Result<HashMap<String, Resolved>> {
    resolve_plugins(ws, rb)
}

pub fn resolve_plugins_public(ws: &Workspace, rb: &Runbook) -> Result<HashMap<String, StepPlugin>> {
    Ok(resolve_plugins(ws, rb)?
        .into_iter()
        .map(|(id, r)| {
            let grants: Vec<String> = r
                .grants
                .iter()
                .map(|(k, v)| format!("{k}={}", v.values().join(",")))
                .collect();
            (
                id,
                StepPlugin {
                    plugin: r.plugin.name.clone(),
                    version: r.plugin.version.to_string(),
                    action: r.action,
                    grants: grants.join(" "),
                    source: r.plugin.source.to_string(),
                    digest: r.plugin.digest.clone(),
                },
            )
        })
        .collect())
}

impl Resolved {
    /// `StepStarted` for an attempt of `step` with this plugin.
    pub(super) fn started_event(&self, step: &Step, phase: Phase, attempt: u32) -> Event {
        Event::StepStarted {
            step: step.id.clone(),
            phase,
            plugin: self.plugin.name.clone(),
            plugin_version: self.plugin.version.to_string(),
            action: self.action.clone(),
            target: step.target.as_ref().map(|t| t.value.clone()),
            attempt,
        }
    }
}
