//! `unapply`: migrates each app of `to` back to its migration (`zero`:
//! none), after checking with Django that the way back exists (no
//! irreversible operation) and leads only backwards.

use cairn_sdk::prelude::*;
use serde_json::{Map, Value, json};

use crate::site::{Site, run_ok};
use crate::{Step, database_args, inspect, irreversible};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub struct UnapplyArgs {
    #[serde(skip)]
    pub site: Site,
    pub database: Option<String>,
    /// `{app: migration}` (`zero` for none): the `before` output of `apply`;
    /// also `"app=migration app2=zero"`.
    pub to: Value,
}

/// `to` as `(app, migration)` pairs: an object, or `"app=name ..."`.
fn targets(to: &Value) -> Result<Vec<(String, String)>, PluginError> {
    let bad = |why: String| PluginError::arg("to", why);
    let pairs: Vec<(String, String)> = match to {
        Value::Object(m) => m
            .iter()
            .map(|(app, v)| match v {
                Value::String(s) => Ok((app.clone(), s.clone())),
                other => Err(bad(format!(
                    "app `{app}`: expected a migration name or `zero`, got {other}"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Value::String(s) => s
            .split_whitespace()
            .map(|pair| {
                pair.split_once('=')
                    .map(|(a, n)| (a.to_string(), n.to_string()))
                    .ok_or_else(|| bad(format!("`{pair}` is not `app=migration`")))
            })
            .collect::<Result<_, _>>()?,
        other => return Err(bad(format!("expected `{{app: migration}}`, got {other}"))),
    };
    for (app, name) in &pairs {
        let ok = |s: &str| {
            !s.is_empty()
                && !s.starts_with('-')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        };
        if !ok(app) || !ok(name) {
            return Err(bad(format!("`{app}={name}` is not an app and a migration")));
        }
    }
    Ok(pairs)
}

pub fn unapply(host: &dyn Host, ctx: &Context, a: UnapplyArgs) -> Result<Outputs, PluginError> {
    let to = targets(&a.to)?;
    if to.is_empty() {
        host.info("nothing to unapply");
        return Ok(Outputs::new()
            .set("reverted", Vec::<String>::new())
            .set("after", json!({}))
            .set("planned", false));
    }
    let seen = inspect(host, ctx, &a.site, a.database.as_deref(), Some(&to))?;
    if let Some(fwd) = seen.plan.iter().find(|s| !s.backwards) {
        return Err(PluginError::new(format!(
            "unapply would apply {} (the database is behind `to`); nothing was migrated",
            fwd.label()
        )));
    }
    let flagged = irreversible(&seen.plan);
    if !flagged.is_empty() {
        return Err(PluginError::new(format!(
            "migrating back needs {} operation(s) that cannot be reversed; nothing was migrated\n  {}",
            flagged.len(),
            flagged.join("\n  ")
        )));
    }
    let reverted: Vec<String> = seen.plan.iter().map(Step::label).collect();
    let mut planned = false;
    for (app, name) in &to {
        let mut args = vec![
            "migrate".to_string(),
            app.clone(),
            name.clone(),
            "--noinput".into(),
        ];
        args.extend(database_args(a.database.as_deref()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let cmd = a.site.manage(host, ctx, &args, Effect::Write)?;
        let done = run_ok(host, &cmd, &format!("migrating `{app}` back to `{name}`"))?;
        planned |= done.planned;
    }
    if planned {
        return Ok(Outputs::new()
            .set("reverted", reverted)
            .set("after", json!({}))
            .set("planned", true));
    }
    let now = inspect(host, ctx, &a.site, a.database.as_deref(), None)?;
    let mut after = Map::new();
    for (app, name) in &to {
        let got = now.state.get(app).cloned().unwrap_or_else(|| "zero".into());
        if got != name.as_str() {
            return Err(PluginError::new(format!(
                "after migrating back, `{app}` is at {got} instead of `{name}`"
            )));
        }
        after.insert(app.clone(), got);
    }
    Ok(Outputs::new()
        .set("reverted", reverted)
        .set("after", Value::Object(after))
        .set("planned", false))
}
