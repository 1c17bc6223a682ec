//! The stock `haproxy` plugin: reads and changes the state of a backend's
//! servers through HAProxy's runtime API (the `socket` capability), for
//! rolling deploys and moves.
//!
//! ```kdl
//! step drain-app1 uses=haproxy action=drain {
//!     socket "/run/haproxy/admin.sock"
//!     backend be_app
//!     server app1
//!     timeout "2m"
//!     undo {
//!         step back uses=haproxy action=set-state {
//!             socket "/run/haproxy/admin.sock"
//!             backend be_app
//!             server app1
//!             state "{{ steps.drain-app1.outputs.previous-state }}"
//!         }
//!     }
//! }
//! ```
//!
//! Every change returns what it replaced (`previous-state`,
//! `previous-weight`, `previous-addr`, `previous-port`) so an undo can put
//! it back exactly. A change that would leave the backend without a server
//! that is ready and up is refused unless the step says
//! `allow-empty-backend #true`. In a dry-run the state is read for real and
//! the change is logged as `server be_app/app1: ready → drain`.

mod actions;
mod api;
mod state;
#[cfg(test)]
mod tests;

use cairn_sdk::prelude::*;
use serde_json::json;

/// `socket`, `backend` and, for the actions on one server, `server`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct StepArgs {
    /// The runtime API: a unix socket path or `host:port` (`stats socket
    /// ... level admin`).
    pub socket: String,
    /// The backend.
    pub backend: String,
    /// The server: every action but `status` needs it.
    pub server: Option<String>,
    /// `set-state`: ready, drain or maint.
    #[schemars(extend("enum" = ["ready", "drain", "maint"]))]
    pub state: Option<String>,
    /// `weight`: 0 to 256.
    pub weight: Option<u32>,
    /// `set-addr`: the new address, and optionally port.
    pub addr: Option<String>,
    pub port: Option<u16>,
    /// How long `drain` waits for sessions to end and `wait-healthy` for
    /// the check to pass (default 60 s).
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub allow_empty_backend: bool,
}

pub struct Haproxy;

/// Per server, what changes with traffic and checks: sessions, the last
/// check (`* L7OK` while one runs), the status column (`UP 1/3`).
const VOLATILE_SERVER: [&str; 3] = ["servers.*.sessions", "servers.*.check", "servers.*.status"];

impl Plugin for Haproxy {
    fn describe() -> Description {
        Description::new(
            "haproxy",
            env!("CARGO_PKG_VERSION"),
            "Server states through HAProxy's runtime API: status, drain, maint, ready, weight, set-addr, wait-healthy",
        )
        .action(
            "status",
            "Every server of a backend: state, health, weight, address, sessions, last check",
            Effect::Read,
        )
        .action(
            "drain",
            "Set a server to drain, then wait until its sessions reach 0",
            Effect::Write,
        )
        .action("maint", "Set a server to maintenance", Effect::Write)
        .action("ready", "Set a server to ready", Effect::Write)
        .action(
            "set-state",
            "Set a server to the given state (ready, drain, maint): the undo of the others",
            Effect::Write,
        )
        .action("weight", "Set a server's weight", Effect::Write)
        .action(
            "set-addr",
            "Point a server at another address (and port)",
            Effect::Write,
        )
        .action(
            "wait-healthy",
            "Wait until a server is up and its health check passes",
            Effect::Read,
        )
        .default_action("status")
        .capability("socket", ["*"])
        .args_for_every_action::<StepArgs>()
        // `limits { max-servers-down N }`: a server taken out counts one,
        // one put back gives it back.
        .counts("drain", "servers-down", json!(1))
        .counts("maint", "servers-down", json!(1))
        .counts("ready", "servers-down", json!(-1))
        .counts(
            "set-state",
            "servers-down",
            json!({"by": "state", "values": {"drain": 1, "maint": 1, "ready": -1}}),
        )
        // Differ from one read to the next: not compared by `cairn apply`.
        .volatile_outputs("status", &VOLATILE_SERVER)
        .volatile_outputs("drain", &["sessions", "waited-ms"])
        .volatile_outputs("wait-healthy", &["check", "waited-ms"])
    }

    fn run(
        host: &dyn Host,
        ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        let a: StepArgs = args.decode()?;
        let dry = ctx.mode == Mode::DryRun;
        match action {
            "status" => actions::status(host, &a),
            "drain" => actions::set_state(host, &a, state::Admin::Drain, dry),
            "maint" => actions::set_state(host, &a, state::Admin::Maint, dry),
            "ready" => actions::set_state(host, &a, state::Admin::Ready, dry),
            "set-state" => {
                let wanted = a.state.as_deref().ok_or_else(|| {
                    PluginError::arg("state", "set-state needs `state` (ready, drain or maint)")
                })?;
                let s = state::Admin::parse(wanted).ok_or_else(|| {
                    PluginError::arg(
                        "state",
                        format!("`{wanted}` is not a server state (ready, drain or maint)"),
                    )
                })?;
                actions::set_state(host, &a, s, dry)
            }
            "weight" => actions::weight(host, &a, dry),
            "set-addr" => actions::set_addr(host, &a, dry),
            "wait-healthy" => actions::wait_healthy(host, &a, dry),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(Haproxy);
