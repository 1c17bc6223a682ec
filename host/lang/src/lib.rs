//! cairn's runbook language: `cairn.kdl` and runbook files (KDL 2.0) decoded
//! into a typed model with spans, and validated completely before anything
//! runs. No wasmtime, no I/O beyond reading the files named.

pub mod model;

pub use model::*;

use std::collections::BTreeSet;

/// What validation needs to know about a plugin; the host implements the
/// lookup over its plugin directories and the stock set.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    pub name: String,
    pub version: semver::Version,
    pub actions: Vec<String>,
    pub default_action: Option<String>,
}

pub trait PluginCatalog {
    /// Finds the newest plugin named `name` matching `req`; the error says why
    /// none fits (unknown name, or the versions that exist).
    fn find(&self, name: &str, req: Option<&semver::VersionReq>) -> Result<PluginInfo, String>;
    /// All plugin names, for "did you mean" hints.
    fn names(&self) -> Vec<String>;
}

/// Values for `{{ }}` references at run time.
pub trait Resolver {
    /// The value of a reference, or `None` when it has none (a step that did
    /// not run, an output the plugin did not return).
    fn lookup(&self, r: &Ref) -> Option<serde_json::Value>;
}

/// What validation checks a runbook against.
pub struct ValidationContext<'a> {
    pub project: &'a Project,
    pub plugins: &'a dyn PluginCatalog,
    /// Secret names that exist; `None` skips the check of `secrets.*`
    /// references (as `cairn validate` does, which reads no secrets).
    pub secret_names: Option<&'a BTreeSet<String>>,
}

pub mod diagnostics;

mod args;
mod decode;
mod duration;
mod expr;
mod params;
mod project;
mod reference;
mod rehearsal;
mod runbook;
mod source;
mod step;
mod strspan;
mod target;
mod template;
mod validate;
mod walk;

pub use args::render_args;
pub use diagnostics::{Diagnostic, Diagnostics, did_you_mean};
pub use duration::parse_duration;
pub use expr::eval_when;
pub use params::{bind_params, parse_param_value};
pub use project::{CAPABILITIES, LOCAL_STORAGE_DIR, discover_runbooks, load_project};
pub use reference::{PROJECT_KEYS, RUN_KEYS, TARGET_KEYS};
pub use runbook::{load_runbook, load_runbook_source};
pub use template::{RenderError, render_template};
pub use validate::validate;
