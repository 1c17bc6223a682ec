//! The preflight: before a run's first step, everything it needs must exist
//! (every secret it names, every storage and its credentials, every target,
//! plugin and grant), so no run changes something at step 1 and stops at
//! step 7 on a missing secret. `cairn validate` runs the same checks.
//!
//! Secrets and storages named in step arguments are found by the names of
//! their keys: a key that ends in `-secret` (`password-secret`), each value
//! of a `secret-env` map, and a `storage` key. A value that comes from a
//! step's outputs is known only when that step has run; it is not checked.
//!
//! Every step's arguments are checked against the schema its plugin
//! declares for the action (`arg_check.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cairn_lang::{
    ArgValue, Diagnostic, Diagnostics, Ref, Runbook, Scope, SourceFile, Spanned, StorageKind,
    Template, did_you_mean,
};
use serde_json::Value;

use super::{Resolved, all_steps, resolve_plugins};
use crate::error::{Error, Result};
use crate::project::Workspace;

/// The checks of a run, with its bound params. Returns every step's plugin.
pub fn check(
    ws: &Workspace,
    rb: &Runbook,
    params: &BTreeMap<String, Value>,
) -> Result<HashMap<String, Resolved>> {
    ws.validate(rb, true)?;
    let plugins = resolve_plugins(ws, rb)?;
    let secrets = if ws.project.secrets.is_empty() {
        BTreeSet::new()
    } else {
        ws.secrets
            .names()
            .map_err(|e| Error::Usage(format!("secrets: {e}")))?
    };
    let mut cx = Checks {
        ws,
        params,
        secrets: &secrets,
        plugins: &plugins,
        diags: Diagnostics::new(),
        denied: Vec::new(),
    };
    for step in all_steps(rb) {
        let file = rb.file_of(&step.id).clone();
        cx.walk(&step.id, &file, None, &step.args);
        if let Some(r) = plugins.get(&step.id) {
            let render = |t: &Template| cx.render(t);
            let found = super::arg_check::check_step(step, &file, r, &render);
            for d in found {
                cx.diags.push(d);
            }
        }
    }
    if !cx.diags.is_empty() {
        return Err(Error::Invalid(cx.diags));
    }
    if !cx.denied.is_empty() {
        return Err(Error::Refused(cx.denied.join("; ")));
    }
    Ok(plugins)
}

/// The checks `cairn validate` makes: those of a run with the params'
/// defaults (a param without one is not known, and what depends on it is
/// not checked).
pub fn validate(ws: &Workspace, rb: &Runbook) -> Result<()> {
    let params: BTreeMap<String, Value> = rb
        .params
        .iter()
        .filter_map(|p| Some((p.name.clone(), p.default.clone()?)))
        .collect();
    check(ws, rb, &params).map(|_| ())
}

struct Checks<'a> {
    ws: &'a Workspace,
    params: &'a BTreeMap<String, Value>,
    secrets: &'a BTreeSet<String>,
    plugins: &'a HashMap<String, Resolved>,
    diags: Diagnostics,
    /// Names a step needs that its plugin's grant does not allow (exit 3).
    denied: Vec<String>,
}

/// Renders a template from what is known before the run: params and the
/// project. `None` when it uses anything else (a step's outputs, the run).
struct Known<'a> {
    params: &'a BTreeMap<String, Value>,
    ws: &'a Workspace,
}

impl cairn_lang::Resolver for Known<'_> {
    fn lookup(&self, r: &Ref) -> Option<Value> {
        let first = r.path.first()?;
        match r.scope {
            Scope::Params if r.path.len() == 1 => self.params.get(first).cloned(),
            Scope::Project => match first.as_str() {
                "name" => Some(Value::String(self.ws.project.name.clone())),
                "root" => Some(Value::String(self.ws.project.root.display().to_string())),
                _ => None,
            },
            _ => None,
        }
    }
}

impl Checks<'_> {
    /// The value of a template when it is known before the run.
    fn render(&self, t: &Template) -> Option<Value> {
        let known = Known {
            params: self.params,
            ws: self.ws,
        };
        cairn_lang::render_template(t, &known).ok()
    }

    fn known(&self, t: &Template) -> Option<String> {
        match self.render(t)? {
            Value::String(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    /// Every key of a step's arguments, depth first.
    fn walk(&mut self, step: &str, file: &SourceFile, key: Option<&str>, v: &ArgValue) {
        match v {
            ArgValue::String(t) => match key {
                Some(k) if k.ends_with("-secret") || k == "secret-env" => {
                    self.secret(step, file, t);
                }
                Some("storage") => self.storage_arg(step, file, t),
                _ => {}
            },
            ArgValue::List(items) => {
                for i in items {
                    self.walk(step, file, key, i);
                }
            }
            ArgValue::Object(fields) => {
                for (k, v) in fields {
                    // The values of `secret-env NAME=SECRET` name secrets.
                    let k = if key == Some("secret-env") {
                        "secret-env"
                    } else {
                        k
                    };
                    self.walk(step, file, Some(k), v);
                }
            }
            _ => {}
        }
    }

    fn secret(&mut self, step: &str, file: &SourceFile, t: &Spanned<Template>) {
        let Some(name) = self.known(&t.value) else {
            return;
        };
        if !self.secrets.contains(&name) {
            let mut d = Diagnostic::at(
                file,
                t.span,
                format!("step `{step}` needs secret `{name}`, which no secrets source holds"),
            )
            .with_label("no such secret");
            d.help = Some(match did_you_mean(&name, self.secrets.iter().map(String::as_str)) {
                Some(best) => format!("did you mean `{best}`?"),
                None if self.ws.project.secrets.is_empty() => {
                    "the project declares no secrets; add a `secrets { ... }` block to cairn.kdl"
                        .into()
                }
                None => "add it to one of the project's secrets sources (see `secrets` in cairn.kdl)"
                    .into(),
            });
            self.diags.push(d);
            return;
        }
        self.granted(step, "secrets", &name);
    }

    fn storage_arg(&mut self, step: &str, file: &SourceFile, t: &Spanned<Template>) {
        let Some(name) = self.known(&t.value) else {
            return;
        };
        let storages = &self.ws.project.storages;
        if !storages.contains_key(&name) {
            let names: Vec<&str> = storages.keys().map(String::as_str).collect();
            let mut d = Diagnostic::at(
                file,
                t.span,
                format!("step `{step}` uses storage `{name}`, which cairn.kdl does not define"),
            )
            .with_label("unknown storage");
            d.help = Some(match did_you_mean(&name, names.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("the project's storages: {}", names.join(", ")),
            });
            self.diags.push(d);
            return;
        }
        self.granted(step, "storage", &name);
        self.credentials(&name);
    }

    /// The credentials an `s3` storage names must be secrets that exist.
    fn credentials(&mut self, storage: &str) {
        let Some(s) = self.ws.project.storages.get(storage) else {
            return;
        };
        let StorageKind::S3 {
            credentials: Some(c),
            ..
        } = &s.kind
        else {
            return;
        };
        let names = [
            ("access-key", Some(&c.access_key)),
            ("secret-key", Some(&c.secret_key)),
            ("session-token", c.session_token.as_ref()),
        ];
        for (prop, name) in names {
            let Some(name) = name else { continue };
            let message = format!(
                "storage `{storage}` takes `{prop}=` from secret `{name}`, which no secrets source holds"
            );
            if self.secrets.contains(name) || self.diags.iter().any(|d| d.message == message) {
                continue;
            }
            self.diags.push(
                Diagnostic::at(&self.ws.project.file, s.span, message)
                    .with_help("add it to one of the project's secrets sources"),
            );
        }
    }

    /// A name the step uses must be allowed by its plugin's grants.
    fn granted(&mut self, step: &str, capability: &str, name: &str) {
        let Some(r) = self.plugins.get(step) else {
            return;
        };
        if !r.grants.allows(capability, name, |g, v| g == v) {
            let plugin = &r.plugin.name;
            self.denied.push(format!(
                "step `{step}` needs {capability} `{name}`, which the grant of plugin `{plugin}` does not allow \
                 (add it in cairn.kdl: `grant plugin={plugin} {{ {capability} \"{name}\" }}`)"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace(config: &str, secrets: &str) -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cairn.kdl"), config).unwrap();
        std::fs::write(dir.path().join("secrets.json"), secrets).unwrap();
        let ws = Workspace::open(Some(dir.path())).unwrap();
        (dir, ws)
    }

    fn runbook(ws: &Workspace, text: &str) -> Runbook {
        let path = ws.project.root.join("runbooks/t.kdl");
        cairn_lang::load_runbook_source(&ws.project, &path, text).unwrap()
    }

    const CONFIG: &str = "project t {\n    secrets { file \"secrets.json\"; }\n}\n";

    #[test]
    fn a_secret_named_through_a_param_is_checked_with_the_param_value() {
        let (_d, ws) = workspace(CONFIG, r#"{"db_pw": "x-value"}"#);
        let rb = runbook(
            &ws,
            "runbook t version=1 {\n    param pw default=\"db_pw\"\n    step a uses=backup action=postgres {\n        url \"postgres://h/db\"\n        password-secret \"{{ params.pw }}\"\n        storage local\n    }\n}\n",
        );
        validate(&ws, &rb).unwrap();
        let mut params = BTreeMap::new();
        params.insert("pw".to_string(), Value::String("nope".into()));
        let Err(err) = check(&ws, &rb, &params) else {
            panic!("a missing secret passes the preflight")
        };
        let err = err.to_string();
        assert!(err.contains("secret `nope`"), "{err}");
    }

    #[test]
    fn a_value_from_a_step_output_is_not_checked() {
        let (_d, ws) = workspace(CONFIG, "{}");
        let rb = runbook(
            &ws,
            "runbook t version=1 {\n    step a uses=exec { run echo x; }\n    step b uses=exec {\n        run \"true\"\n        secret-env X=\"{{ steps.a.outputs.stdout }}\"\n    }\n}\n",
        );
        validate(&ws, &rb).unwrap();
    }

    #[test]
    fn missing_s3_credentials_are_named() {
        let config = "project t {\n    secrets { file \"secrets.json\"; }\n    storage off { s3 bucket=b access-key=ak secret-key=sk; }\n}\n";
        let (_d, ws) = workspace(config, r#"{"ak": "a-value"}"#);
        let rb = runbook(
            &ws,
            "runbook t version=1 {\n    step a uses=backup action=files {\n        dir \"/srv\"\n        storage off\n    }\n}\n",
        );
        let err = validate(&ws, &rb).unwrap_err();
        let Error::Invalid(d) = err else {
            panic!("{err}")
        };
        let text: Vec<String> = d.iter().map(|d| d.message.clone()).collect();
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(text[0].contains("secret `sk`"), "{text:?}");
    }
}
