//! The `dns` capability: a lookup at a granted resolver and its answer.

use std::time::Duration;

use crate::HostError;
use crate::bindings::cairn::plugin::dns;
use crate::mock_host::MockHost;
use crate::wit::{WitHost, millis};

/// A DNS lookup (`dns.query` in the WIT). Lookups are reads.
///
/// ```
/// use cairn_sdk::DnsQuery;
/// let q = DnsQuery::new("www.example.com", "A", "9.9.9.9");
/// assert_eq!(q.record_type, "A");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuery {
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, `TXT`, `NS`, `SOA`, `MX`, ...
    pub record_type: String,
    /// `IP`, `IP:PORT` (53 when none), `[IPv6]:PORT`.
    pub resolver: String,
    /// Over tcp (over udp by default, and tcp when the answer is truncated).
    pub tcp: bool,
    /// Per-call timeout (5 s when none); the step's deadline applies as well.
    pub timeout: Option<Duration>,
}

impl DnsQuery {
    pub fn new(
        name: impl Into<String>,
        record_type: impl Into<String>,
        resolver: impl Into<String>,
    ) -> Self {
        DnsQuery {
            name: name.into(),
            record_type: record_type.into(),
            resolver: resolver.into(),
            tcp: false,
            timeout: None,
        }
    }

    pub fn tcp(mut self, tcp: bool) -> Self {
        self.tcp = tcp;
        self
    }

    pub fn timeout(mut self, timeout: impl Into<Duration>) -> Self {
        self.timeout = Some(timeout.into());
        self
    }
}

/// One resource record of an answer (`dns.dns-record` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// Fully qualified, with the final dot.
    pub name: String,
    pub record_type: String,
    pub ttl: u32,
    /// As in a zone file: `192.0.2.1`, `"v=spf1 -all"`, `10 mx.example.com.`.
    pub data: String,
}

impl DnsRecord {
    pub fn new(
        name: impl Into<String>,
        record_type: impl Into<String>,
        ttl: u32,
        data: impl Into<String>,
    ) -> Self {
        DnsRecord {
            name: name.into(),
            record_type: record_type.into(),
            ttl,
            data: data.into(),
        }
    }
}

/// The resolver's answer (`dns.answer` in the WIT). An answer is a
/// successful lookup whatever its `rcode`: NXDOMAIN is what a check for a
/// removed name wants to see.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DnsAnswer {
    /// `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, ...
    pub rcode: String,
    pub authoritative: bool,
    pub answers: Vec<DnsRecord>,
    /// The authority section (the zone's SOA with NXDOMAIN or no data).
    pub authority: Vec<DnsRecord>,
    /// True when the lookup was not made (`--offline`).
    pub planned: bool,
}

impl DnsAnswer {
    /// A NOERROR answer with these records.
    pub fn records(answers: Vec<DnsRecord>) -> Self {
        DnsAnswer {
            rcode: "NOERROR".into(),
            answers,
            ..DnsAnswer::default()
        }
    }

    /// An NXDOMAIN answer.
    pub fn nxdomain() -> Self {
        DnsAnswer {
            rcode: "NXDOMAIN".into(),
            ..DnsAnswer::default()
        }
    }

    /// What the host returns for a lookup it did not make (`--offline`).
    pub fn planned() -> Self {
        DnsAnswer {
            planned: true,
            ..DnsAnswer::default()
        }
    }

    pub fn is_nxdomain(&self) -> bool {
        self.rcode == "NXDOMAIN"
    }

    /// The data of the answer records of one type (case-insensitive), in
    /// order: the addresses of an `A` lookup, without the CNAMEs before them.
    pub fn values(&self, record_type: &str) -> Vec<&str> {
        self.answers
            .iter()
            .filter(|r| r.record_type.eq_ignore_ascii_case(record_type))
            .map(|r| r.data.as_str())
            .collect()
    }
}

/// The [`Host`](crate::Host) method of the `dns` capability.
pub trait DnsHost {
    /// Looks a name up at a granted resolver. Lookups are reads; an answer
    /// with any response code (NXDOMAIN included) is `Ok`.
    ///
    /// Hosts written before the `dns` capability answer with an error.
    fn dns(&self, query: &DnsQuery) -> Result<DnsAnswer, HostError> {
        Err(HostError::new(format!(
            "dns: `{}`: this host has no dns capability",
            query.name
        )))
    }
}

impl DnsHost for WitHost {
    fn dns(&self, query: &DnsQuery) -> Result<DnsAnswer, HostError> {
        let q = dns::Query {
            name: query.name.clone(),
            record_type: query.record_type.clone(),
            resolver: query.resolver.clone(),
            tcp: query.tcp,
            timeout_ms: query.timeout.map(millis),
        };
        let a = dns::lookup(&q).map_err(HostError::new)?;
        let record = |r: dns::DnsRecord| DnsRecord {
            name: r.name,
            record_type: r.record_type,
            ttl: r.ttl,
            data: r.data,
        };
        Ok(DnsAnswer {
            rcode: a.rcode,
            authoritative: a.authoritative,
            answers: a.answers.into_iter().map(record).collect(),
            authority: a.authority.into_iter().map(record).collect(),
            planned: a.planned,
        })
    }
}

impl DnsHost for MockHost {
    fn dns(&self, query: &DnsQuery) -> Result<DnsAnswer, HostError> {
        self.record(query.clone());
        self.answer(query, || {
            format!("dns `{}` {}", query.name, query.record_type)
        })
    }
}

impl MockHost {
    /// Queues the answer to the next `dns` call.
    pub fn dns_returns(self, answer: DnsAnswer) -> Self {
        self.returns::<DnsQuery, _>(Ok(answer))
    }

    /// Queues a host error for the next `dns` call (a timeout, a refusal...).
    pub fn dns_fails(self, message: impl Into<String>) -> Self {
        self.returns::<DnsQuery, DnsAnswer>(Err(HostError::new(message)))
    }

    /// Answers `dns` calls once the queue is empty.
    pub fn on_dns(
        self,
        handler: impl FnMut(&DnsQuery) -> Result<DnsAnswer, HostError> + 'static,
    ) -> Self {
        self.answers(handler)
    }

    /// The `dns` lookups, in order.
    pub fn dns_queries(&self) -> Vec<DnsQuery> {
        self.recorded()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_values_skip_other_types() {
        let a = DnsAnswer::records(vec![
            DnsRecord::new("www.example.com.", "CNAME", 60, "web.example.com."),
            DnsRecord::new("web.example.com.", "A", 60, "192.0.2.1"),
            DnsRecord::new("web.example.com.", "A", 60, "192.0.2.2"),
        ]);
        assert_eq!(a.values("a"), ["192.0.2.1", "192.0.2.2"]);
        assert!(!a.is_nxdomain());
        assert!(DnsAnswer::nxdomain().is_nxdomain());
    }

    #[test]
    fn lookups_are_scripted_and_recorded() {
        let host = MockHost::new().on_dns(|q| {
            Ok(DnsAnswer::records(vec![DnsRecord::new(
                format!("{}.", q.name),
                "A",
                60,
                "192.0.2.1",
            )]))
        });
        let a = host
            .dns(&DnsQuery::new("www.example.com", "A", "127.0.0.1:53"))
            .unwrap();
        assert_eq!(a.values("A"), ["192.0.2.1"]);
        assert_eq!(host.dns_queries()[0].name, "www.example.com");
        let e = MockHost::new()
            .dns(&DnsQuery::new("gone.example.com", "A", "127.0.0.1"))
            .unwrap_err();
        assert_eq!(
            e.message,
            "mock host: no response scripted for dns `gone.example.com` A"
        );
    }
}
