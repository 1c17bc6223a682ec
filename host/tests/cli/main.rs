//! End-to-end tests of the `cairn` binary with the real stock plugins.

mod harness;

mod backup;
mod busy_site;
mod cloudflare_contract;
mod commands;
mod debris;
mod dns_cutover;
mod docker;
mod dry_run;
mod engine;
mod exec_grants;
mod files;
mod fixture_haproxy;
mod fixture_services;
mod fixture_site;
mod haproxy;
mod hostile;
mod http_check;
mod journal_lock;
mod leftovers;
mod legacy_restore;
mod lock_resume;
mod maintenance;
mod move_site;
mod postgres_move;
mod preflight;
mod rehearse;
mod scratch_guards;
mod secret_shapes;
mod service;
mod site_deps;
mod site_git;
mod site_migrate;
mod site_static;
mod storage;
mod targets;
mod undo;
mod validate;
mod verdicts;
mod verify_large;

pub use harness::{Project, Run};
