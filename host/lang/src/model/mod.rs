//! The typed model of `cairn.kdl` and runbook files.
//!
//! Everything a user wrote keeps its span, so later stages (validation, the
//! engine's pre-flight checks) can point at it with a caret.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use miette::{NamedSource, SourceSpan};

mod fleet;
pub use fleet::{Amount, Group, GroupEntry, RollPart, Rolling, written_id};
use semver::VersionReq;

/// A file as read from disk: its name as shown in diagnostics and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path shown to users (relative to the project root when possible).
    pub name: String,
    /// The absolute path on disk.
    pub path: PathBuf,
    pub text: Arc<str>,
}

impl SourceFile {
    pub fn named_source(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(self.name.clone(), self.text.clone()).with_language("kdl")
    }
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: SourceSpan,
}

// ---------------------------------------------------------------- project

/// `cairn.kdl`: the project.
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    /// The directory holding `cairn.kdl`.
    pub root: PathBuf,
    pub file: Arc<SourceFile>,
    pub targets: BTreeMap<String, Target>,
    /// `group NAME { target a; group b }`: named sets of targets.
    pub groups: BTreeMap<String, Group>,
    pub storages: BTreeMap<String, Storage>,
    pub secrets: Vec<SecretSource>,
    /// Plugin directories, relative to `root` as written.
    pub plugin_dirs: Vec<String>,
    pub grants: Vec<Grant>,
    /// Directories holding runbooks, relative to `root` (default `runbooks`).
    pub runbook_dirs: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub kind: TargetKind,
    pub span: SourceSpan,
}

/// Serialized (tagged `kind`) where a run journals the target of a command
/// it started there, so that `cairn resume` can reach it again.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TargetKind {
    Local,
    Ssh {
        /// `user@host` or a host alias from the user's ssh config.
        destination: String,
        port: Option<u16>,
        /// Extra `-o` options, as written.
        options: Vec<String>,
    },
    Docker {
        container: String,
        /// Engine address, e.g. `unix:///run/docker.sock`; the default engine when none.
        host: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Storage {
    pub name: String,
    pub kind: StorageKind,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StorageKind {
    Dir {
        path: String,
    },
    S3 {
        bucket: String,
        region: Option<String>,
        endpoint: Option<String>,
        prefix: Option<String>,
        path_style: bool,
        /// Names of the project's secrets holding the credentials; the
        /// environment's `AWS_*` variables when none.
        credentials: Option<S3Credentials>,
    },
}

/// `access-key=NAME secret-key=NAME [session-token=NAME]` on an `s3`
/// storage: each value names a secret of the project, never the key itself.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SecretSource {
    /// `env prefix=HELLO_`: `HELLO_DB_PASSWORD` is `secrets.db_password`.
    Env { prefix: String },
    /// `file "secrets.json"`: a JSON object of names to string values.
    File { path: String },
}

/// `grant plugin=NAME { exec pg_dump psql; http example.com; ... }`.
///
/// Each child names a capability and the values it is granted for. A grant
/// narrows what the plugin's `describe` declares; it never widens a stock
/// plugin's declaration beyond it, and it is the only way a project plugin
/// gets anything.
#[derive(Debug, Clone)]
pub struct Grant {
    pub plugin: String,
    pub capabilities: BTreeMap<String, Vec<String>>,
    pub span: SourceSpan,
}

// ---------------------------------------------------------------- runbook

#[derive(Debug, Clone)]
pub struct Runbook {
    pub name: String,
    pub version: u64,
    pub description: Option<String>,
    /// `requires cairn=">=0.1"`.
    pub requires: Option<Spanned<VersionReq>>,
    pub file: Arc<SourceFile>,
    /// sha256 of the file's bytes, lowercase hex.
    pub sha256: String,
    pub params: Vec<Param>,
    pub steps: Vec<Block>,
    pub on_failure: Vec<Block>,
    pub finally: Vec<Block>,
    pub rehearsal: Option<Rehearsal>,
    pub span: SourceSpan,
    /// Files brought in with `use`, in order (nested ones included); steps
    /// listed here have their spans in that file rather than in `file`.
    pub includes: Vec<Include>,
    /// `limits { max-dns-changes 5 }`: what one run may change, in order.
    pub limits: Vec<RunLimit>,
}

/// One limit of a `limits` block: `max-servers-down 1`.
#[derive(Debug, Clone)]
pub struct RunLimit {
    /// `max-servers-down`.
    pub name: String,
    pub max: Spanned<u64>,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Int,
    Bool,
    Duration,
    List,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub ty: ParamType,
    /// Already checked against `ty` and converted (durations as their text).
    pub default: Option<serde_json::Value>,
    pub required: bool,
    pub help: Option<String>,
    pub span: SourceSpan,
}

/// One element of a step list.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // a list of blocks is short; boxing would only add noise
pub enum Block {
    Step(Step),
    /// `parallel { step ... }`: the steps run concurrently.
    Parallel {
        steps: Vec<Step>,
        span: SourceSpan,
    },
    /// A step on a group, as [`crate::expand`] makes it: one instance per
    /// member (`ID@MEMBER`), at most `parallel` at a time.
    Fanout {
        id: String,
        group: String,
        steps: Vec<Step>,
        parallel: usize,
        span: SourceSpan,
    },
    /// `rolling group=NAME batch=N { ... }`: its steps on one batch of the
    /// group's members at a time.
    Rolling(Box<Rolling>),
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub id_span: SourceSpan,
    /// The plugin's name (`uses=NAME[@REQ]`).
    pub plugin: String,
    pub version_req: Option<VersionReq>,
    pub uses_span: SourceSpan,
    pub action: Option<Spanned<String>>,
    pub target: Option<Spanned<String>>,
    /// `parallel=N` on a step whose target is a group.
    pub parallel: Option<Spanned<u32>>,
    /// An instance of a step on a group's member (made by [`crate::expand`]):
    /// the member, whose instances of the other steps this one's
    /// `steps.ID` references read.
    pub member: Option<String>,
    pub when: Option<Spanned<Expr>>,
    pub timeout: Option<Duration>,
    pub continue_on_error: bool,
    pub retry: Option<Retry>,
    pub confirm: Option<Spanned<Template>>,
    /// The step's arguments: its children converted to JSON by the rule in
    /// `docs/runbook-language.md`, with every string kept as a template.
    pub args: ArgValue,
    /// Where each argument is written, by path (`expect.status`).
    pub arg_spans: ArgSpans,
    /// `undo { step ... }`: the steps that put back what this one changed,
    /// run when a later main step fails (empty when there is no block).
    pub undo: Vec<Step>,
    /// Where `undo` is written, when it is.
    pub undo_span: Option<SourceSpan>,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub attempts: u32,
    pub delay: Duration,
    /// Multiplier applied to the delay after each failed attempt (1.0 = constant).
    pub backoff: f64,
}

/// The spans of a step's arguments, by path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArgSpans {
    /// The key's name: the child node's name or the property's.
    pub keys: BTreeMap<String, SourceSpan>,
    /// The value, where it is one token (a scalar).
    pub values: BTreeMap<String, SourceSpan>,
}

/// Where each argument of a step is written, so that a check against a
/// plugin's schema (made by the host) points at the runbook: by path
/// (`expect.status`, `run[1]`, as in the arguments object).
impl ArgSpans {
    /// The span of the key at `path`, else of the nearest enclosing key.
    pub fn key(&self, path: &str) -> Option<SourceSpan> {
        let mut p = path;
        loop {
            if let Some(s) = self.keys.get(p) {
                return Some(*s);
            }
            p = parent(p)?;
        }
    }

    /// The span of the value at `path`, else of its key (or an enclosing
    /// one's).
    pub fn value(&self, path: &str) -> Option<SourceSpan> {
        self.values.get(path).copied().or_else(|| self.key(path))
    }
}

/// `a.b` → `a`, `a[1]` → `a`, `a` → none.
fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    Some(&path[..cut])
}

/// A JSON-shaped argument value whose strings may hold `{{ }}` references.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(Spanned<Template>),
    List(Vec<ArgValue>),
    Object(Vec<(String, ArgValue)>),
}

/// `rehearsal { param ...; target ...; verify { step ... } }`.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    /// Parameter values used by `cairn rehearse`, by name.
    pub params: BTreeMap<String, Spanned<serde_json::Value>>,
    /// Targets replaced for the rehearsal, by name.
    pub targets: BTreeMap<String, Target>,
    pub verify: Vec<Block>,
    pub span: SourceSpan,
}

// ---------------------------------------------------------------- templates

/// A string with `{{ ... }}` references.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Lit(String),
    Ref(Ref),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Params,
    Steps,
    Secrets,
    Run,
    Target,
    Project,
}

/// A reference such as `steps.plan-migrations.outputs.count`: its scope and
/// the path after the scope (`["plan-migrations", "outputs", "count"]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    pub scope: Scope,
    pub path: Vec<String>,
    /// Where the reference is written in the file.
    pub span: SourceSpan,
}

/// A `when=` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Ref(Ref),
    Lit(serde_json::Value),
    Not(Box<Expr>),
    Eq(Box<Expr>, Box<Expr>),
    Ne(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

// ---------------------------------------------------------------- additions

/// A runbook file brought in with `use "runbooks/other.kdl"`.
#[derive(Debug, Clone)]
pub struct Include {
    pub file: Arc<SourceFile>,
    /// sha256 of the included file's bytes, lowercase hex.
    pub sha256: String,
    /// The ids of the steps it contributed to the main step list.
    pub step_ids: Vec<String>,
    /// The `use` node, in the file that wrote it (the runbook's own file, or
    /// an included file for a nested `use`).
    pub span: SourceSpan,
}

/// Which step list a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Main,
    OnFailure,
    Finally,
    /// `rehearsal { verify { ... } }`.
    Verify,
    /// `undo { ... }` of a main step.
    Undo,
}

/// A step with its place in the runbook, as [`Runbook::step_places`] lists them.
#[derive(Debug, Clone, Copy)]
pub struct StepPlace<'a> {
    pub step: &'a Step,
    pub section: Section,
    /// Index of its [`Block`] in its section's list.
    pub block: usize,
    /// Whether it is one of the steps of a `parallel` block.
    pub in_parallel: bool,
    /// A step of a `rolling` block (they run in order on each member): its
    /// index there; for an undo step, its main step's.
    pub rolling_pos: Option<usize>,
    /// An undo step: the main step whose `undo` block holds it (`block` is
    /// then that step's block in the main list).
    pub owner: Option<&'a Step>,
    /// An undo step: its index in its `undo` block.
    pub pos: usize,
}
