//! Checks a loaded runbook against its surroundings: the plugins that exist,
//! the project's targets, the references it makes, and cairn's version.

use std::collections::BTreeMap;

use crate::ValidationContext;
use crate::diagnostics::{Diagnostic, Diagnostics, did_you_mean};
use crate::model::{Block, Ref, Runbook, Scope, Section, Step, StepPlace};

/// Validates everything that can be known before a run: each step's plugin
/// (by name and version requirement), action and target, every `{{ }}`
/// reference, the rehearsal's targets, and `requires cairn=`. All problems
/// are reported together.
pub fn validate(runbook: &Runbook, cx: &ValidationContext<'_>) -> Result<(), Diagnostics> {
    let mut v = Validator {
        runbook,
        cx,
        diags: Diagnostics::new(),
    };
    v.requires();
    let places = runbook.step_places();
    let mut by_id: BTreeMap<&str, StepPlace<'_>> = BTreeMap::new();
    for p in &places {
        by_id.entry(p.step.id.as_str()).or_insert(*p);
    }
    for p in &places {
        v.step(p.step);
        if let Some(f) = crate::fleet::check_step(cx.project, p) {
            v.fleet_problem(&p.step.id, f);
        }
        let step = p.step;
        let mut refs: Vec<&Ref> = Vec::new();
        if let Some(w) = &step.when {
            refs.extend(w.value.refs());
        }
        if let Some(c) = &step.confirm {
            refs.extend(c.value.refs());
        }
        for t in step.args.templates() {
            refs.extend(t.value.refs());
        }
        for r in refs {
            v.reference(r, p, &by_id);
        }
    }
    for b in &runbook.steps {
        if let Block::Rolling(r) = b {
            let first = r.steps.first().map_or("", |s| s.id.as_str());
            for f in crate::fleet::check_rolling(cx.project, r) {
                v.fleet_problem(first, f);
            }
        }
    }
    if let Some(reh) = &runbook.rehearsal {
        for t in reh.targets.values() {
            if !cx.project.targets.contains_key(&t.name) {
                let d = Diagnostic::at(
                    &runbook.file,
                    t.span,
                    format!(
                        "`rehearsal` replaces target `{}`, which the project does not define",
                        t.name
                    ),
                );
                v.push(with_suggestion(
                    d,
                    &t.name,
                    cx.project.targets.keys().map(String::as_str),
                ));
            }
        }
    }
    v.diags.into_result(())
}

struct Validator<'a> {
    runbook: &'a Runbook,
    cx: &'a ValidationContext<'a>,
    diags: Diagnostics,
}

fn with_suggestion<'a>(
    mut d: Diagnostic,
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    if let Some(best) = did_you_mean(name, candidates) {
        d.help = Some(format!("did you mean `{best}`?"));
    }
    d
}

impl Validator<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// A fleet rule broken, in the file of step `id`.
    fn fleet_problem(&mut self, id: &str, f: crate::fleet::Problem) {
        let file = self.runbook.file_of(id).clone();
        let mut d = Diagnostic::at(&file, f.span, f.message);
        d.help = f.help;
        self.push(d);
    }

    fn requires(&mut self) {
        let Some(req) = &self.runbook.requires else {
            return;
        };
        let ours =
            semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("the crate version is semver");
        if !req.value.matches(&ours) {
            let d = Diagnostic::at(
                &self.runbook.file,
                req.span,
                format!(
                    "runbook `{}` requires cairn `{}`, this is cairn {ours}",
                    self.runbook.name, req.value
                ),
            )
            .with_label("not satisfied")
            .with_help("upgrade cairn, or relax `requires`");
            self.push(d);
        }
    }

    fn step(&mut self, step: &Step) {
        let file = self.runbook.file_of(&step.id).clone();
        let at = |span, msg: String| Diagnostic::at(&file, span, msg);
        match self
            .cx
            .plugins
            .find(&step.plugin, step.version_req.as_ref())
        {
            Err(why) => {
                let names = self.cx.plugins.names();
                let d = if names.iter().any(|n| n == &step.plugin) {
                    let req = step
                        .version_req
                        .as_ref()
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "*".into());
                    at(
                        step.uses_span,
                        format!(
                            "no version of plugin `{}` matches `{req}` in step `{}`",
                            step.plugin, step.id
                        ),
                    )
                    .with_label("no matching version")
                    .with_help(why)
                } else {
                    let d = at(
                        step.uses_span,
                        format!("unknown plugin `{}` in step `{}`", step.plugin, step.id),
                    )
                    .with_label("unknown plugin");
                    let d = with_suggestion(d, &step.plugin, names.iter().map(String::as_str));
                    if d.help.is_none() {
                        d.with_help(format!("plugins: {}", names.join(", ")))
                    } else {
                        d
                    }
                };
                self.push(d);
            }
            Ok(info) => match &step.action {
                Some(a) if !info.actions.contains(&a.value) => {
                    let d = at(
                        a.span,
                        format!(
                            "plugin `{}` has no action `{}` (step `{}`)",
                            info.name, a.value, step.id
                        ),
                    )
                    .with_label("unknown action");
                    let d = with_suggestion(d, &a.value, info.actions.iter().map(String::as_str));
                    let d = if d.help.is_none() {
                        d.with_help(format!("its actions: {}", info.actions.join(", ")))
                    } else {
                        d
                    };
                    self.push(d);
                }
                None if info.default_action.is_none() => {
                    let d = at(
                        step.id_span,
                        format!(
                            "step `{}` names no action and plugin `{}` has no default one",
                            step.id, info.name
                        ),
                    )
                    .with_help(format!(
                        "add `action=`, one of: {}",
                        info.actions.join(", ")
                    ));
                    self.push(d);
                }
                _ => {}
            },
        }
        if let Some(t) = &step.target
            && !self.cx.project.targets.contains_key(&t.value)
            && !self.cx.project.is_group(&t.value)
        {
            let targets = &self.cx.project.targets;
            let d = at(
                t.span,
                format!("unknown target `{}` in step `{}`", t.value, step.id),
            )
            .with_label("unknown target");
            let d = with_suggestion(d, &t.value, targets.keys().map(String::as_str));
            let names: Vec<&str> = targets.keys().map(String::as_str).collect();
            let d = if d.help.is_none() {
                d.with_help(format!("the project's targets: {}", names.join(", ")))
            } else {
                d
            };
            self.push(d);
        }
    }

    fn reference(&mut self, r: &Ref, at: &StepPlace<'_>, by_id: &BTreeMap<&str, StepPlace<'_>>) {
        let file = self.runbook.file_of(&at.step.id).clone();
        let name = r.path.first().map(String::as_str).unwrap_or_default();
        let problem: Option<(String, Option<String>)> = match r.scope {
            Scope::Params if !self.runbook.params.iter().any(|p| p.name == name) => {
                let names = self.runbook.params.iter().map(|p| p.name.as_str());
                let help = did_you_mean(name, names).map(|b| format!("did you mean `{b}`?"));
                Some((
                    format!("unknown param `{name}` in `{r}`"),
                    help.or(Some("declare it with `param` in the runbook".into())),
                ))
            }
            Scope::Secrets => match self.cx.secret_names {
                Some(names) if !names.contains(name) => {
                    let help = did_you_mean(name, names.iter().map(String::as_str))
                        .map(|b| format!("did you mean `{b}`?"));
                    Some((format!("unknown secret `{name}` in `{r}`"), help))
                }
                _ => None,
            },
            Scope::Steps => step_order(r, name, at, by_id),
            _ => None,
        };
        if let Some((msg, help)) = problem {
            let mut d = Diagnostic::at(&file, r.span, msg);
            d.help = help;
            self.push(d);
        }
    }
}

/// Whether step `at` may use the outputs of step `name`: it must have run before.
fn step_order(
    r: &Ref,
    name: &str,
    at: &StepPlace<'_>,
    by_id: &BTreeMap<&str, StepPlace<'_>>,
) -> Option<(String, Option<String>)> {
    let me = &at.step.id;
    let Some(t) = by_id.get(name) else {
        let help =
            did_you_mean(name, by_id.keys().copied()).map(|b| format!("did you mean `{b}`?"));
        return Some((format!("unknown step `{name}` in `{r}`"), help));
    };
    let before = "a step can use the outputs of the steps that run before it";
    if t.step.id == *me {
        return Some((
            format!("step `{me}` refers to its own outputs"),
            Some(before.into()),
        ));
    }
    if at.section == Section::Undo {
        return crate::undo::undo_ref(name, at, t);
    }
    if t.section == Section::Main && at.section != Section::Main {
        return None;
    }
    if t.section == Section::Undo {
        return Some((
            format!("step `{name}` is an undo step and can't be used from `{}`", at.section.as_str()),
            Some("an undo step runs only when a later main step fails; nothing else can rely on its outputs".into()),
        ));
    }
    if t.section != at.section {
        let help = format!(
            "a step in `{}` can use the main steps and the earlier steps of its own block",
            at.section.as_str()
        );
        return Some((
            format!(
                "step `{name}` is in `{}` and can't be used from `{}`",
                t.section.as_str(),
                at.section.as_str()
            ),
            Some(help),
        ));
    }
    if t.block == at.block && at.rolling_pos.is_some() {
        return (t.rolling_pos > at.rolling_pos).then(|| {
            (
                format!("step `{name}` runs after step `{me}`"),
                Some(before.into()),
            )
        });
    }
    if t.block == at.block {
        return Some((
            format!("step `{me}` runs in parallel with `{name}` and can't use its outputs"),
            Some(format!("move `{name}` before the `parallel` block")),
        ));
    }
    if t.block > at.block {
        return Some((
            format!("step `{name}` runs after step `{me}`"),
            Some(before.into()),
        ));
    }
    None
}
