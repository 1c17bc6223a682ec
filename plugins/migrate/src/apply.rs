//! `apply`: the plan, the migration and the state after it from one Django
//! process (the snippet in mode `apply`), so that the maintenance window
//! pays for one start of Django, like `manage.py migrate` by hand, not
//! three. Its first answer, printed before anything is migrated, is the
//! plan and where each app was (`before`, for `unapply`); the snippet
//! migrates only when that plan may be applied; its second answer is the
//! state after.
//!
//! A dry-run (nothing may be written) reads the plan and plans
//! `manage.py migrate --noinput`.

use cairn_sdk::prelude::*;
use serde_json::{Map, Value, json};

use crate::site::{run_ok, tail};
use crate::{
    AFTER, ANSWER, ApplyArgs, Step, answer, database_args, inspect, irreversible, plan_outputs,
    say_plan, snippet,
};

pub(crate) fn apply(host: &dyn Host, ctx: &Context, a: ApplyArgs) -> Result<Outputs, PluginError> {
    if ctx.is_dry_run() {
        return planned(host, ctx, &a);
    }
    let request = json!({
        "mode": "apply",
        "database": a.database,
        "allow_irreversible": a.allow_irreversible,
    });
    let done = host.exec(&snippet(host, ctx, &a.site, &request, Effect::Write)?)?;
    if done.planned {
        return planned(host, ctx, &a);
    }
    let seen = answer(&done, ANSWER)?;
    if done.status != 0 {
        let before = seen
            .map(|s| format!(" (before it: {})", before_text(&s.plan, &s.state)))
            .unwrap_or_default();
        return Err(PluginError::new(format!(
            "applying the migrations: `manage.py shell` running `migrate` exited with status {}{before}\n  {}",
            done.status,
            tail(&done)
        )));
    }
    let seen = seen.ok_or_else(|| {
        PluginError::new(format!(
            "applying the migrations: `manage.py shell` gave no answer\n  {}",
            tail(&done)
        ))
    })?;
    check_and_say(host, &a, &seen.plan)?;
    let outputs = plan_outputs(&seen.plan, &seen.state);
    if seen.plan.is_empty() {
        return Ok(outputs.set("after", json!({})).set("planned", false));
    }
    let now = answer(&done, AFTER)?.ok_or_else(|| {
        PluginError::new(format!(
            "applying the migrations: `migrate` ran but the state after it was not read\n  {}",
            tail(&done)
        ))
    })?;
    if !now.plan.is_empty() {
        return Err(PluginError::new(format!(
            "`manage.py migrate` succeeded but {} migration(s) are still unapplied: {}",
            now.plan.len(),
            now.plan
                .iter()
                .map(Step::label)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let after: Map<String, Value> = seen
        .plan
        .iter()
        .map(|s| {
            (
                s.app.clone(),
                now.state.get(&s.app).cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    Ok(outputs
        .set("after", Value::Object(after))
        .set("planned", false))
}

/// A dry-run: the plan read, `manage.py migrate --noinput` planned.
fn planned(host: &dyn Host, ctx: &Context, a: &ApplyArgs) -> Result<Outputs, PluginError> {
    let seen = inspect(host, ctx, &a.site, a.database.as_deref(), None)?;
    check_and_say(host, a, &seen.plan)?;
    let outputs = plan_outputs(&seen.plan, &seen.state).set("after", json!({}));
    if seen.plan.is_empty() {
        return Ok(outputs.set("planned", false));
    }
    let mut args = vec!["migrate".to_string(), "--noinput".to_string()];
    args.extend(database_args(a.database.as_deref()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cmd = a.site.manage(host, ctx, &args, Effect::Write)?;
    let done = run_ok(host, &cmd, "applying the migrations")?;
    Ok(outputs.set("planned", done.planned))
}

fn refusal(flagged: &[String]) -> PluginError {
    PluginError::new(format!(
        "the plan has {} operation(s) that cannot be reversed, so an undo could not migrate back; pass `allow-irreversible #true` to apply it anyway; nothing was migrated\n  {}",
        flagged.len(),
        flagged.join("\n  ")
    ))
}

/// `app=migration ...` for the apps of `plan`, from `state`.
fn before_text(plan: &[Step], state: &std::collections::BTreeMap<String, Value>) -> String {
    let apps: std::collections::BTreeSet<&str> = plan.iter().map(|s| s.app.as_str()).collect();
    apps.iter()
        .map(|a| {
            let at = state.get(*a).and_then(Value::as_str).unwrap_or("zero");
            format!("{a}={at}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Refuses irreversible migrations unless allowed (warns of them when
/// allowed) and says the plan.
fn check_and_say(host: &dyn Host, a: &ApplyArgs, plan: &[Step]) -> Result<(), PluginError> {
    let flagged = irreversible(plan);
    if !flagged.is_empty() && !a.allow_irreversible {
        return Err(refusal(&flagged));
    }
    for line in &flagged {
        host.warn(line);
    }
    say_plan(host, plan);
    Ok(())
}
