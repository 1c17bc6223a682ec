//! PowerDNS's HTTP API (`/api/v1`): a zone is one GET with its rrsets; a
//! change is a PATCH with `changetype` REPLACE or DELETE.

use cairn_sdk::prelude::*;
use serde_json::json;

use crate::model::{RRset, fqdn};
use crate::provider::{Provider, json_of, status_error};

pub struct PowerDns {
    zone_url: String,
    key: Secret,
}

impl PowerDns {
    pub fn new(host: &dyn Host, a: &crate::StepArgs) -> Result<Self, PluginError> {
        let api = a.api.as_deref().ok_or_else(|| {
            PluginError::arg(
                "api",
                "powerdns needs `api`, e.g. http://127.0.0.1:8081/api/v1",
            )
        })?;
        let secret = a.api_key_secret.as_deref().ok_or_else(|| {
            PluginError::arg(
                "api-key-secret",
                "powerdns needs `api-key-secret`: the secret holding its X-API-Key",
            )
        })?;
        let server = a.server_id.as_deref().unwrap_or("localhost");
        Ok(PowerDns {
            zone_url: format!(
                "{}/servers/{server}/zones/{}",
                api.trim_end_matches('/'),
                fqdn(&a.zone)
            ),
            key: host.secret(secret)?,
        })
    }

    fn patch(&self, host: &dyn Host, rrset: serde_json::Value) -> Result<bool, PluginError> {
        let req = Request::new("PATCH", &self.zone_url)
            .header("X-API-Key", &self.key)
            .header("Content-Type", "application/json")
            .body(json!({ "rrsets": [rrset] }).to_string());
        let resp = host.http(&req)?;
        if resp.planned {
            return Ok(false);
        }
        if !(200..300).contains(&resp.status) {
            return Err(status_error(&format!("PATCH {}", self.zone_url), &resp));
        }
        Ok(true)
    }
}

impl Provider for PowerDns {
    fn zone(&self, host: &dyn Host) -> Result<Vec<RRset>, PluginError> {
        let resp = host.http(&Request::get(&self.zone_url).header("X-API-Key", &self.key))?;
        let v = json_of(&format!("GET {}", self.zone_url), &resp)?;
        let mut out = Vec::new();
        for r in v["rrsets"].as_array().into_iter().flatten() {
            let values = r["records"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|x| x["disabled"] != true)
                .filter_map(|x| x["content"].as_str().map(str::to_string))
                .collect();
            out.push(RRset::new(
                r["name"].as_str().unwrap_or(""),
                r["type"].as_str().unwrap_or(""),
                r["ttl"].as_u64().unwrap_or(0) as u32,
                values,
            ));
        }
        Ok(out)
    }

    fn replace(
        &self,
        host: &dyn Host,
        _old: Option<&RRset>,
        new: &RRset,
    ) -> Result<bool, PluginError> {
        let records: Vec<_> = new
            .values
            .iter()
            .map(|v| json!({ "content": v, "disabled": false }))
            .collect();
        self.patch(
            host,
            json!({ "name": new.name, "type": new.rtype, "ttl": new.ttl, "changetype": "REPLACE", "records": records }),
        )
    }

    fn delete(&self, host: &dyn Host, old: &RRset) -> Result<bool, PluginError> {
        self.patch(
            host,
            json!({ "name": old.name, "type": old.rtype, "changetype": "DELETE" }),
        )
    }
}
