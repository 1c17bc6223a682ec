//! From what was written to what runs: a step on a group becomes one
//! instance per member, a `rolling` block its batches of instances.

use crate::model::{Block, Project, Runbook, Spanned, Step};
use crate::model::{RollPart, Rolling};

/// The runbook as a run performs it. A runbook without groups comes back
/// as it was. Call it after [`crate::validate`]: unknown groups are
/// left as they are.
pub fn expand(project: &Project, rb: &Runbook) -> Runbook {
    let mut out = rb.clone();
    out.steps = blocks(project, &rb.steps);
    out.on_failure = blocks(project, &rb.on_failure);
    out.finally = blocks(project, &rb.finally);
    if let Some(r) = &mut out.rehearsal {
        r.verify = blocks(project, &r.verify);
    }
    out
}

fn blocks(p: &Project, list: &[Block]) -> Vec<Block> {
    list.iter()
        .map(|b| match b {
            Block::Step(s) => match s.target.as_ref().and_then(|t| p.members(&t.value)) {
                Some(members) => Block::Fanout {
                    id: s.id.clone(),
                    group: s
                        .target
                        .as_ref()
                        .map(|t| t.value.clone())
                        .unwrap_or_default(),
                    parallel: s
                        .parallel
                        .as_ref()
                        .map_or(members.len(), |n| n.value as usize)
                        .max(1),
                    steps: members.iter().map(|m| instance(p, s, m, true)).collect(),
                    span: s.span,
                },
                None => b.clone(),
            },
            Block::Rolling(r) => Block::Rolling(Box::new(rolling(p, r))),
            other => other.clone(),
        })
        .collect()
}

/// Step `s` on member `m`: `ID@M` (with `suffix`), its target the member
/// unless it names another target, its undo steps likewise.
fn instance(p: &Project, s: &Step, m: &str, suffix: bool) -> Step {
    let mut i = s.clone();
    if suffix {
        i.id = format!("{}@{m}", s.id);
    }
    i.member = Some(m.to_owned());
    if s.target.as_ref().is_none_or(|t| p.is_group(&t.value)) {
        i.target = Some(Spanned {
            value: m.to_owned(),
            span: s.target.as_ref().map_or(s.id_span, |t| t.span),
        });
    }
    i.parallel = None;
    i.undo = s
        .undo
        .iter()
        .map(|u| instance_undo(u, m, i.target.clone()))
        .collect();
    i
}

/// An undo step runs where its step ran (unless it names a target).
fn instance_undo(u: &Step, m: &str, target: Option<Spanned<String>>) -> Step {
    let mut i = u.clone();
    i.id = format!("{}@{m}", u.id);
    i.member = Some(m.to_owned());
    if i.target.is_none() {
        i.target = target;
    }
    i
}

fn rolling(p: &Project, r: &Rolling) -> Rolling {
    let mut out = r.clone();
    let Some(members) = p.members(&r.group.value) else {
        return out;
    };
    let size = r.batch.value.batch_of(members.len());
    out.batches = members.chunks(size).map(<[String]>::to_vec).collect();
    let by_id = |id: &str| r.steps.iter().find(|s| s.id == id).expect("a written step");
    let mut steps = Vec::new();
    for (b, batch) in out.batches.iter().enumerate() {
        for (id, part) in &r.written {
            let s = by_id(id);
            if *part == RollPart::Once {
                if b == 0 {
                    steps.push(instance(p, s, &batch[0], false));
                }
                continue;
            }
            steps.extend(batch.iter().map(|m| instance(p, s, m, true)));
        }
    }
    out.steps = steps;
    out
}
