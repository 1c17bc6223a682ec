//! The fleet rules of validation: where a step may name a group, and what a
//! `rolling` block needs of its group.

use miette::SourceSpan;

use crate::model::Rolling;
use crate::model::{Project, Section, StepPlace};

/// A problem found: where, what, and a hint.
pub struct Problem {
    pub span: SourceSpan,
    pub message: String,
    pub help: Option<String>,
}

fn problem(span: SourceSpan, message: String, help: &str) -> Problem {
    Problem {
        span,
        message,
        help: Some(help.to_owned()),
    }
}

/// A step names a group only where its instances can run side by side as
/// one step: in a step list of its own (not in `parallel`, `undo` or
/// `rolling`); `parallel=` only on such a step.
pub(crate) fn check_step(p: &Project, at: &StepPlace<'_>) -> Option<Problem> {
    let step = at.step;
    let on_group = step.target.as_ref().filter(|t| p.is_group(&t.value));
    match (on_group, &step.parallel) {
        (None, Some(par)) => Some(problem(
            par.span,
            format!(
                "`parallel` on step `{}`, whose target is not a group",
                step.id
            ),
            "`parallel=N` limits how many members of a group a step runs on at once",
        )),
        (Some(t), _) if at.rolling_pos.is_some() && at.section != Section::Undo => Some(problem(
            t.span,
            format!("step `{}` in `rolling` names group `{}`", step.id, t.value),
            "a step of a `rolling` block runs on each member of its batch already; leave out `target=`",
        )),
        (Some(t), _) if at.in_parallel => Some(problem(
            t.span,
            format!("step `{}` in `parallel` names group `{}`", step.id, t.value),
            "a step on a group runs on its members in parallel already; move it out of the `parallel` block",
        )),
        (Some(t), _) if at.section == Section::Undo => Some(problem(
            t.span,
            format!("undo step `{}` names group `{}`", step.id, t.value),
            "an undo step runs where its step ran: give the step the group, and its undo steps no target",
        )),
        _ => None,
    }
}

/// The group exists, and a batch leaves `min-healthy` members in service.
pub fn check_rolling(p: &Project, r: &Rolling) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(members) = p.members(&r.group.value) else {
        let known: Vec<&str> = p.groups.keys().map(String::as_str).collect();
        let help = if known.is_empty() {
            "declare it in cairn.kdl: `group app { target app1; target app2 }`".to_owned()
        } else {
            format!("the project's groups: {}", known.join(", "))
        };
        out.push(Problem {
            span: r.group.span,
            message: format!("`rolling` over unknown group `{}`", r.group.value),
            help: Some(help),
        });
        return out;
    };
    let n = members.len();
    let batch = r.batch.value.batch_of(n);
    let min = r.min_healthy_of(n);
    if n.saturating_sub(batch) < min {
        let span = r.min_healthy.as_ref().map_or(r.batch.span, |m| m.span);
        out.push(Problem {
            span,
            message: format!(
                "a batch of {batch} of group `{}`'s {n} members leaves {} in service, fewer than min-healthy {min}",
                r.group.value,
                n.saturating_sub(batch)
            ),
            help: Some(if r.min_healthy.is_none() {
                "min-healthy is 1 by default for a group of two or more; make the batch smaller, or write `min-healthy=0` to take every server of a batch out at once".to_owned()
            } else {
                "make the batch smaller or lower `min-healthy`".to_owned()
            }),
        });
    }
    out
}
