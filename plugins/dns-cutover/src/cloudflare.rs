//! Cloudflare's DNS API (v4): records are one object per value with an id;
//! a record set is changed value by value, overwriting existing records
//! first so the name never answers with nothing in between.
//!
//! Shapes followed (developers.cloudflare.com/api, "DNS Records for a
//! Zone"): `GET /zones?name=Z` → `{result: [{id}]}`; `GET
//! /zones/ID/dns_records?page=N&per_page=100` → `{success, result: [{id,
//! name, type, content, ttl, proxied}], result_info: {page, total_pages}}`;
//! `PATCH`/`DELETE /zones/ID/dns_records/RID`; `POST /zones/ID/dns_records`;
//! errors as `{success: false, errors: [{code, message}]}`. Names come
//! without the final dot; TTL 1 means "automatic".

use std::cell::RefCell;
use std::collections::BTreeMap;

use cairn_sdk::prelude::*;
use serde_json::json;

use crate::model::{RRset, fqdn};
use crate::provider::{Provider, json_of, status_error};

const DEFAULT_API: &str = "https://api.cloudflare.com/client/v4";

pub struct Cloudflare {
    api: String,
    zone: String,
    zone_id: RefCell<Option<String>>,
    auth: String,
    /// `TYPE name.` → the ids of its records, value by value.
    ids: RefCell<BTreeMap<String, Vec<(String, String)>>>,
}

impl Cloudflare {
    pub fn new(host: &dyn Host, a: &crate::StepArgs) -> Result<Self, PluginError> {
        let secret = a.api_token_secret.as_deref().ok_or_else(|| {
            PluginError::arg("api-token-secret", "cloudflare needs `api-token-secret`: the secret holding an API token with DNS edit rights")
        })?;
        // The host redacts the token everywhere from here on.
        let token = host.reveal(&host.secret(secret)?)?;
        Ok(Cloudflare {
            api: a
                .api
                .clone()
                .unwrap_or_else(|| DEFAULT_API.into())
                .trim_end_matches('/')
                .to_string(),
            zone: fqdn(&a.zone),
            zone_id: RefCell::new(a.zone_id.clone()),
            auth: format!("Bearer {token}"),
            ids: RefCell::new(BTreeMap::new()),
        })
    }

    fn call(
        &self,
        host: &dyn Host,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Option<serde_json::Value>, PluginError> {
        let url = format!("{}{path}", self.api);
        let mut req = Request::new(method, &url).header("Authorization", self.auth.as_str());
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let resp = host.http(&req)?;
        if resp.planned {
            return Ok(None);
        }
        let what = format!("{method} {url}");
        let v = json_of(&what, &resp).map_err(|e| {
            let msg = serde_json::from_slice::<serde_json::Value>(&resp.body)
                .ok()
                .and_then(|v| v["errors"][0]["message"].as_str().map(str::to_string));
            match msg {
                Some(m) => status_error(&what, &Response::new(resp.status, m)),
                None => e,
            }
        })?;
        if v["success"] != true {
            return Err(PluginError::new(format!(
                "{what}: Cloudflare says: {}",
                v["errors"]
            )));
        }
        Ok(Some(v))
    }

    fn zone_id(&self, host: &dyn Host) -> Result<String, PluginError> {
        if let Some(id) = self.zone_id.borrow().clone() {
            return Ok(id);
        }
        let name = self.zone.trim_end_matches('.');
        let v = self
            .call(host, "GET", &format!("/zones?name={name}"), None)?
            .unwrap_or_default();
        let id = v["result"][0]["id"].as_str().ok_or_else(|| {
            PluginError::arg(
                "zone",
                format!("Cloudflare has no zone `{name}` for this token"),
            )
        })?;
        *self.zone_id.borrow_mut() = Some(id.to_string());
        Ok(id.to_string())
    }
}

impl Provider for Cloudflare {
    fn zone(&self, host: &dyn Host) -> Result<Vec<RRset>, PluginError> {
        let zid = self.zone_id(host)?;
        let mut sets: BTreeMap<String, (String, String, u32, Vec<String>)> = BTreeMap::new();
        let mut ids = BTreeMap::<String, Vec<(String, String)>>::new();
        for page in 1..=1000 {
            let v = self
                .call(
                    host,
                    "GET",
                    &format!("/zones/{zid}/dns_records?page={page}&per_page=100"),
                    None,
                )?
                .unwrap_or_default();
            for r in v["result"].as_array().into_iter().flatten() {
                let name = fqdn(r["name"].as_str().unwrap_or(""));
                let rtype = r["type"].as_str().unwrap_or("").to_string();
                let content = r["content"].as_str().unwrap_or("").to_string();
                let key = format!("{rtype} {name}");
                let e = sets.entry(key.clone()).or_insert((
                    name,
                    rtype,
                    r["ttl"].as_u64().unwrap_or(1) as u32,
                    vec![],
                ));
                e.3.push(content.clone());
                ids.entry(key)
                    .or_default()
                    .push((r["id"].as_str().unwrap_or("").to_string(), content));
            }
            let total = v["result_info"]["total_pages"].as_u64().unwrap_or(1);
            if page as u64 >= total {
                break;
            }
        }
        *self.ids.borrow_mut() = ids;
        Ok(sets
            .into_values()
            .map(|(n, t, ttl, vals)| RRset::new(&n, &t, ttl, vals))
            .collect())
    }

    fn replace(
        &self,
        host: &dyn Host,
        old: Option<&RRset>,
        new: &RRset,
    ) -> Result<bool, PluginError> {
        let zid = self.zone_id(host)?;
        let existing = old
            .map(|o| self.ids.borrow().get(&o.key()).cloned().unwrap_or_default())
            .unwrap_or_default();
        let old_ttl = old.map_or(0, |o| o.ttl);
        let name = new.name.trim_end_matches('.');
        let record =
            |v: &str| json!({ "type": new.rtype, "name": name, "content": v, "ttl": new.ttl });
        let path = |id: &str| format!("/zones/{zid}/dns_records/{id}");
        let mut sent = true;
        // Records that keep their value only change their TTL; the others
        // are overwritten with the new values first, then the surplus is
        // deleted or the missing values added.
        let (kept, mut reusable): (Vec<_>, Vec<_>) =
            existing.iter().partition(|(_, c)| new.values.contains(c));
        for (id, content) in &kept {
            if old_ttl != new.ttl {
                sent &= self
                    .call(host, "PATCH", &path(id), Some(record(content)))?
                    .is_some();
            }
        }
        let kept_values: Vec<&String> = kept.iter().map(|(_, c)| c).collect();
        for v in new.values.iter().filter(|v| !kept_values.contains(v)) {
            match reusable.pop() {
                Some((id, _)) => {
                    sent &= self
                        .call(host, "PATCH", &path(id), Some(record(v)))?
                        .is_some()
                }
                None => {
                    sent &= self
                        .call(
                            host,
                            "POST",
                            &format!("/zones/{zid}/dns_records"),
                            Some(record(v)),
                        )?
                        .is_some()
                }
            }
        }
        for (id, _) in reusable {
            sent &= self.call(host, "DELETE", &path(id), None)?.is_some();
        }
        Ok(sent)
    }

    fn delete(&self, host: &dyn Host, old: &RRset) -> Result<bool, PluginError> {
        let zid = self.zone_id(host)?;
        let existing = self
            .ids
            .borrow()
            .get(&old.key())
            .cloned()
            .unwrap_or_default();
        let mut sent = true;
        for (id, _) in existing {
            sent &= self
                .call(
                    host,
                    "DELETE",
                    &format!("/zones/{zid}/dns_records/{id}"),
                    None,
                )?
                .is_some();
        }
        Ok(sent)
    }
}
