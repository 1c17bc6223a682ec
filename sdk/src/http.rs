//! An HTTP request and its response (`http` in the WIT).

use std::borrow::Cow;
use std::time::Duration;

use crate::Effect;
use crate::secret::MaybeSecret;

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
