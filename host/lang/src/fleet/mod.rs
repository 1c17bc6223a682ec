//! Fleets: `group` in `cairn.kdl`, steps on a group (one instance per
//! member), and `rolling` blocks (a group's members one batch at a time,
//! `once` steps for the whole group).
//!
//! The runbook keeps what was written; [`expand`] turns it, before a run,
//! into the instances the engine runs: step `ID` on member `M` is step
//! `ID@M`, with `target` the member (unless it names another target) and
//! `member` set, so that its `steps.OTHER` references read the same
//! member's instance of `OTHER`.

mod check;
mod expand;
mod group;

pub(crate) use check::check_step;
pub use check::{Problem, check_rolling};
pub use expand::expand;
pub(crate) use group::{check_groups, decode_group};

pub use crate::model::{Amount, Group, GroupEntry, RollPart, Rolling, written_id};
