//! The members of the groups a run's steps ran on, and how each ended:
//! done, failed, undone or not reached (listed with the verdict).

use cairn_lang::Block;

use super::step::Executor;
use crate::events::{HostState, HostStatus, StepStatus};

/// Worse first: what the list shows for a member several blocks ran on.
fn rank(s: HostStatus) -> u8 {
    match s {
        HostStatus::Failed => 3,
        HostStatus::Undone => 2,
        HostStatus::NotReached => 1,
        HostStatus::Done => 0,
    }
}

pub(super) fn of(exec: &Executor<'_>) -> Vec<HostState> {
    let done = exec.done.lock().expect("steps");
    let undone = exec.undone.lock().expect("undone");
    let mut out: Vec<HostState> = Vec::new();
    for block in &exec.rb.steps {
        let (group, members, steps) = match block {
            Block::Fanout { group, steps, .. } => {
                let members: Vec<String> = steps.iter().filter_map(|s| s.member.clone()).collect();
                (group.clone(), members, steps.as_slice())
            }
            Block::Rolling(r) => (
                r.group.value.clone(),
                r.batches.concat(),
                r.steps.as_slice(),
            ),
            _ => continue,
        };
        for m in members {
            let mine = steps
                .iter()
                .filter(|s| s.member.as_deref() == Some(m.as_str()));
            let mut ran = false;
            let mut failed = false;
            let mut was_undone = false;
            for s in mine {
                if let Some(d) = done.get(&s.id) {
                    ran = true;
                    failed |= d.status == StepStatus::Failed;
                }
                was_undone |= undone.contains(&s.id);
            }
            let state = match (ran, failed, was_undone) {
                (false, _, _) => HostStatus::NotReached,
                (true, true, _) => HostStatus::Failed,
                (true, false, true) => HostStatus::Undone,
                (true, false, false) => HostStatus::Done,
            };
            let now = HostState {
                group: group.clone(),
                host: m.clone(),
                state,
                undone: failed && was_undone,
            };
            match out.iter_mut().find(|h| h.group == group && h.host == m) {
                Some(h) if rank(state) > rank(h.state) => *h = now,
                Some(_) => {}
                None => out.push(now),
            }
        }
    }
    out
}
