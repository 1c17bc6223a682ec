//! `cairn lock`: pinning the plugins and grants in `cairn.lock`.

use super::*;

pub(super) fn lock(ws: &Workspace, update: bool, strict: bool, json_out: bool) -> Result<ExitCode> {
    let update = if update { Update::All } else { Update::None };
    pin(ws, update, strict, json_out)
}

/// After `cairn plugin build`: the pins of the plugins just built are
/// renewed; any other change is left for `cairn lock` to show.
pub(super) fn lock_plugins(
    ws: &Workspace,
    built: Option<&[String]>,
    json_out: bool,
) -> Result<ExitCode> {
    let update = built.map_or(Update::All, Update::Only);
    pin(ws, update, false, json_out)
}

/// Which changed pins are renewed.
enum Update<'a> {
    None,
    All,
    /// These plugins' pins; others' changes are kept and not refused.
    Only(&'a [String]),
}

fn pin(ws: &Workspace, update: Update, strict: bool, json_out: bool) -> Result<ExitCode> {
    use crate::lockfile::{LockFile, mismatch, pin_of};
    ws.require_project("cairn lock")?;
    let root = &ws.project.root;
    let existing = LockFile::read(root).map_err(Error::Usage)?;
    let mut pins = std::collections::BTreeMap::new();
    for (_, rb) in ws.runbooks() {
        let Ok(rb) = rb else { continue };
        let resolved = match engine::resolve_plugins_raw(ws, &rb) {
            Ok(r) => r,
            // After `plugin build NAME`: a runbook that uses another plugin
            // not built yet does not stop NAME's pin.
            Err(_) if matches!(update, Update::Only(_)) => continue,
            Err(e) => return Err(e),
        };
        for r in resolved.into_values() {
            let pin = pin_of(&r.plugin, &r.grants, root);
            pins.insert((pin.name.clone(), pin.version.clone()), pin);
        }
    }
    let mut lock = existing.clone().unwrap_or(LockFile {
        version: 1,
        strict: false,
        plugins: Vec::new(),
    });
    // `--strict` on a lock that was not: every pin gets its programs' digests.
    let tighten = strict && !lock.strict;
    lock.strict |= strict;
    let mut changed = Vec::new();
    let mut added = Vec::new();
    for pin in pins.into_values() {
        match lock.find(&pin.name, &pin.version) {
            None => {
                added.push(format!("{} {}", pin.name, pin.version));
                lock.upsert(pin);
            }
            Some(old) => {
                if let Some(why) = mismatch(Some(old), &pin) {
                    match &update {
                        Update::All => {
                            changed.push(why);
                            lock.upsert(pin);
                        }
                        Update::Only(names) if names.contains(&pin.name) => {
                            changed.push(why);
                            lock.upsert(pin);
                        }
                        Update::Only(_) => {}
                        Update::None => changed.push(why),
                    }
                } else if tighten {
                    lock.upsert(pin);
                }
            }
        }
    }
    if !changed.is_empty() && matches!(update, Update::None) {
        return Err(Error::Refused(format!(
            "{}; review the change, then run `cairn lock --update`",
            changed.join("; ")
        )));
    }
    if existing.as_ref() != Some(&lock) {
        lock.write(root)
            .map_err(|e| Error::Other(anyhow::anyhow!("cannot write cairn.lock: {e}")))?;
    }
    if json_out {
        print_json(&serde_json::to_value(&lock).unwrap_or_default());
    } else {
        for a in &added {
            println!("pinned {a}");
        }
        for c in &changed {
            println!("updated: {c}");
        }
        println!("cairn.lock: {} plugin(s) pinned", lock.plugins.len());
    }
    Ok(ExitCode::Success)
}
