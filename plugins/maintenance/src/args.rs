//! The arguments of every backend, and their JSON Schema.

use cairn_sdk::args::one_or_many;
use cairn_sdk::prelude::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct MaintenanceArgs {
    /// `flag-file` (the default) or `haproxy`.
    #[serde(default = "flag_file")]
    #[schemars(extend("enum" = ["flag-file", "haproxy"]))]
    pub(crate) backend: String,
    /// The flag file the web server checks (on the step's target).
    pub(crate) file: Option<String>,
    /// on: an HTML page on the target to serve; a plain page when absent.
    pub(crate) page: Option<String>,
    /// A URL of the site, requested to check the page is (or is no longer)
    /// served.
    pub(crate) url: Option<String>,
    /// on: text the served page must hold; the marker by default.
    pub(crate) expect_text: Option<String>,
    /// off: the statuses that mean the site answers again; 200.
    #[serde(default = "ok_status", deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<u16>")]
    pub(crate) expect_status: Vec<u16>,
    /// How long the check may take; 10s.
    pub(crate) timeout: Option<Duration>,
    /// How often the check asks; 250ms.
    pub(crate) interval: Option<Duration>,
    /// haproxy: the runtime API's address (a unix socket path or host:port).
    pub(crate) socket: Option<String>,
    /// haproxy: the backend whose servers go in maintenance.
    pub(crate) haproxy_backend: Option<String>,
    /// haproxy: the servers (all of the backend by default; `off` needs
    /// them: `on`'s `put-in-maintenance`).
    #[serde(default, deserialize_with = "opt_names")]
    #[schemars(with = "Option<cairn_sdk::schema::OneOrMany<String>>")]
    pub(crate) servers: Option<Vec<String>>,
}

impl MaintenanceArgs {
    /// An empty string is an absent argument: a runbook passes its params
    /// through (`socket "{{ params.haproxy-socket }}"`), whatever backend
    /// it names.
    pub(crate) fn without_empty(mut self) -> Self {
        for v in [
            &mut self.file,
            &mut self.page,
            &mut self.url,
            &mut self.expect_text,
            &mut self.socket,
            &mut self.haproxy_backend,
        ] {
            if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *v = None;
            }
        }
        self
    }
}

/// One name, a list, or one string of names separated by spaces or commas.
fn opt_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    let split = |s: &str| -> Vec<String> {
        s.split([' ', ','])
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(split(&s))),
        serde_json::Value::Array(items) => Ok(Some(
            items
                .iter()
                .map(|i| {
                    i.as_str().map(split).ok_or_else(|| {
                        serde::de::Error::custom("expected a name or a list of names")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
                .concat(),
        )),
        _ => Err(serde::de::Error::custom(
            "expected a name or a list of names",
        )),
    }
}

fn flag_file() -> String {
    "flag-file".into()
}

fn ok_status() -> Vec<u16> {
    vec![200]
}
