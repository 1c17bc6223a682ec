//! One interface over the DNS providers: read the zone's record sets, replace
//! or delete one. Reads are HTTP GETs (a dry-run performs them), changes are
//! writes (a dry-run records them and does not send them).

use cairn_sdk::prelude::*;

use crate::model::RRset;
use crate::{cloudflare, powerdns, rfc2136};

pub trait Provider {
    /// Every record set of the zone.
    fn zone(&self, host: &dyn Host) -> Result<Vec<RRset>, PluginError>;
    /// Replaces the record set (same name and type) with this one; `false`
    /// when a dry-run did not send it.
    fn replace(
        &self,
        host: &dyn Host,
        old: Option<&RRset>,
        new: &RRset,
    ) -> Result<bool, PluginError>;
    /// Deletes the record set.
    fn delete(&self, host: &dyn Host, old: &RRset) -> Result<bool, PluginError>;
}

/// The provider the step names, with its settings checked.
pub fn from_args(host: &dyn Host, a: &crate::StepArgs) -> Result<Box<dyn Provider>, PluginError> {
    match a.provider.as_str() {
        "powerdns" => Ok(Box::new(powerdns::PowerDns::new(host, a)?)),
        "cloudflare" => Ok(Box::new(cloudflare::Cloudflare::new(host, a)?)),
        "rfc2136" => Ok(Box::new(rfc2136::Rfc2136::new(host, a)?)),
        other => Err(PluginError::arg(
            "provider",
            format!("`{other}` is not a provider of dns-cutover (powerdns, rfc2136, cloudflare)"),
        )),
    }
}

pub(crate) fn status_error(what: &str, resp: &Response) -> PluginError {
    let body = resp.text();
    let body: String = body.chars().take(300).collect();
    PluginError::new(format!("{what}: HTTP {}: {}", resp.status, body.trim()))
}

pub(crate) fn json_of(what: &str, resp: &Response) -> Result<serde_json::Value, PluginError> {
    if !(200..300).contains(&resp.status) {
        return Err(status_error(what, resp));
    }
    serde_json::from_slice(&resp.body)
        .map_err(|e| PluginError::new(format!("{what}: the answer is not JSON: {e}")))
}
