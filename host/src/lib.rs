//! cairn: a runbook engine for the people who keep web sites up.
//!
//! Layers, dependencies pointing one way:
//! `cairn_lang` (language) → [`engine`] (plan, execute, journal) →
//! [`runtime`] (wasmtime, component cache, limits) → [`capabilities`] (one
//! module per host capability) → [`cli`] (clap, rendering, exit codes; the
//! only place that prints).

pub mod capabilities;
pub mod children;
pub mod cli;
pub mod engine;
pub mod error;
pub mod events;
pub mod humanize;
pub mod limits;
pub mod lockfile;
pub mod project;
pub mod redact;
pub mod runtime;
pub mod schema;
pub mod spans;
pub(crate) mod sys;
pub mod targets;
pub(crate) mod wit;

pub use error::{Error, ExitCode};

/// The version of cairn, as runbooks' `requires cairn=` sees it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
