//! End-to-end tests of the `cairn` binary with the real stock plugins.

mod harness;

mod backup;
mod busy_site;
mod commands;
mod debris;
mod docker;
mod dry_run;
mod engine;
mod exec_grants;
mod files;
mod fixture_site;
mod hostile;
mod http_check;
mod journal_lock;
mod leftovers;
mod legacy_restore;
mod lock_resume;
mod preflight;
mod rehearse;
mod scratch_guards;
mod secret_shapes;
mod site_deps;
mod site_git;
mod site_migrate;
mod site_static;
mod storage;
mod targets;
mod validate;
mod verdicts;

pub use harness::{Project, Run};
