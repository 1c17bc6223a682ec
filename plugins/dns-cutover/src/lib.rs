//! The stock `dns-cutover` plugin: moves a site's names to a new address
//! in the order operators do it by hand: lower the TTLs ahead of time
//! (`prepare`), change the records (`switch`), wait until every
//! authoritative server answers the new values (`verify`), put the TTLs
//! back (`restore-ttl`). `restore` puts back what `switch` or `prepare`
//! replaced: the undo of both.
//!
//! ```kdl
//! step switch uses=dns-cutover action=switch {
//!     provider powerdns
//!     api "http://127.0.0.1:8081/api/v1"
//!     api-key-secret pdns-key
//!     zone "example.com."
//!     record name=www type=A to="192.0.2.20"
//!     undo {
//!         step back uses=dns-cutover action=restore {
//!             provider powerdns
//!             api "http://127.0.0.1:8081/api/v1"
//!             api-key-secret pdns-key
//!             zone "example.com."
//!             previous "{{ steps.switch.outputs.previous }}"
//!         }
//!     }
//! }
//! ```
//!
//! Providers: PowerDNS's HTTP API, RFC 2136 dynamic updates with TSIG, and
//! Cloudflare's DNS API, behind one interface (`provider.rs`). Guardrails after octoDNS's: in a zone of at
//! least 10 record sets, changing more than `max-change-share` (30 %) of
//! them is refused, and deleting a record set needs `allow-delete #true`.

mod actions;
mod cloudflare;
mod model;
mod powerdns;
mod provider;
mod rfc2136;
#[cfg(test)]
mod tests;

use cairn_sdk::args::one_or_many;
use cairn_sdk::prelude::*;

/// `record name=www type=A to="192.0.2.20,192.0.2.21" ttl=300`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RecordArg {
    pub name: String,
    #[serde(rename = "type", default = "a_type")]
    pub rtype: String,
    /// The new values, comma-separated; empty deletes the record set.
    pub to: Option<String>,
    pub ttl: Option<u32>,
}

fn a_type() -> String {
    "A".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct StepArgs {
    /// `powerdns`, `cloudflare` or `rfc2136`.
    #[schemars(extend("enum" = ["powerdns", "cloudflare", "rfc2136"]))]
    pub provider: String,
    /// The zone (`example.com.`).
    pub zone: String,
    /// PowerDNS: `http://HOST:PORT/api/v1`; Cloudflare: its API base
    /// (default `https://api.cloudflare.com/client/v4`).
    pub api: Option<String>,
    /// PowerDNS's server id (default `localhost`).
    pub server_id: Option<String>,
    /// PowerDNS: the secret with the X-API-Key.
    pub api_key_secret: Option<String>,
    /// Cloudflare: the secret with the API token.
    pub api_token_secret: Option<String>,
    /// rfc2136: the TSIG key's name and the secret holding it (base64).
    pub tsig_key_name: Option<String>,
    /// rfc2136: the secret with the TSIG key, base64.
    pub tsig_key_secret: Option<String>,
    /// Cloudflare's zone id (looked up by name when absent).
    pub zone_id: Option<String>,
    /// `record name=www type=A to="192.0.2.20,192.0.2.21" ttl=300`; repeatable.
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<RecordArg>")]
    pub record: Vec<RecordArg>,
    /// `prepare`: the lowered TTL (default 60).
    pub ttl: Option<u32>,
    /// `restore`, `restore-ttl`: the `previous` output of `switch`/`prepare`.
    pub previous: Option<serde_json::Value>,
    /// `verify`: the authoritative servers, `IP[:PORT]`.
    #[serde(default, deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<String>")]
    pub servers: Vec<String>,
    pub timeout: Option<Duration>,
    pub max_change_share: Option<f64>,
    #[serde(default)]
    pub allow_delete: bool,
}

impl StepArgs {
    /// The names and types of the record sets in `previous`, if any.
    pub(crate) fn previous_names(&self) -> Vec<(String, String)> {
        actions::previous_of(self)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| {
                Some((
                    v["name"].as_str()?.to_string(),
                    v["type"].as_str()?.to_string(),
                ))
            })
            .collect()
    }
}

pub struct DnsCutover;

impl Plugin for DnsCutover {
    fn describe() -> Description {
        Description::new(
            "dns-cutover",
            env!("CARGO_PKG_VERSION"),
            "Lower TTLs, switch records, verify on every authoritative server, restore TTLs (PowerDNS API, RFC 2136 with TSIG, Cloudflare)",
        )
        .action(
            "prepare",
            "Lower the TTL of the records to move; returns the old TTLs and when they have expired",
            Effect::Write,
        )
        .action(
            "switch",
            "Change the records; returns the previous record sets",
            Effect::Write,
        )
        .action(
            "verify",
            "Query every authoritative server until all answer the new values",
            Effect::Read,
        )
        .action(
            "restore",
            "Put back the record sets a switch or prepare replaced (its `previous` output)",
            Effect::Write,
        )
        .action(
            "restore-ttl",
            "Put the TTLs a prepare lowered back, keeping the current values",
            Effect::Write,
        )
        .action("show", "The current record sets named by the step", Effect::Read)
        .default_action("show")
        .capability("http", ["*"])
        .capability("dns", ["*"])
        .capability("socket", ["*"])
        .capability("secrets", ["*"])
        .args_for_every_action::<StepArgs>()
        // `limits { max-dns-changes N }`: one per record set named.
        .counts("switch", "dns-changes", serde_json::json!({"per": "record"}))
        .counts("restore", "dns-changes", serde_json::json!({"per": "previous"}))
    }

    fn run(
        host: &dyn Host,
        ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        let a: StepArgs = args.decode()?;
        let dry = ctx.mode == Mode::DryRun;
        match action {
            "show" => actions::show(host, &a),
            "prepare" => actions::prepare(host, &a, dry),
            "switch" => actions::switch(host, &a, dry),
            "verify" => actions::verify(host, &a, dry),
            "restore" => actions::restore(host, &a, dry, false),
            "restore-ttl" => actions::restore(host, &a, dry, true),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(DnsCutover);
