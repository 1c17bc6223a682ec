//! The runtime API's conversation: one command per connection (HAProxy's
//! non-interactive mode answers and closes), reads marked as reads so a
//! dry-run performs them, and HAProxy's error texts turned into errors.

use cairn_sdk::prelude::*;

use crate::state::{self, Server};

const CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends a read command; HAProxy's answer.
pub fn read(host: &dyn Host, socket: &str, command: &str) -> Result<String, PluginError> {
    let reply = host.socket(
        &SocketRequest::new(socket, format!("{command}\n"))
            .effect(Effect::Read)
            .timeout(CALL_TIMEOUT),
    )?;
    if reply.end == ReplyEnd::Timeout {
        return Err(PluginError::new(format!(
            "haproxy at {socket} did not answer `{command}` within {}s",
            CALL_TIMEOUT.as_secs()
        )));
    }
    Ok(String::from_utf8_lossy(&reply.data).into_owned())
}

/// Sends a change; `Ok(false)` when a dry-run did not send it.
pub fn write(host: &dyn Host, socket: &str, command: &str) -> Result<bool, PluginError> {
    let reply =
        host.socket(&SocketRequest::new(socket, format!("{command}\n")).timeout(CALL_TIMEOUT))?;
    if reply.planned {
        return Ok(false);
    }
    let text = String::from_utf8_lossy(&reply.data);
    let text = text.trim();
    // Success is an empty answer, or for `addr` a sentence saying what
    // changed; anything else is HAProxy refusing.
    let fine = text.is_empty()
        || text.starts_with("IP changed from")
        || text.starts_with("no need to change")
        || text.starts_with("port changed from");
    if !fine {
        return Err(PluginError::new(format!(
            "haproxy at {socket} refused `{command}`: {text}"
        )));
    }
    Ok(true)
}

/// Every server of the backend, from `show servers state` and `show stat`.
pub fn servers(host: &dyn Host, socket: &str, backend: &str) -> Result<Vec<Server>, PluginError> {
    let st = read(host, socket, &format!("show servers state {backend}"))?;
    if st.trim_start().starts_with("Can't find backend") || st.contains("No such backend") {
        return Err(PluginError::arg(
            "backend",
            format!("haproxy at {socket} has no backend `{backend}`"),
        ));
    }
    let stat = read(host, socket, "show stat")?;
    let servers = state::join(&st, &stat, backend).map_err(PluginError::new)?;
    if servers.is_empty() {
        return Err(PluginError::arg(
            "backend",
            format!("backend `{backend}` at {socket} has no servers"),
        ));
    }
    Ok(servers)
}

/// The named server among them, or an error naming the ones there are.
pub fn find<'a>(
    servers: &'a [Server],
    backend: &str,
    name: &str,
) -> Result<&'a Server, PluginError> {
    servers.iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
        PluginError::arg(
            "server",
            format!(
                "backend `{backend}` has no server `{name}` (it has {})",
                names.join(", ")
            ),
        )
    })
}
