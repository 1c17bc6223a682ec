//! What a plugin says about itself and what the host tells it about a step.

use serde::Deserialize;

/// How the run was started (`context.mode` in the WIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A real run: effects happen.
    #[default]
    Apply,
    /// `--dry-run`: writes are recorded by the host and not performed.
    DryRun,
    /// `cairn rehearse`: a real run against the rehearsal overrides.
    Rehearsal,
}

/// Whether an action or a capability call changes anything.
///
/// Decodes from the step argument values `read` and `write`. The default is
/// `Write`, the safe choice: a write is only recorded in a dry-run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    Read,
    #[default]
    Write,
}

/// What the host tells a plugin about the step it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub run_id: String,
    pub step_id: String,
    pub runbook: String,
    pub mode: Mode,
    /// The step's target name, if it has one.
    pub target: Option<String>,
}

impl Context {
    /// A context for unit tests: run `test-run`, step `test-step`, runbook
    /// `test`, mode apply, no target.
    pub fn for_test() -> Self {
        Context {
            run_id: "test-run".into(),
            step_id: "test-step".into(),
            runbook: "test".into(),
            mode: Mode::Apply,
            target: None,
        }
    }

    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// True in `--dry-run`. Plugins rarely need this: the host already turns
    /// write calls into planned results.
    pub fn is_dry_run(&self) -> bool {
        self.mode == Mode::DryRun
    }

    /// True in `--dry-run` when `value` holds [`KNOWN_LATER`]: it comes from
    /// an output of an earlier step that was only planned, so it is not the
    /// value the step will get in a real run, and an argument check that
    /// depends on it can only be made then.
    pub fn known_later(&self, value: &str) -> bool {
        self.is_dry_run() && value.contains(KNOWN_LATER)
    }
}

/// What the host renders, in a dry-run, for a reference to an output of a
/// step that was only planned (the host's `engine::step::UNKNOWN`).
pub const KNOWN_LATER: &str = "(known after the step runs)";

/// One action of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionInfo {
    pub name: String,
    pub summary: String,
    pub effect: Effect,
}

/// A capability a plugin needs, with the values it applies to: `exec`
/// programs, `http` hosts, `secrets` names; `*` means any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capability {
    pub name: String,
    pub values: Vec<String>,
}

/// What `describe` returns: built with [`Description::new`] and its chained
/// methods.
///
/// ```
/// use cairn_sdk::{Description, Effect};
/// let d = Description::new("exec", "0.1.0", "Run a command on a target")
///     .action("run", "Run a program", Effect::Write)
///     .default_action("run")
///     .capability("exec", ["*"]);
/// assert_eq!(d.default_action.as_deref(), Some("run"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub name: String,
    /// A semver version; use `env!("CARGO_PKG_VERSION")`.
    pub version: String,
    pub summary: String,
    pub actions: Vec<ActionInfo>,
    /// The action used when a step names none.
    pub default_action: Option<String>,
    /// The schemas of the step arguments, `{"actions": {NAME: SCHEMA}}`
    /// (see [`crate::schema`]); `{}` when not set, and then unchecked.
    pub args_schema: serde_json::Value,
    pub capabilities: Vec<Capability>,
}

impl Description {
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        Description {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            actions: Vec::new(),
            default_action: None,
            args_schema: serde_json::Value::Object(Default::default()),
            capabilities: Vec::new(),
        }
    }

    pub fn action(
        mut self,
        name: impl Into<String>,
        summary: impl Into<String>,
        effect: Effect,
    ) -> Self {
        self.actions.push(ActionInfo {
            name: name.into(),
            summary: summary.into(),
            effect,
        });
        self
    }

    pub fn default_action(mut self, name: impl Into<String>) -> Self {
        self.default_action = Some(name.into());
        self
    }

    /// Declares a capability; calling it twice with one name adds values.
    pub fn capability<I, S>(mut self, name: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let name = name.into();
        let values = values.into_iter().map(Into::into);
        match self.capabilities.iter_mut().find(|c| c.name == name) {
            Some(c) => c.values.extend(values),
            None => self.capabilities.push(Capability {
                name,
                values: values.collect(),
            }),
        }
        self
    }

    /// Sets the whole argument schema (normally built by
    /// [`Description::action_args`]).
    pub fn args_schema(mut self, schema: serde_json::Value) -> Self {
        self.args_schema = schema;
        self
    }

    /// Declares the arguments of `action`: the schema derived from `T`,
    /// the struct its arguments decode into.
    pub fn action_args<T: schemars::JsonSchema>(self, action: &str) -> Self {
        self.action_schema(action, crate::schema::schema_of::<T>())
    }

    /// Declares the arguments of every action declared so far: for a plugin
    /// whose actions all decode one struct.
    pub fn args_for_every_action<T: schemars::JsonSchema>(mut self) -> Self {
        let schema = crate::schema::schema_of::<T>();
        let names: Vec<String> = self.actions.iter().map(|a| a.name.clone()).collect();
        for name in names {
            self = self.action_schema(&name, schema.clone());
        }
        self
    }

    /// Declares the arguments of `action` as a schema value: for arguments
    /// decoded into several structs, [`crate::schema::merged`].
    pub fn action_schema(mut self, action: &str, schema: serde_json::Value) -> Self {
        if !self.args_schema.is_object() {
            self.args_schema = serde_json::Value::Object(Default::default());
        }
        let actions = self
            .args_schema
            .as_object_mut()
            .expect("an object")
            .entry("actions");
        let actions = actions.or_insert_with(|| serde_json::Value::Object(Default::default()));
        if let Some(map) = actions.as_object_mut() {
            map.insert(action.to_string(), schema);
        }
        self
    }

    /// The action named `name`, if the plugin has it.
    pub fn find_action(&self, name: &str) -> Option<&ActionInfo> {
        self.actions.iter().find(|a| a.name == name)
    }
}
