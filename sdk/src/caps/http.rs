//! The `http` capability: a request to a granted host and its response.

use std::borrow::Cow;
use std::time::Duration;

use super::secrets::MaybeSecret;
use crate::bindings::cairn::plugin::http;
use crate::mock_host::MockHost;
use crate::wit::{WitHost, millis};
use crate::{Effect, HostError};

/// An HTTP request (`http.request` in the WIT).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, MaybeSecret)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Option<Duration>,
    /// True by default.
    pub follow_redirects: bool,
}

impl Request {
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Request {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
            timeout: None,
            follow_redirects: true,
        }
    }

    pub fn get(url: impl Into<String>) -> Self {
        Request::new("GET", url)
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<MaybeSecret>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub fn timeout(mut self, timeout: impl Into<Duration>) -> Self {
        self.timeout = Some(timeout.into());
        self
    }

    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.follow_redirects = follow;
        self
    }

    /// GET and HEAD are reads; every other method is a write.
    pub fn effect(&self) -> Effect {
        if self.method.eq_ignore_ascii_case("GET") || self.method.eq_ignore_ascii_case("HEAD") {
            Effect::Read
        } else {
            Effect::Write
        }
    }
}

/// An HTTP response (`http.response` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// True when the request was not sent (dry-run of a write).
    pub planned: bool,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
            planned: false,
        }
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// What the host returns for a write in a dry-run.
    pub fn planned() -> Self {
        Response {
            planned: true,
            ..Response::default()
        }
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// The [`Host`](crate::Host) method of the `http` capability. Every host
/// has it.
pub trait HttpHost {
    /// Sends an HTTP request to a granted host. GET and HEAD are reads; in a
    /// dry-run any other method is not sent and the response has `planned`.
    fn http(&self, request: &Request) -> Result<Response, HostError>;
}

impl HttpHost for WitHost {
    fn http(&self, request: &Request) -> Result<Response, HostError> {
        let headers = request
            .headers
            .iter()
            .map(|(name, value)| {
                Ok(http::Header {
                    name: name.clone(),
                    value: match value {
                        MaybeSecret::Plain(s) => http::HeaderValue::Plain(s.clone()),
                        MaybeSecret::Secret(s) => http::HeaderValue::Secret(s.wit_handle()?),
                    },
                })
            })
            .collect::<Result<Vec<_>, HostError>>()?;
        let req = http::Request {
            method: request.method.clone(),
            url: request.url.clone(),
            headers,
            body: request.body.clone(),
            timeout_ms: request.timeout.map(millis),
            follow_redirects: request.follow_redirects,
        };
        let resp = http::send(&req).map_err(HostError::new)?;
        Ok(Response {
            status: resp.status,
            headers: resp.headers,
            body: resp.body,
            planned: resp.planned,
        })
    }
}

impl HttpHost for MockHost {
    fn http(&self, request: &Request) -> Result<Response, HostError> {
        self.record(request.clone());
        if self.is_dry_run() && request.effect() == Effect::Write {
            return Ok(Response::planned());
        }
        self.answer(request, || format!("{} `{}`", request.method, request.url))
    }
}

impl MockHost {
    /// Queues the response to the next `http` call.
    pub fn http_returns(self, response: Response) -> Self {
        self.returns::<Request, _>(Ok(response))
    }

    /// Queues a host error for the next `http` call.
    pub fn http_fails(self, message: impl Into<String>) -> Self {
        self.returns::<Request, Response>(Err(HostError::new(message)))
    }

    /// Answers `http` calls once the queue is empty.
    pub fn on_http(
        self,
        handler: impl FnMut(&Request) -> Result<Response, HostError> + 'static,
    ) -> Self {
        self.answers(handler)
    }

    /// The `http` requests, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.recorded()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unscripted_requests_fail_and_writes_are_planned_in_a_dry_run() {
        let e = MockHost::new()
            .http(&Request::get("http://x/"))
            .unwrap_err();
        assert_eq!(
            e.message,
            "mock host: no response scripted for GET `http://x/`"
        );
        let host = MockHost::new()
            .dry_run()
            .http_returns(Response::new(200, "up"));
        assert!(host.http(&Request::new("POST", "http://x/")).unwrap().planned);
        let got = host.http(&Request::get("http://x/")).unwrap();
        assert_eq!((got.status, got.text().as_ref()), (200, "up"));
        assert_eq!(host.requests().len(), 2);
    }
}
