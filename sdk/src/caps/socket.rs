//! The `socket` capability: a request/response exchange on a granted unix
//! or tcp socket (an HAProxy admin socket, a supervisord or Redis port).

use std::borrow::Cow;
use std::time::Duration;

use crate::bindings::cairn::plugin::socket;
use crate::mock_host::MockHost;
use crate::wit::{WitHost, effect_to_wit, millis};
use crate::{Effect, HostError};

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

/// The [`Host`](crate::Host) method of the `socket` capability.
pub trait SocketHost {
    /// Sends a request on a granted unix or tcp socket and reads the reply.
    /// In a dry-run a `write` request is not sent: the reply has `planned`
    /// set and no data.
    ///
    /// Hosts written before the `socket` capability answer with an error.
    fn socket(&self, request: &SocketRequest) -> Result<SocketReply, HostError> {
        Err(HostError::new(format!(
            "socket: `{}`: this host has no socket capability",
            request.address
        )))
    }
}

impl SocketHost for WitHost {
    fn socket(&self, request: &SocketRequest) -> Result<SocketReply, HostError> {
        let req = socket::Request {
            address: request.address.clone(),
            data: request.data.clone(),
            terminator: request.terminator.clone(),
            max_bytes: request.max_bytes,
            half_close: request.half_close,
            timeout_ms: request.timeout.map(millis),
            effect: effect_to_wit(request.effect),
        };
        let reply = socket::send(&req).map_err(HostError::new)?;
        Ok(SocketReply {
            data: reply.data,
            end: match reply.end {
                socket::ReplyEnd::Eof => ReplyEnd::Eof,
                socket::ReplyEnd::Terminator => ReplyEnd::Terminator,
                socket::ReplyEnd::Limit => ReplyEnd::Limit,
                socket::ReplyEnd::Timeout => ReplyEnd::Timeout,
            },
            planned: reply.planned,
        })
    }
}

impl SocketHost for MockHost {
    fn socket(&self, request: &SocketRequest) -> Result<SocketReply, HostError> {
        self.record(request.clone());
        if self.is_dry_run() && request.effect == Effect::Write {
            return Ok(SocketReply::planned());
        }
        self.answer(request, || format!("socket `{}`", request.address))
    }
}

impl MockHost {
    /// Queues the reply to the next `socket` call.
    pub fn socket_returns(self, reply: SocketReply) -> Self {
        self.returns::<SocketRequest, _>(Ok(reply))
    }

    /// Queues a host error for the next `socket` call.
    pub fn socket_fails(self, message: impl Into<String>) -> Self {
        self.returns::<SocketRequest, SocketReply>(Err(HostError::new(message)))
    }

    /// Answers `socket` calls once the queue is empty.
    pub fn on_socket(
        self,
        handler: impl FnMut(&SocketRequest) -> Result<SocketReply, HostError> + 'static,
    ) -> Self {
        self.answers(handler)
    }

    /// The `socket` requests, in order.
    pub fn socket_requests(&self) -> Vec<SocketRequest> {
        self.recorded()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_writes_unless_said() {
        let r = SocketRequest::new("/run/x.sock", "show info\n");
        assert_eq!(r.effect, Effect::Write);
        let r = r.terminator("\n> ").max_bytes(10).half_close(true);
        assert_eq!(r.terminator.as_deref(), Some(&b"\n> "[..]));
        assert_eq!(SocketReply::eof("ok\n").text(), "ok\n");
        assert!(SocketReply::planned().planned);
    }

    #[test]
    fn requests_are_scripted_and_recorded() {
        let sock = "/run/haproxy.sock";
        let host = MockHost::new()
            .dry_run()
            .socket_returns(SocketReply::eof("1\n"));
        let drain = host
            .socket(&SocketRequest::new(sock, "set server be/s1 state drain\n"))
            .unwrap();
        assert!(drain.planned, "a write is planned in a dry-run");
        let show = host
            .socket(&SocketRequest::new(sock, "show servers state\n").effect(Effect::Read))
            .unwrap();
        assert_eq!((show.text().as_ref(), show.end), ("1\n", ReplyEnd::Eof));
        assert_eq!(host.socket_requests().len(), 2);
        let e = MockHost::new()
            .socket(&SocketRequest::new(sock, "x").effect(Effect::Read))
            .unwrap_err();
        assert_eq!(
            e.message,
            "mock host: no response scripted for socket `/run/haproxy.sock`"
        );
    }
}
