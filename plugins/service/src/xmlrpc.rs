//! supervisord's XML-RPC interface on its own socket, the one
//! `supervisorctl` speaks: a call is one HTTP/1.0 `POST /RPC2` on the unix
//! socket (or `host:port`) of the `[supervisorctl]` section's `serverurl`,
//! answered and closed. A status read costs a few milliseconds where
//! starting `supervisorctl` costs a quarter of a second.
//!
//! Only what supervisord sends is read: `string`, `int`/`i4`, `boolean`,
//! `array`, `struct` (others are kept as [`Value::Other`]), and faults.

use std::time::Duration;

use cairn_sdk::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Array(Vec<Value>),
    Struct(Vec<(String, Value)>),
    Other,
}

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn str(&self, key: &str) -> &str {
        match self.get(key) {
            Some(Value::Str(s)) => s,
            _ => "",
        }
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }
}

/// A parameter of a call.
pub(crate) enum Param<'a> {
    Str(&'a str),
    Bool(bool),
}

/// Why a call gave no value.
#[derive(Debug, PartialEq)]
pub(crate) enum CallError {
    /// supervisord answered with a fault (`BAD_NAME`, `ALREADY_STARTED`...).
    Fault { code: i64, message: String },
    /// No XML-RPC answer at all: the socket, HTTP, or what came back.
    Transport(String),
}

/// The address of the socket `serverurl` names: a unix socket path, or
/// `host:port`. `None` for what this client does not speak (no URL).
pub(crate) fn address(server_url: &str) -> Option<String> {
    if let Some(path) = server_url.strip_prefix("unix://") {
        return path.starts_with('/').then(|| path.to_string());
    }
    let rest = server_url.strip_prefix("http://")?;
    let hostport = rest.split('/').next()?;
    let (host, port) = hostport.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    Some(format!("{host}:{port}"))
}

/// Calls `method` on supervisord at `address`. `Ok(None)`: the call was
/// planned (a write in a dry-run, anything offline).
pub(crate) fn call(
    host: &dyn Host,
    address: &str,
    method: &str,
    params: &[Param],
    effect: Effect,
    timeout: Duration,
) -> Result<Option<Value>, CallError> {
    let body = request_body(method, params);
    let data = format!(
        "POST {} HTTP/1.0\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        uri(method, params),
        body.len()
    );
    let reply = host
        .socket(
            &SocketRequest::new(address, data)
                .effect(effect)
                .timeout(timeout),
        )
        .map_err(|e| CallError::Transport(e.message))?;
    if reply.planned {
        return Ok(None);
    }
    if reply.end == cairn_sdk::ReplyEnd::Timeout {
        return Err(CallError::Transport(format!(
            "supervisord did not answer `{method}` within {}s",
            timeout.as_secs()
        )));
    }
    response(&reply.text()).map(Some)
}

/// `/RPC2?METHOD(ARGS)`: supervisord serves every path under `/RPC2`,
/// and the call is then readable in a plan and the journal (`send to socket
/// …: POST /RPC2?supervisor.stopProcess(web) HTTP/1.0`).
fn uri(method: &str, params: &[Param]) -> String {
    let args: Vec<String> = params
        .iter()
        .map(|p| match p {
            Param::Str(s) => s
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"._:*-".contains(&b) {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect(),
            Param::Bool(b) => b.to_string(),
        })
        .collect();
    format!("/RPC2?{method}({})", args.join(","))
}

fn request_body(method: &str, params: &[Param]) -> String {
    let mut body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>{}</methodName><params>",
        escape(method)
    );
    for p in params {
        body.push_str("<param><value>");
        match p {
            Param::Str(s) => body.push_str(&format!("<string>{}</string>", escape(s))),
            Param::Bool(b) => body.push_str(&format!("<boolean>{}</boolean>", u8::from(*b))),
        }
        body.push_str("</value></param>");
    }
    body.push_str("</params></methodCall>");
    body
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let c = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of an HTTP answer carrying a `methodResponse`.
pub(crate) fn response(http: &str) -> Result<Value, CallError> {
    let bad = |what: &str| CallError::Transport(format!("supervisord answered {what}"));
    let status = http.lines().next().unwrap_or("");
    if !status.starts_with("HTTP/") {
        return Err(bad("no HTTP"));
    }
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(bad(&format!("`{}`", status.trim())));
    }
    let body = http
        .split_once("\r\n\r\n")
        .or_else(|| http.split_once("\n\n"))
        .map(|(_, b)| b)
        .ok_or_else(|| bad("no body"))?;
    let mut p = Parser { rest: body };
    let malformed = |_| bad("XML this client cannot read");
    while p.peek_tag().is_some_and(|t| t.starts_with('?')) {
        p.tag().map_err(malformed)?;
    }
    p.expect("methodResponse").map_err(malformed)?;
    match p.tag().map_err(malformed)? {
        "params" => {
            p.expect("param").map_err(malformed)?;
            p.value().map_err(malformed)
        }
        "fault" => {
            let v = p.value().map_err(malformed)?;
            Err(CallError::Fault {
                code: v.int("faultCode").unwrap_or(0),
                message: v.str("faultString").to_string(),
            })
        }
        _ => Err(bad("no params and no fault")),
    }
}

struct Parser<'a> {
    rest: &'a str,
}

impl<'a> Parser<'a> {
    fn peek_tag(&self) -> Option<&'a str> {
        let s = self.rest.trim_start();
        let s = s.strip_prefix('<')?;
        s.find('>').map(|end| &s[..end])
    }

    /// The next tag's inside (`value`, `/value`, `string/`), skipping the
    /// text before it.
    fn tag(&mut self) -> Result<&'a str, ()> {
        let start = self.rest.find('<').ok_or(())?;
        let s = &self.rest[start + 1..];
        let end = s.find('>').ok_or(())?;
        self.rest = &s[end + 1..];
        Ok(s[..end].trim())
    }

    fn expect(&mut self, name: &str) -> Result<(), ()> {
        if self.tag()? == name { Ok(()) } else { Err(()) }
    }

    /// The text up to the next tag.
    fn text(&mut self) -> &'a str {
        let end = self.rest.find('<').unwrap_or(self.rest.len());
        let t = &self.rest[..end];
        self.rest = &self.rest[end..];
        t
    }

    /// `<value>…</value>`, the opening tag not read yet.
    fn value(&mut self) -> Result<Value, ()> {
        match self.tag()? {
            "value" => {}
            "value/" => return Ok(Value::Str(String::new())),
            _ => return Err(()),
        }
        let raw = self.text();
        let kind = self.tag()?;
        let v = match kind {
            "/value" => return Ok(Value::Str(unescape(raw))),
            "string/" => Value::Str(String::new()),
            "string" => {
                let s = unescape(self.text());
                self.expect("/string")?;
                Value::Str(s)
            }
            "int" | "i4" | "i8" => {
                let n = self.text().trim().parse().map_err(|_| ())?;
                self.expect(&format!("/{kind}"))?;
                Value::Int(n)
            }
            "boolean" => {
                let b = self.text().trim() == "1";
                self.expect("/boolean")?;
                Value::Bool(b)
            }
            "array" => {
                let mut items = Vec::new();
                if self.tag()? == "data" {
                    while self.peek_tag() == Some("value") || self.peek_tag() == Some("value/") {
                        items.push(self.value()?);
                    }
                    self.expect("/data")?;
                }
                self.expect("/array")?;
                Value::Array(items)
            }
            "struct" => {
                let mut members = Vec::new();
                while self.peek_tag() == Some("member") {
                    self.tag()?;
                    self.expect("name")?;
                    let name = unescape(self.text());
                    self.expect("/name")?;
                    members.push((name, self.value()?));
                    self.expect("/member")?;
                }
                self.expect("/struct")?;
                Value::Struct(members)
            }
            other if other.ends_with('/') => Value::Other,
            other => {
                let close = format!("/{other}");
                while self.tag()? != close {}
                Value::Other
            }
        };
        self.expect("/value")?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(body: &str) -> String {
        format!("HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n{body}")
    }

    #[test]
    fn a_listing_of_processes_is_read() {
        let body = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n<value><struct>\n<member>\n<name>name</name>\n<value><string>w_00</string></value>\n</member>\n<member>\n<name>pid</name>\n<value><int>6819</int></value>\n</member>\n<member>\n<name>description</name>\n<value><string>pid 6819, uptime 0:14:54 &amp; more</string></value>\n</member>\n<member>\n<name>spawnerr</name>\n<value><string></string></value>\n</member>\n</struct></value>\n</data></array></value>\n</param>\n</params>\n</methodResponse>\n";
        let v = response(&http(body)).unwrap();
        let Value::Array(items) = v else {
            panic!("{v:?}")
        };
        assert_eq!(items[0].str("name"), "w_00");
        assert_eq!(items[0].int("pid"), Some(6819));
        assert_eq!(
            items[0].str("description"),
            "pid 6819, uptime 0:14:54 & more"
        );
        assert_eq!(items[0].str("spawnerr"), "");
    }

    #[test]
    fn a_fault_is_its_code_and_message() {
        let body = "<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>10</int></value></member><member><name>faultString</name><value><string>BAD_NAME: nope</string></value></member></struct></value></fault></methodResponse>";
        assert_eq!(
            response(&http(body)),
            Err(CallError::Fault {
                code: 10,
                message: "BAD_NAME: nope".into()
            })
        );
    }

    #[test]
    fn what_is_not_an_answer_is_a_transport_error() {
        for bad in [
            "",
            "HTTP/1.0 401 Unauthorized\r\n\r\n",
            "HTTP/1.0 200 OK\r\n\r\n<methodResponse><params><param><value><int>x</int></value>",
            "HTTP/1.0 200 OK\r\n\r\n<html>",
        ] {
            assert!(
                matches!(response(bad), Err(CallError::Transport(_))),
                "{bad:?}"
            );
        }
        let body = "<methodResponse><params><param><value><boolean>1</boolean></value></param></params></methodResponse>";
        assert_eq!(response(&http(body)), Ok(Value::Bool(true)));
    }

    #[test]
    fn server_urls_become_socket_addresses() {
        assert_eq!(
            address("unix:///run/supervisor.sock").as_deref(),
            Some("/run/supervisor.sock")
        );
        assert_eq!(
            address("http://localhost:9001").as_deref(),
            Some("127.0.0.1:9001")
        );
        assert_eq!(
            address("http://127.0.0.1:9001/RPC2").as_deref(),
            Some("127.0.0.1:9001")
        );
        assert_eq!(address("unix://relative.sock"), None);
        assert_eq!(address("https://x:1"), None);
    }

    #[test]
    fn the_request_line_names_the_call() {
        assert_eq!(
            uri(
                "supervisor.startProcess",
                &[Param::Str("w 1:*"), Param::Bool(false)]
            ),
            "/RPC2?supervisor.startProcess(w%201:*,false)"
        );
    }

    #[test]
    fn a_request_escapes_its_strings() {
        let b = request_body(
            "supervisor.startProcess",
            &[Param::Str("a<b&c"), Param::Bool(false)],
        );
        assert!(b.contains("<string>a&lt;b&amp;c</string>"), "{b}");
        assert!(b.contains("<boolean>0</boolean>"), "{b}");
    }
}
