//! cairn's runbook language: `cairn.kdl` and runbook files (KDL 2.0) decoded
//! into a typed model with spans, and validated completely before anything
//! runs. No wasmtime, no I/O beyond reading the files named.
//!
//! The language is documented in `docs/runbook-language.md`. The stages:
//! [`load_project`], [`load_runbook`] (syntax and structure, `use`
//! includes), [`validate`] (plugins, targets, references), [`bind_params`]
//! (`-p` values); then, while a run goes on, [`eval_when`],
//! [`render_template`] and [`render_args`] against a [`Resolver`].
//!
//! ```
//! use cairn_lang::{PluginCatalog, PluginInfo, Ref, Resolver, ValidationContext};
//! use serde_json::{Value, json};
//!
//! struct Catalog;
//! impl PluginCatalog for Catalog {
//!     fn find(&self, name: &str, _req: Option<&semver::VersionReq>) -> Result<PluginInfo, String> {
//!         match name {
//!             "exec" => Ok(PluginInfo {
//!                 name: "exec".into(),
//!                 version: semver::Version::new(0, 1, 0),
//!                 actions: vec!["run".into()],
//!                 default_action: Some("run".into()),
//!             }),
//!             _ => Err(format!("no plugin named `{name}`")),
//!         }
//!     }
//!     fn names(&self) -> Vec<String> {
//!         vec!["exec".into()]
//!     }
//! }
//!
//! struct Params(Value);
//! impl Resolver for Params {
//!     fn lookup(&self, r: &Ref) -> Option<Value> {
//!         self.0.get(r.path.first()?).cloned()
//!     }
//! }
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("cairn.kdl"), "project demo")?;
//! std::fs::create_dir(dir.path().join("runbooks"))?;
//! std::fs::write(
//!     dir.path().join("runbooks/hello.kdl"),
//!     r#"runbook hello version=1 {
//!         param who default=world
//!         step greet uses=exec { run echo "hello {{ params.who }}" }
//!     }"#,
//! )?;
//!
//! let project = cairn_lang::load_project(dir.path())?;
//! let path = &cairn_lang::discover_runbooks(&project)[0];
//! let runbook = cairn_lang::load_runbook(&project, path)?;
//! let cx = ValidationContext { project: &project, plugins: &Catalog, secret_names: None };
//! cairn_lang::validate(&runbook, &cx)?;
//!
//! let params = cairn_lang::bind_params(&runbook, &[("who".into(), "ops".into())])?;
//! let cairn_lang::Block::Step(step) = &runbook.steps[0] else { unreachable!() };
//! let args = cairn_lang::render_args(&step.args, &Params(json!(params)))?;
//! assert_eq!(args, json!({"run": ["echo", "hello ops"]}));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod fleet;
pub mod model;

pub use fleet::{Amount, Group, GroupEntry, RollPart, Rolling, expand, written_id};
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

mod arg_spans;
mod args;
mod decode;
mod decoder;
mod discover;
mod duration;
mod expr;
pub mod guardrails;
pub mod limits;
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
mod undo;
mod validate;
mod walk;

pub use args::render_args;
pub use diagnostics::{Diagnostic, Diagnostics, did_you_mean};
pub use discover::discover_runbooks;
pub use duration::parse_duration;
pub use expr::eval_when;
pub use params::{bind_params, parse_param_value};
pub use project::{CAPABILITIES, LOCAL_STORAGE_DIR, load_project, load_project_source};
pub use reference::{PROJECT_KEYS, RUN_KEYS, TARGET_KEYS};
pub use runbook::{load_runbook, load_runbook_source};
pub use template::{RenderError, render_template};
pub use validate::validate;
