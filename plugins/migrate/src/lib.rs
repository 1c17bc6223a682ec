//! The stock `migrate` plugin: Django migrations.
//!
//! - `plan` (read): what `manage.py migrate` would apply, per app, with the
//!   operations that cannot be reversed (`RunPython` without `reverse_code`,
//!   `RunSQL` without `reverse_sql`, any operation whose `reversible` is
//!   false) flagged.
//! - `apply` (write): `manage.py migrate --noinput`; refuses an irreversible
//!   plan unless `allow-irreversible #true`; returns `before`, the migration
//!   each app it migrates was at (`zero` for none), for `unapply`. The plan,
//!   the migration and the state after it come from one Django process
//!   (`apply.rs`).
//! - `unapply` (write): migrates each app of `to` back to its migration.
//!
//! The plan, the irreversible operations and the state come from Django
//! itself: a small snippet (`inspect.py`) run by `manage.py shell -c` with
//! the site's python and settings, which asks Django's migration executor
//! the question `migrate --plan` asks and reads each operation's
//! `reversible`. Nothing in it writes.
//!
//! ```kdl
//! step migrate uses=migrate action=apply {
//!     dir "/srv/site"
//!     python "/srv/site/venv/bin/python"
//!     secret-env DATABASE_URL=site_database_url
//!     undo {
//!         step back uses=migrate action=unapply {
//!             dir "/srv/site"
//!             python "/srv/site/venv/bin/python"
//!             secret-env DATABASE_URL=site_database_url
//!             to "{{ steps.migrate.outputs.before }}"
//!         }
//!     }
//! }
//! ```

use std::collections::BTreeMap;

use cairn_sdk::prelude::*;
use serde_json::{Map, Value, json};

mod apply;
mod site;
mod unapply;
use apply::apply;
use site::{Site, run_ok};
use unapply::unapply;

/// The Django snippet, run by `manage.py shell -c`.
const INSPECT: &str = include_str!("inspect.py");
/// What `shell -c` runs: the snippet, read from stdin.
const RUN_STDIN: &str = "exec(__import__('sys').stdin.read())";
/// The line of its answer.
const ANSWER: &str = "CAIRN-MIGRATE-JSON ";
/// The line of its answer after `apply` migrated.
const AFTER: &str = "CAIRN-MIGRATE-AFTER ";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
struct PlanArgs {
    #[serde(skip)]
    site: Site,
    /// The Django database alias; `default` by default.
    database: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct ApplyArgs {
    #[serde(skip)]
    site: Site,
    database: Option<String>,
    /// Apply a plan with operations that cannot be reversed.
    #[serde(default)]
    allow_irreversible: bool,
}

pub struct Migrate;

impl Plugin for Migrate {
    fn describe() -> Description {
        Description::new(
            "migrate",
            env!("CARGO_PKG_VERSION"),
            "Django migrations: plan (irreversible operations flagged), apply, unapply",
        )
        .action(
            "plan",
            "The migrations `manage.py migrate` would apply, per app, irreversible operations flagged",
            Effect::Read,
        )
        .action(
            "apply",
            "`manage.py migrate`; returns `before`, where each migrated app was",
            Effect::Write,
        )
        .action(
            "unapply",
            "Migrate each app of `to` back to its migration (`zero`: none)",
            Effect::Write,
        )
        .default_action("apply")
        .action_schema(
            "plan",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<site::Site>(), cairn_sdk::schema::schema_of::<PlanArgs>()]),
        )
        .action_schema(
            "apply",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<site::Site>(), cairn_sdk::schema::schema_of::<ApplyArgs>()]),
        )
        .action_schema(
            "unapply",
            cairn_sdk::schema::merged(&[cairn_sdk::schema::schema_of::<site::Site>(), cairn_sdk::schema::schema_of::<unapply::UnapplyArgs>()]),
        )
        .capability("exec", ["*"])
        .capability("secrets", ["*"])
    }

    fn run(
        host: &dyn Host,
        ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "plan" => {
                site::check_keys(&args, &["database"])?;
                let site = args.decode()?;
                plan(
                    host,
                    ctx,
                    PlanArgs {
                        site,
                        ..args.decode()?
                    },
                )
            }
            "apply" => {
                site::check_keys(&args, &["database", "allow-irreversible"])?;
                let site = args.decode()?;
                apply(
                    host,
                    ctx,
                    ApplyArgs {
                        site,
                        ..args.decode()?
                    },
                )
            }
            "unapply" => {
                site::check_keys(&args, &["database", "to"])?;
                let site = args.decode()?;
                unapply(
                    host,
                    ctx,
                    unapply::UnapplyArgs {
                        site,
                        ..args.decode()?
                    },
                )
            }
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(Migrate);

/// One migration of a plan.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Step {
    pub app: String,
    pub name: String,
    pub backwards: bool,
    #[serde(default)]
    pub operations: Vec<String>,
    #[serde(default)]
    pub irreversible: Vec<Irreversible>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Irreversible {
    pub operation: String,
    pub index: usize,
    pub describe: String,
}

/// Django's answer.
#[derive(Debug, Deserialize)]
pub struct Inspected {
    pub plan: Vec<Step>,
    /// Per app: the last applied migration, `zero`, or a list when the
    /// applied migrations of an app have several heads.
    pub state: BTreeMap<String, Value>,
    #[serde(default)]
    pub conflicts: BTreeMap<String, Vec<String>>,
}

impl Step {
    pub(crate) fn label(&self) -> String {
        format!("{}.{}", self.app, self.name)
    }
}

/// Asks Django (a read): the forward plan (`targets` None) or the plan to
/// reach `targets`, and the state of every app.
pub(crate) fn inspect(
    host: &dyn Host,
    ctx: &Context,
    site: &Site,
    database: Option<&str>,
    targets: Option<&[(String, String)]>,
) -> Result<Inspected, PluginError> {
    let request = match targets {
        None => json!({ "mode": "plan", "database": database }),
        Some(t) => json!({ "mode": "back", "database": database, "targets": t }),
    };
    let done = run_ok(
        host,
        &snippet(host, ctx, site, &request, Effect::Read)?,
        "reading the migrations",
    )?;
    answer(&done, ANSWER)?.ok_or_else(|| {
        PluginError::new(format!(
            "reading the migrations: `manage.py shell` gave no answer\n  {}",
            site::tail(&done)
        ))
    })
}

/// `manage.py shell -c` running the snippet with `request`. The snippet
/// goes on stdin, so that a dry-run prints one short line.
pub(crate) fn snippet(
    host: &dyn Host,
    ctx: &Context,
    site: &Site,
    request: &Value,
    effect: Effect,
) -> Result<Command, PluginError> {
    Ok(site
        .manage(host, ctx, &["shell", "-c", RUN_STDIN], effect)?
        .env("CAIRN_MIGRATE", request.to_string())
        .stdin(INSPECT))
}

/// The snippet's answer on the line starting with `prefix`; `None` when
/// there is no such line. Conflicting migrations are an error.
pub(crate) fn answer(done: &Completed, prefix: &str) -> Result<Option<Inspected>, PluginError> {
    let text = done.stdout_text();
    let Some(line) = text.lines().find_map(|l| l.strip_prefix(prefix)) else {
        return Ok(None);
    };
    let answer: Inspected = serde_json::from_str(line)
        .map_err(|e| PluginError::new(format!("reading the migrations: {e}")))?;
    if !answer.conflicts.is_empty() {
        let list: Vec<String> = answer
            .conflicts
            .iter()
            .map(|(app, names)| format!("{app}: {}", names.join(", ")))
            .collect();
        return Err(PluginError::new(format!(
            "conflicting migrations (several leaves) in {}; merge them (`manage.py makemigrations --merge`) first",
            list.join("; ")
        )));
    }
    Ok(Some(answer))
}

/// `app.name: Operation (describe)` for each irreversible operation.
pub(crate) fn irreversible(plan: &[Step]) -> Vec<String> {
    plan.iter()
        .flat_map(|s| {
            s.irreversible.iter().map(move |i| {
                format!(
                    "{}: operation {} {} ({}) cannot be reversed",
                    s.label(),
                    i.index + 1,
                    i.operation,
                    i.describe
                )
            })
        })
        .collect()
}

/// The outputs every action shares about a plan.
pub(crate) fn plan_outputs(plan: &[Step], state: &BTreeMap<String, Value>) -> Outputs {
    let mut apps: Map<String, Value> = Map::new();
    for s in plan {
        let list = apps.entry(s.app.clone()).or_insert_with(|| json!([]));
        if let Value::Array(v) = list {
            v.push(Value::from(s.name.clone()));
        }
    }
    let before: Map<String, Value> = apps
        .keys()
        .map(|a| {
            (
                a.clone(),
                state.get(a).cloned().unwrap_or_else(|| "zero".into()),
            )
        })
        .collect();
    let flagged = irreversible(plan);
    Outputs::new()
        .set("count", plan.len())
        .set(
            "migrations",
            plan.iter().map(Step::label).collect::<Vec<_>>(),
        )
        .set("apps", Value::Object(apps))
        .set("before", Value::Object(before))
        .set("irreversible-count", flagged.len())
        .set("irreversible", flagged)
        .set(
            "operations",
            plan.iter()
                .map(|s| json!({ "migration": s.label(), "operations": s.operations }))
                .collect::<Vec<_>>(),
        )
}

fn plan(host: &dyn Host, ctx: &Context, a: PlanArgs) -> Result<Outputs, PluginError> {
    let seen = inspect(host, ctx, &a.site, a.database.as_deref(), None)?;
    for line in irreversible(&seen.plan) {
        host.warn(&line);
    }
    say_plan(host, &seen.plan);
    Ok(plan_outputs(&seen.plan, &seen.state).set("planned", false))
}

pub(crate) fn say_plan(host: &dyn Host, plan: &[Step]) {
    if plan.is_empty() {
        host.info("no migrations to apply");
    } else {
        host.info(&format!(
            "{} migration(s) to apply: {}",
            plan.len(),
            plan.iter().map(Step::label).collect::<Vec<_>>().join(", ")
        ));
    }
}

pub(crate) fn database_args(database: Option<&str>) -> Vec<String> {
    database
        .map(|d| vec![format!("--database={d}")])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
