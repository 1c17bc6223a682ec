//! `dns`: lookups against a chosen resolver, for propagation checks. Every
//! lookup is a read: it runs in a dry-run too, not with `--offline`.
//!
//! One question per lookup, over udp (asked again over tcp when the answer
//! is truncated) or tcp, with EDNS(0) for answers up to 4 KiB over udp.
//! Messages are encoded and decoded by `hickory-proto`; the transport is
//! plain blocking sockets with the call's deadline.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde_json::json;

use super::StepState;
use super::grants::host_matches;
use super::registry::Capability;
use crate::events::Event;
use crate::wit::cairn::plugin::dns::{self as wit, Answer, DnsRecord, Query as WitQuery};

/// The per-call timeout when the plugin gives none (the step's deadline
/// applies as well).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A resolver address: `IP`, `IP:PORT`, `[IPv6]:PORT`, `HOST` or
/// `HOST:PORT`; port 53 when none. Returns the address and its normal form
/// (`IP:PORT`, `[IPv6]:PORT`, `HOST:PORT`), which grants are matched against.
pub fn parse_resolver(s: &str) -> Result<(String, u16), String> {
    let bad = || format!("dns: resolver `{s}` is not `IP`, `IP:PORT` or `HOST:PORT`");
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(ip) = IpAddr::from_str(s) {
        return Ok((ip.to_string(), 53));
    }
    if let Ok(sa) = SocketAddr::from_str(s) {
        return Ok((sa.ip().to_string(), sa.port()));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
        None => (s, 53),
    };
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

/// `host:port` for grants and messages (`[v6]:port` for IPv6).
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `NOERROR`, `NXDOMAIN`, ... as dig prints them.
pub fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::YXDomain => "YXDOMAIN".into(),
        ResponseCode::YXRRSet => "YXRRSET".into(),
        ResponseCode::NXRRSet => "NXRRSET".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NotZone => "NOTZONE".into(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

/// A record's data as in a zone file; TXT strings quoted.
fn rdata_text(data: &RData) -> String {
    match data {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| {
                let mut q = String::from("\"");
                for &b in s.iter() {
                    match b {
                        b'"' | b'\\' => {
                            q.push('\\');
                            q.push(b as char);
                        }
                        0x20..=0x7e => q.push(b as char),
                        _ => q.push_str(&format!("\\{b:03}")),
                    }
                }
                q.push('"');
                q
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

fn record(r: &Record) -> DnsRecord {
    DnsRecord {
        name: r.name.to_string(),
        record_type: r.record_type().to_string(),
        ttl: r.ttl,
        data: rdata_text(&r.data),
    }
}

/// Why a lookup got no answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// Nothing came back before the deadline.
    Timeout,
    /// The resolver's port is closed (an ICMP port unreachable, or a tcp
    /// connection refused).
    Refused,
    Other(String),
}

/// Asks `question` of `server` over udp, then tcp if the answer is
/// truncated (or at once over tcp with `tcp`).
pub fn ask(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    tcp: bool,
    deadline: Instant,
) -> Result<Message, Failure> {
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    query.set_edns(edns);
    let bytes = query
        .to_vec()
        .map_err(|e| Failure::Other(format!("cannot encode the query: {e}")))?;
    let id = query.metadata.id;
    if !tcp {
        let answer = ask_udp(server, &bytes, id, name, rtype, deadline)?;
        if !answer.metadata.truncation {
            return Ok(answer);
        }
    }
    ask_tcp(server, &bytes, id, name, rtype, deadline)
}

/// Whether `m` answers the query `id` for `name`/`rtype`.
fn answers(m: &Message, id: u16, name: &Name, rtype: RecordType) -> bool {
    m.metadata.id == id
        && m.metadata.message_type == MessageType::Response
        && m.queries
            .first()
            .is_none_or(|q| q.query_type == rtype && q.name == *name)
}

fn left(deadline: Instant) -> Result<Duration, Failure> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(Failure::Timeout)
    } else {
        Ok(left)
    }
}

fn io_failure(e: std::io::Error) -> Failure {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::WouldBlock | K::TimedOut => Failure::Timeout,
        K::ConnectionRefused => Failure::Refused,
        _ => Failure::Other(e.to_string()),
    }
}

fn ask_udp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    name: &Name,
    rtype: RecordType,
    deadline: Instant,
) -> Result<Message, Failure> {
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let sock = UdpSocket::bind(local).map_err(io_failure)?;
    sock.connect(server).map_err(io_failure)?;
    let mut buf = vec![0u8; 65535];
    // Sent again after 1 s, then 2 s, 4 s... while the deadline allows: a
    // lost datagram is not the end of a propagation check.
    let mut wait = Duration::from_secs(1);
    loop {
        sock.send(query).map_err(io_failure)?;
        let resend_at = Instant::now() + wait;
        loop {
            let until = resend_at.min(deadline);
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sock.set_read_timeout(Some(left)).map_err(io_failure)?;
            match sock.recv(&mut buf) {
                Ok(n) => {
                    // Garbage or an answer to something else: keep waiting.
                    if let Ok(m) = Message::from_vec(&buf[..n])
                        && answers(&m, id, name, rtype)
                    {
                        return Ok(m);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => match io_failure(e) {
                    Failure::Timeout => break,
                    other => return Err(other),
                },
            }
        }
        left(deadline)?;
        wait *= 2;
    }
}

fn ask_tcp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    name: &Name,
    rtype: RecordType,
    deadline: Instant,
) -> Result<Message, Failure> {
    let mut s = TcpStream::connect_timeout(&server, left(deadline)?).map_err(io_failure)?;
    s.set_write_timeout(Some(left(deadline)?))
        .map_err(io_failure)?;
    let len = u16::try_from(query.len()).map_err(|_| Failure::Other("query too long".into()))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    s.write_all(&framed).map_err(io_failure)?;
    let mut read_exact = |buf: &mut [u8]| -> Result<(), Failure> {
        let mut got = 0;
        while got < buf.len() {
            s.set_read_timeout(Some(left(deadline)?))
                .map_err(io_failure)?;
            match s.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(Failure::Other(
                        "the resolver closed the tcp connection without an answer".into(),
                    ));
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_failure(e)),
            }
        }
        Ok(())
    };
    loop {
        let mut len = [0u8; 2];
        read_exact(&mut len)?;
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        read_exact(&mut msg)?;
        let m = Message::from_vec(&msg)
            .map_err(|e| Failure::Other(format!("cannot decode the answer: {e}")))?;
        if answers(&m, id, name, rtype) {
            return Ok(m);
        }
    }
}

/// The `dns` capability.
pub struct Dns;

impl Capability for Dns {
    const NAME: &'static str = "dns";
    type State = ();
}

impl wit::Host for StepState {
    fn lookup(&mut self, q: WitQuery) -> wasmtime::Result<Result<Answer, String>> {
        Ok(self.dns(q))
    }
}

impl StepState {
    fn dns(&mut self, q: WitQuery) -> Result<Answer, String> {
        let (host, port) = parse_resolver(&q.resolver)?;
        let resolver = host_port(&host, port);
        if !self.cx.grants.allows("dns", &resolver, host_matches)
            && !self.cx.grants.allows("dns", &q.resolver, host_matches)
        {
            return Err(self.cx.denied("dns", &q.resolver));
        }
        let rtype = RecordType::from_str(&q.record_type.to_ascii_uppercase())
            .ok()
            .filter(|t| !matches!(t, RecordType::Unknown(_) | RecordType::OPT))
            .ok_or_else(|| format!("dns: unknown record type `{}`", q.record_type))?;
        let mut name = Name::from_utf8(q.name.trim())
            .map_err(|e| format!("dns: `{}` is not a domain name: {e}", q.name))?;
        if q.name.trim().is_empty() {
            return Err("dns: the name to look up is empty".into());
        }
        name.set_fqdn(true);
        let proto = if q.tcp { "tcp" } else { "udp" };
        let summary = format!("look up {name} {rtype} at {resolver}");
        let mut detail = json!({
            "name": name.to_string(),
            "type": rtype.to_string(),
            "resolver": resolver,
            "protocol": proto,
        });
        if self.cx.plans(false) {
            self.cx.emit(Event::Capability {
                step: self.cx.step.clone(),
                capability: "dns".into(),
                effect: "read".into(),
                planned: true,
                summary,
                detail,
            });
            return Ok(Answer {
                rcode: String::new(),
                authoritative: false,
                answers: Vec::new(),
                authority: Vec::new(),
                planned: true,
            });
        }
        let timeout = q.timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        let budget = self.cx.remaining(Some(timeout));
        let deadline = Instant::now() + budget;
        let started = Instant::now();
        let result = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| Failure::Other(format!("cannot resolve `{host}`: {e}")))
            .and_then(|mut addrs| {
                addrs
                    .next()
                    .ok_or_else(|| Failure::Other(format!("no address for `{host}`")))
            })
            .and_then(|server| ask(server, &name, rtype, q.tcp, deadline));
        detail["duration_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
        let result = result.map(|m| Answer {
            rcode: rcode_name(m.metadata.response_code),
            authoritative: m.metadata.authoritative,
            answers: m.answers.iter().map(record).collect(),
            authority: m.authorities.iter().map(record).collect(),
            planned: false,
        });
        match &result {
            Ok(a) => {
                detail["rcode"] = json!(a.rcode);
                detail["answers"] = json!(a.answers.iter().map(|r| &r.data).collect::<Vec<_>>());
            }
            Err(f) => detail["error"] = json!(format!("{f:?}")),
        }
        self.cx.emit(Event::Capability {
            step: self.cx.step.clone(),
            capability: "dns".into(),
            effect: "read".into(),
            planned: false,
            summary,
            detail,
        });
        result.map_err(|f| {
            let what = format!("dns: {name} {rtype} at {resolver}");
            match f {
                Failure::Timeout => format!(
                    "{what}: no answer in {} ({proto})",
                    crate::humanize::humanize(budget)
                ),
                Failure::Refused => {
                    format!("{what}: refused ({proto} port {port} is closed; no DNS server there?)")
                }
                Failure::Other(e) => format!("{what}: {e}"),
            }
        })
    }
}

#[cfg(test)]
mod tests;
