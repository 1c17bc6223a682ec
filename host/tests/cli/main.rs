//! End-to-end tests of the `cairn` binary with the real stock plugins.

mod harness;

mod backup;
mod commands;
mod debris;
mod docker;
mod dry_run;
mod engine;
mod files;
mod hostile;
mod http_check;
mod journal_lock;
mod legacy_restore;
mod lock_resume;
mod rehearse;
mod storage;
mod targets;
mod validate;

pub use harness::{Project, Run};
