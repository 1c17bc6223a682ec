//! Test plugin `net-probe`: hands its step arguments to the host's `socket`
//! and `dns` capabilities and returns what came back, so the integration
//! tests (`host/tests/cli/targets.rs`) can drive them through the real
//! `cairn` binary.
//!
//! ```kdl
//! step show uses=net-probe action=socket {
//!     address "/run/haproxy/admin.sock"
//!     send "show servers state be_app"
//!     effect read
//! }
//! step www uses=net-probe action=dns {
//!     resolver "127.0.0.1:53"
//!     name "www.example.test"
//!     type A
//! }
//! ```

use cairn_sdk::prelude::*;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SocketArgs {
    address: String,
    /// The request; a newline is added unless it ends with one or
    /// `newline=#false`.
    send: String,
    #[serde(default = "yes")]
    newline: bool,
    terminator: Option<String>,
    max_bytes: Option<u64>,
    #[serde(default)]
    half_close: bool,
    timeout: Option<Duration>,
    #[serde(default)]
    effect: Effect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct DnsArgs {
    resolver: String,
    name: String,
    #[serde(default = "a", rename = "type")]
    record_type: String,
    #[serde(default)]
    tcp: bool,
    timeout: Option<Duration>,
}

fn yes() -> bool {
    true
}

fn a() -> String {
    "A".into()
}

pub struct NetProbe;

impl Plugin for NetProbe {
    fn describe() -> Description {
        Description::new(
            "net-probe",
            env!("CARGO_PKG_VERSION"),
            "Sends a request on a socket or looks a name up (tests only)",
        )
        .action(
            "socket",
            "Send `send` to `address`; outputs `reply`, `end`, `planned`",
            Effect::Write,
        )
        .action(
            "dns",
            "Look `name` up at `resolver`; outputs `rcode`, `values`, `value`, `records`",
            Effect::Read,
        )
        .default_action("dns")
        .capability("socket", ["*"])
        .capability("dns", ["*"])
    }

    fn run(
        host: &dyn Host,
        _ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "socket" => socket(host, args.decode()?),
            "dns" => dns(host, args.decode()?),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(NetProbe);

fn socket(host: &dyn Host, a: SocketArgs) -> Result<Outputs, PluginError> {
    let mut data = a.send;
    if a.newline && !data.ends_with('\n') {
        data.push('\n');
    }
    let mut req = SocketRequest::new(a.address, data)
        .half_close(a.half_close)
        .effect(a.effect);
    req.terminator = a.terminator.map(String::into_bytes);
    req.max_bytes = a.max_bytes;
    req.timeout = a.timeout.map(Into::into);
    let reply = host.socket(&req)?;
    Ok(Outputs::new()
        .set("reply", reply.text().trim_end())
        .set("bytes", reply.data.len() as u64)
        .set("end", reply.end.as_str())
        .set("planned", reply.planned))
}

fn dns(host: &dyn Host, a: DnsArgs) -> Result<Outputs, PluginError> {
    let mut q = DnsQuery::new(a.name, &a.record_type, a.resolver).tcp(a.tcp);
    q.timeout = a.timeout.map(Into::into);
    let answer = host.dns(&q)?;
    let values = answer.values(&a.record_type);
    let records: Vec<String> = answer
        .answers
        .iter()
        .chain(&answer.authority)
        .map(|r| format!("{} {} {} {}", r.name, r.ttl, r.record_type, r.data))
        .collect();
    Ok(Outputs::new()
        .set("rcode", answer.rcode.as_str())
        .set("authoritative", answer.authoritative)
        .set("value", values.first().copied().unwrap_or(""))
        .set("values", json!(values))
        .set("records", json!(records))
        .set("planned", answer.planned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_sdk::mock::MockHost;

    #[test]
    fn socket_adds_the_newline_and_reports_the_end() {
        let host = MockHost::new().socket_returns(SocketReply::eof("1\nbe_app 1 app1\n\n"));
        let out = host
            .invoke::<NetProbe>(
                &Context::for_test(),
                "socket",
                json!({ "address": "/run/h.sock", "send": "show servers state", "effect": "read" }),
            )
            .unwrap();
        assert_eq!(out["reply"], "1\nbe_app 1 app1");
        assert_eq!(out["end"], "eof");
        assert_eq!(host.socket_requests()[0].data, b"show servers state\n");
    }

    #[test]
    fn dns_returns_values_of_the_type() {
        let host = MockHost::new().dns_returns(DnsAnswer::nxdomain());
        let out = host
            .invoke::<NetProbe>(
                &Context::for_test(),
                "dns",
                json!({ "resolver": "127.0.0.1:53", "name": "nope.example.test" }),
            )
            .unwrap();
        assert_eq!(out["rcode"], "NXDOMAIN");
        assert_eq!(out["value"], "");
    }
}
