//! `socket`: request/response on a granted unix or tcp socket (the HAProxy
//! runtime API and the like). The plugin says whether a request reads or
//! writes; in a dry-run a write is recorded and not sent.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::{Component, Path};
use std::time::{Duration, Instant};

use serde_json::json;

use super::StepState;
use super::grants::host_matches;
use super::registry::Capability;
use crate::events::Event;
use crate::wit::cairn::plugin::socket::{self as wit, Reply, ReplyEnd, Request};
use crate::wit::cairn::plugin::types::Effect;

/// The most a reply may hold, whatever the plugin asks.
pub const MAX_REPLY: usize = 8 << 20;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Unix(String),
    /// `host:port`, as written.
    Tcp(String),
}

impl Address {
    /// An absolute path is a unix socket; anything else must be
    /// `host:port` (`[v6]:port` for IPv6).
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.starts_with('/') {
            return Ok(Address::Unix(s.to_string()));
        }
        let port_ok = s
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p != 0));
        if port_ok {
            Ok(Address::Tcp(s.to_string()))
        } else {
            Err(format!(
                "socket: `{s}` is neither an absolute unix socket path nor `host:port`"
            ))
        }
    }
}

/// `socket`: a granted value is a unix socket path, a directory ending in
/// `/` (every socket under it), `host:port` or `host` (any port). A path
/// that climbs with `..` matches only a grant written exactly so.
pub fn socket_matches(granted: &str, requested: &str) -> bool {
    if granted == requested {
        return true;
    }
    match (granted.starts_with('/'), requested.starts_with('/')) {
        (true, true) => {
            let req = Path::new(requested);
            if req.components().any(|c| c == Component::ParentDir) {
                return false;
            }
            let g = Path::new(granted);
            if granted.ends_with('/') {
                req.starts_with(g) && req != g
            } else {
                req == g
            }
        }
        (false, false) => host_matches(granted, requested),
        _ => false,
    }
}

/// The first line of a request, for plans and journals.
pub fn first_line(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    let mut out: String = line.chars().take(200).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    if out.is_empty() && !data.is_empty() {
        out = format!("{} bytes", data.len());
    }
    out
}

/// A connected stream of either kind.
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn connect(address: &Address, deadline: Instant) -> std::io::Result<Self> {
        match address {
            Address::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path)?)),
            Address::Tcp(host_port) => {
                let mut last = None;
                for addr in host_port.to_socket_addrs()? {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(std::io::ErrorKind::TimedOut.into());
                    }
                    match TcpStream::connect_timeout(&addr, left) {
                        Ok(s) => return Ok(Stream::Tcp(s)),
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no address for the host")
                }))
            }
        }
    }

    fn set_timeouts(&self, left: Duration) -> std::io::Result<()> {
        let t = Some(left.max(Duration::from_millis(1)));
        match self {
            Stream::Unix(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
            Stream::Tcp(s) => {
                s.set_read_timeout(t)?;
                s.set_write_timeout(t)
            }
        }
    }

    fn shutdown_write(&self) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// What went wrong, in words an operator reads (no `(os error N)`).
fn describe(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "no such socket".into(),
        K::ConnectionRefused => "connection refused (nothing listens there?)".into(),
        K::PermissionDenied => "permission denied".into(),
        K::TimedOut | K::WouldBlock => "timed out".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// Sends `data`, then reads until EOF, the terminator, the cap or the
/// deadline.
pub fn exchange(
    address: &Address,
    data: &[u8],
    terminator: Option<&[u8]>,
    cap: usize,
    half_close: bool,
    deadline: Instant,
) -> Result<(Vec<u8>, ReplyEnd), String> {
    let left = || deadline.saturating_duration_since(Instant::now());
    let mut stream = Stream::connect(address, deadline)
        .map_err(|e| format!("cannot connect: {}", describe(&e)))?;
    stream
        .set_timeouts(left())
        .map_err(|e| format!("cannot set a timeout: {}", describe(&e)))?;
    stream
        .write_all(data)
        .map_err(|e| format!("cannot send the request: {}", describe(&e)))?;
    if half_close {
        // A peer that already closed is no reason to fail: its reply (or
        // EOF) is read next.
        let _ = stream.shutdown_write();
    }
    let terminator = terminator.filter(|t| !t.is_empty());
    let mut reply = Vec::new();
    let mut chunk = vec![0u8; 16 << 10];
    loop {
        let left = left();
        if left.is_zero() {
            return Ok((reply, ReplyEnd::Timeout));
        }
        stream
            .set_timeouts(left)
            .map_err(|e| format!("cannot set a timeout: {}", describe(&e)))?;
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Ok((reply, ReplyEnd::Eof)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if timed_out(&e) => return Ok((reply, ReplyEnd::Timeout)),
            // A reset after a full reply is how some servers say goodbye.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !reply.is_empty() => {
                return Ok((reply, ReplyEnd::Eof));
            }
            Err(e) => return Err(format!("cannot read the reply: {}", describe(&e))),
        };
        let before = reply.len();
        reply.extend_from_slice(&chunk[..n]);
        if let Some(t) = terminator {
            // The terminator may straddle two reads.
            let from = before.saturating_sub(t.len() - 1);
            if let Some(at) = reply[from..].windows(t.len()).position(|w| w == t) {
                let end = from + at + t.len();
                if end <= cap {
                    reply.truncate(end);
                    return Ok((reply, ReplyEnd::Terminator));
                }
            }
        }
        if reply.len() >= cap {
            reply.truncate(cap);
            return Ok((reply, ReplyEnd::Limit));
        }
    }
}

fn end_name(end: ReplyEnd) -> &'static str {
    match end {
        ReplyEnd::Eof => "eof",
        ReplyEnd::Terminator => "terminator",
        ReplyEnd::Limit => "limit",
        ReplyEnd::Timeout => "timeout",
    }
}

/// The `socket` capability.
pub struct Socket;

impl Capability for Socket {
    const NAME: &'static str = "socket";
    type State = ();
}

impl wit::Host for StepState {
    fn send(&mut self, req: Request) -> wasmtime::Result<Result<Reply, String>> {
        Ok(self.socket(req))
    }
}

impl StepState {
    fn socket(&mut self, req: Request) -> Result<Reply, String> {
        let address = Address::parse(&req.address)?;
        if !self
            .cx
            .grants
            .allows("socket", &req.address, socket_matches)
        {
            return Err(self.cx.denied("socket", &req.address));
        }
        let write = req.effect == Effect::Write;
        let effect = if write { "write" } else { "read" };
        let summary = format!("send to socket {}: {}", req.address, first_line(&req.data));
        let mut detail = json!({
            "address": req.address,
            "kind": match address { Address::Unix(_) => "unix", Address::Tcp(_) => "tcp" },
            "request_bytes": req.data.len(),
        });
        if self.cx.plans(write) {
            self.cx.emit(Event::Capability {
                step: self.cx.step.clone(),
                capability: "socket".into(),
                effect: effect.into(),
                planned: true,
                summary,
                detail,
            });
            return Ok(Reply {
                data: Vec::new(),
                end: ReplyEnd::Eof,
                planned: true,
            });
        }
        let cap = req
            .max_bytes
            .map_or(MAX_REPLY, |m| usize::try_from(m).unwrap_or(MAX_REPLY))
            .min(MAX_REPLY);
        let deadline =
            Instant::now() + self.cx.remaining(req.timeout_ms.map(Duration::from_millis));
        let started = Instant::now();
        let result = exchange(
            &address,
            &req.data,
            req.terminator.as_deref(),
            cap,
            req.half_close,
            deadline,
        );
        detail["duration_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
        match &result {
            Ok((data, end)) => {
                detail["reply_bytes"] = json!(data.len());
                detail["end"] = json!(end_name(*end));
            }
            Err(e) => detail["error"] = json!(e),
        }
        self.cx.emit(Event::Capability {
            step: self.cx.step.clone(),
            capability: "socket".into(),
            effect: effect.into(),
            planned: false,
            summary,
            detail,
        });
        match result {
            Ok((data, end)) => Ok(Reply {
                data,
                end,
                planned: false,
            }),
            Err(e) => Err(format!("socket {}: {e}", req.address)),
        }
    }
}

#[cfg(test)]
mod tests;
