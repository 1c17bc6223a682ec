//! The plain Rust types of the `socket` and `dns` capabilities: a request on
//! a granted unix or tcp socket and its reply, a DNS lookup and its answer.
//! [`Host::socket`](crate::Host::socket) and [`Host::dns`](crate::Host::dns)
//! take and return them.

use std::borrow::Cow;
use std::time::Duration;

use crate::Effect;

/// A request/response exchange on a socket (`socket.request` in the WIT):
/// the host connects, sends `data`, and reads the reply until the peer
/// closes, the terminator, the byte cap or the timeout.
///
/// ```
/// use cairn_sdk::{Effect, SocketRequest};
/// let show = SocketRequest::new("/run/haproxy/admin.sock", "show servers state be_app\n")
///     .effect(Effect::Read);
/// let drain = SocketRequest::new("/run/haproxy/admin.sock", "set server be_app/app1 state drain\n");
/// assert_eq!((show.effect, drain.effect), (Effect::Read, Effect::Write));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketRequest {
    /// An absolute unix socket path, or `host:port` for tcp.
    pub address: String,
    pub data: Vec<u8>,
    /// Stop reading as soon as the reply ends with these bytes (e.g.
    /// `"\n> "` for HAProxy's interactive prompt).
    pub terminator: Option<Vec<u8>>,
    /// Stop reading after this many bytes (the host caps replies at 8 MiB).
    pub max_bytes: Option<u64>,
    /// Shut down the sending side once `data` is sent.
    pub half_close: bool,
    /// Per-call timeout; the step's deadline applies as well.
    pub timeout: Option<Duration>,
    /// `Read` requests are sent in a dry-run; `Write` (the default) are
    /// recorded and not sent.
    pub effect: Effect,
}

impl SocketRequest {
    pub fn new(address: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        SocketRequest {
            address: address.into(),
            data: data.into(),
            terminator: None,
            max_bytes: None,
            half_close: false,
            timeout: None,
            effect: Effect::Write,
        }
    }

    pub fn terminator(mut self, terminator: impl Into<Vec<u8>>) -> Self {
        self.terminator = Some(terminator.into());
        self
    }

    pub fn max_bytes(mut self, max: u64) -> Self {
        self.max_bytes = Some(max);
        self
    }

    pub fn half_close(mut self, half_close: bool) -> Self {
        self.half_close = half_close;
        self
    }

    pub fn timeout(mut self, timeout: impl Into<Duration>) -> Self {
        self.timeout = Some(timeout.into());
        self
    }

    pub fn effect(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }
}

/// Why the host stopped reading a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyEnd {
    /// The peer closed the connection.
    #[default]
    Eof,
    /// The reply ends with the request's terminator (kept in the data).
    Terminator,
    /// The reply reached the byte cap and was cut there.
    Limit,
    /// The timeout (or the step's deadline) came first.
    Timeout,
}

impl ReplyEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyEnd::Eof => "eof",
            ReplyEnd::Terminator => "terminator",
            ReplyEnd::Limit => "limit",
            ReplyEnd::Timeout => "timeout",
        }
    }
}

/// The reply to a [`SocketRequest`] (`socket.reply` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SocketReply {
    pub data: Vec<u8>,
    pub end: ReplyEnd,
    /// True when the request was not sent (dry-run of a write).
    pub planned: bool,
}

impl SocketReply {
    pub fn new(data: impl Into<Vec<u8>>, end: ReplyEnd) -> Self {
        SocketReply {
            data: data.into(),
            end,
            planned: false,
        }
    }

    /// A whole reply: the peer closed after it.
    pub fn eof(data: impl Into<Vec<u8>>) -> Self {
        SocketReply::new(data, ReplyEnd::Eof)
    }

    /// What the host returns for a write in a dry-run.
    pub fn planned() -> Self {
        SocketReply {
            planned: true,
            ..SocketReply::default()
        }
    }

    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.data)
    }
}

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
    fn requests_are_writes_unless_said() {
        let r = SocketRequest::new("/run/x.sock", "show info\n");
        assert_eq!(r.effect, Effect::Write);
        let r = r.terminator("\n> ").max_bytes(10).half_close(true);
        assert_eq!(r.terminator.as_deref(), Some(&b"\n> "[..]));
        assert_eq!(SocketReply::eof("ok\n").text(), "ok\n");
        assert!(SocketReply::planned().planned);
    }
}
