//! RFC 2136 dynamic updates signed with TSIG (RFC 8945, hmac-sha256), sent
//! over TCP with the `socket` capability; the current records are read with
//! real lookups at the same server (`dns` capability). One UPDATE message
//! per record set: delete the set, add the new values, so the server applies
//! the change atomically.
//!
//! The zone cannot be listed this way (no AXFR): `zone()` returns only the
//! record sets the step names, so the share threshold (which needs the
//! zone's size) does not apply to this provider; deletes are still guarded.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use cairn_sdk::prelude::*;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::model::{RRset, absolute, fqdn};
use crate::provider::Provider;

const TYPE_SOA: u16 = 6;
const TYPE_TSIG: u16 = 250;
const CLASS_IN: u16 = 1;
const CLASS_ANY: u16 = 255;
const FUDGE: u16 = 300;
const ALGORITHM: &str = "hmac-sha256.";

pub struct Rfc2136 {
    server: String,
    zone: String,
    key_name: String,
    key: Vec<u8>,
    names: Vec<(String, String)>,
}

impl Rfc2136 {
    pub fn new(host: &dyn Host, a: &crate::StepArgs) -> Result<Self, PluginError> {
        let server = a.api.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
            PluginError::arg(
                "api",
                "rfc2136 needs `api`: the primary server's IP:PORT, e.g. 192.0.2.53:53",
            )
        })?;
        let key_name = a.tsig_key_name.clone().ok_or_else(|| {
            PluginError::arg(
                "tsig-key-name",
                "rfc2136 needs `tsig-key-name` (the key's name as the server knows it)",
            )
        })?;
        let secret = a.tsig_key_secret.as_deref().ok_or_else(|| {
            PluginError::arg(
                "tsig-key-secret",
                "rfc2136 needs `tsig-key-secret`: the secret holding the key (base64)",
            )
        })?;
        // Signing needs the key's bytes; the host redacts it from here on.
        let b64 = host.reveal(&host.secret(secret)?)?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| {
                PluginError::arg("tsig-key-secret", format!("the key is not base64: {e}"))
            })?;
        let names = a
            .record
            .iter()
            .map(|r| (absolute(&r.name, &a.zone), r.rtype.to_ascii_uppercase()))
            .chain(
                a.previous_names()
                    .into_iter()
                    .map(|(n, t)| (fqdn(&n), t.to_ascii_uppercase())),
            )
            .collect();
        Ok(Rfc2136 {
            server,
            zone: fqdn(&a.zone),
            key_name: fqdn(&key_name),
            key,
            names,
        })
    }

    fn send(&self, host: &dyn Host, updates: &[Vec<u8>], count: u16) -> Result<bool, PluginError> {
        let id = (SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            & 0xffff) as u16;
        let mut msg = Vec::new();
        put16(&mut msg, id);
        put16(&mut msg, 5 << 11); // opcode UPDATE
        for n in [1, 0, count, 0] {
            put16(&mut msg, n);
        }
        put_name(&mut msg, &self.zone);
        put16(&mut msg, TYPE_SOA);
        put16(&mut msg, CLASS_IN);
        for u in updates {
            msg.extend_from_slice(u);
        }
        let signed = self.sign(msg, id)?;
        let mut framed = Vec::with_capacity(signed.len() + 2);
        put16(&mut framed, signed.len() as u16);
        framed.extend_from_slice(&signed);
        let reply = host.socket(
            &SocketRequest::new(&self.server, framed)
                .half_close(true)
                .timeout(Duration::from_secs(10)),
        )?;
        if reply.planned {
            return Ok(false);
        }
        let d = &reply.data;
        if d.len() < 6 {
            return Err(PluginError::new(format!(
                "rfc2136: {} sent no answer to the UPDATE ({} bytes)",
                self.server,
                d.len()
            )));
        }
        let rcode = d[5] & 0x0f;
        if rcode != 0 {
            return Err(PluginError::new(format!(
                "rfc2136: {} refused the UPDATE of zone {}: {}",
                self.server,
                self.zone,
                rcode_name(rcode)
            )));
        }
        Ok(true)
    }

    /// Appends the TSIG record (RFC 8945 §4.3): the MAC covers the message
    /// as it is before the TSIG record, then the TSIG variables.
    fn sign(&self, mut msg: Vec<u8>, id: u16) -> Result<Vec<u8>, PluginError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut vars = Vec::new();
        put_name(&mut vars, &self.key_name);
        put16(&mut vars, CLASS_ANY);
        vars.extend_from_slice(&0u32.to_be_bytes());
        put_name(&mut vars, ALGORITHM);
        vars.extend_from_slice(&now.to_be_bytes()[2..8]);
        put16(&mut vars, FUDGE);
        put16(&mut vars, 0); // error
        put16(&mut vars, 0); // other len
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .map_err(|e| PluginError::arg("tsig-key-secret", format!("unusable key: {e}")))?;
        mac.update(&msg);
        mac.update(&vars);
        let mac = mac.finalize().into_bytes();
        let mut rdata = Vec::new();
        put_name(&mut rdata, ALGORITHM);
        rdata.extend_from_slice(&now.to_be_bytes()[2..8]);
        put16(&mut rdata, FUDGE);
        put16(&mut rdata, mac.len() as u16);
        rdata.extend_from_slice(&mac);
        put16(&mut rdata, id);
        put16(&mut rdata, 0);
        put16(&mut rdata, 0);
        put_name(&mut msg, &self.key_name);
        put16(&mut msg, TYPE_TSIG);
        put16(&mut msg, CLASS_ANY);
        msg.extend_from_slice(&0u32.to_be_bytes());
        put16(&mut msg, rdata.len() as u16);
        msg.extend_from_slice(&rdata);
        msg[11] = 1; // ARCOUNT: the TSIG record
        Ok(msg)
    }
}

impl Provider for Rfc2136 {
    fn zone(&self, host: &dyn Host) -> Result<Vec<RRset>, PluginError> {
        let mut out = Vec::new();
        for (name, rtype) in &self.names {
            let ans = host.dns(&DnsQuery::new(name, rtype, &self.server))?;
            let recs: Vec<&DnsRecord> = ans
                .answers
                .iter()
                .filter(|r| r.record_type.eq_ignore_ascii_case(rtype) && fqdn(&r.name) == *name)
                .collect();
            if let Some(first) = recs.first() {
                let values = recs.iter().map(|r| r.data.clone()).collect();
                out.push(RRset::new(name, rtype, first.ttl, values));
            }
        }
        out.dedup_by(|a, b| a.key() == b.key());
        Ok(out)
    }

    fn replace(
        &self,
        host: &dyn Host,
        _old: Option<&RRset>,
        new: &RRset,
    ) -> Result<bool, PluginError> {
        let mut u = delete_rr(&new.name, &new.rtype)?;
        for v in &new.values {
            put_name(&mut u, &new.name);
            put16(&mut u, type_code(&new.rtype)?);
            put16(&mut u, CLASS_IN);
            u.extend_from_slice(&new.ttl.to_be_bytes());
            let rdata = rdata(&new.rtype, v)?;
            put16(&mut u, rdata.len() as u16);
            u.extend_from_slice(&rdata);
        }
        self.send(host, &[u], 1 + new.values.len() as u16)
    }

    fn delete(&self, host: &dyn Host, old: &RRset) -> Result<bool, PluginError> {
        self.send(host, &[delete_rr(&old.name, &old.rtype)?], 1)
    }
}

/// "Delete an RRset" (RFC 2136 §2.5.2): class ANY, TTL 0, no data.
fn delete_rr(name: &str, rtype: &str) -> Result<Vec<u8>, PluginError> {
    let mut u = Vec::new();
    put_name(&mut u, name);
    put16(&mut u, type_code(rtype)?);
    put16(&mut u, CLASS_ANY);
    u.extend_from_slice(&0u32.to_be_bytes());
    put16(&mut u, 0);
    Ok(u)
}

fn type_code(t: &str) -> Result<u16, PluginError> {
    Ok(match t {
        "A" => 1,
        "NS" => 2,
        "CNAME" => 5,
        "PTR" => 12,
        "MX" => 15,
        "TXT" => 16,
        "AAAA" => 28,
        other => {
            return Err(PluginError::arg(
                "record",
                format!(
                    "rfc2136: type {other} is not supported (A, AAAA, CNAME, NS, PTR, MX, TXT)"
                ),
            ));
        }
    })
}

fn rdata(t: &str, v: &str) -> Result<Vec<u8>, PluginError> {
    let bad = |what: &str| PluginError::arg("record", format!("`{v}` is not {what}"));
    let mut out = Vec::new();
    match t {
        "A" => out.extend_from_slice(
            &v.parse::<Ipv4Addr>()
                .map_err(|_| bad("an IPv4 address"))?
                .octets(),
        ),
        "AAAA" => out.extend_from_slice(
            &v.parse::<Ipv6Addr>()
                .map_err(|_| bad("an IPv6 address"))?
                .octets(),
        ),
        "CNAME" | "NS" | "PTR" => put_name(&mut out, &fqdn(v)),
        "MX" => {
            let (pref, host) = v
                .trim()
                .split_once(' ')
                .ok_or_else(|| bad("`PREFERENCE HOST`"))?;
            put16(
                &mut out,
                pref.parse().map_err(|_| bad("`PREFERENCE HOST`"))?,
            );
            put_name(&mut out, &fqdn(host.trim()));
        }
        "TXT" => {
            let text = v.trim().trim_matches('"');
            for chunk in text.as_bytes().chunks(255) {
                out.push(chunk.len() as u8);
                out.extend_from_slice(chunk);
            }
        }
        _ => return Err(bad("a supported record type")),
    }
    Ok(out)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// A name in wire format, uncompressed, lower case (TSIG wants the
/// canonical form).
fn put_name(out: &mut Vec<u8>, name: &str) {
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let l = label.to_ascii_lowercase();
        out.push(l.len().min(63) as u8);
        out.extend_from_slice(&l.as_bytes()[..l.len().min(63)]);
    }
    out.push(0);
}

fn rcode_name(r: u8) -> String {
    match r {
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP (dynamic updates are off on this server?)".into(),
        5 => "REFUSED (updates not allowed from here, or the key is not allowed for this zone)".into(),
        9 => "NOTAUTH (the TSIG key or signature was not accepted, or the server is not authoritative)".into(),
        other => format!("rcode {other}"),
    }
}

#[cfg(test)]
pub(crate) fn message_for_test(key: &[u8], zone: &str, set: &RRset) -> Vec<u8> {
    let p = Rfc2136 {
        server: "x".into(),
        zone: fqdn(zone),
        key_name: "k.".into(),
        key: key.to_vec(),
        names: vec![],
    };
    let host = cairn_sdk::mock::MockHost::new().on_socket(|_| {
        Ok(SocketReply::eof(vec![
            0, 12, 0, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]))
    });
    p.replace(&host, None, set).unwrap();
    host.socket_requests()[0].data.clone()
}
