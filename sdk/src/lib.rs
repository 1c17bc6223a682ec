//! Write cairn plugins in Rust.
//!
//! A plugin is a WebAssembly component for the WIT world
//! `cairn:plugin/plugin`. With this crate it is a type implementing
//! [`Plugin`] plus one `export_plugin!` line; the WIT bindings stay hidden.
//! Each action decodes its step arguments into a serde struct
//! ([`Args::decode`]), does its work through the [`Host`] capabilities, and
//! returns [`Outputs`] or a [`PluginError`]. Each capability of the host is
//! one module of [`caps`]: its types, its part of [`Host`], the bridge to
//! the WIT import and the mock host's side of it.
//!
//! ```
//! use cairn_sdk::prelude::*;
//!
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields, rename_all = "kebab-case")]
//! struct GreetArgs {
//!     name: String,
//!     #[serde(default)]
//!     effect: Effect,
//! }
//!
//! struct Greet;
//!
//! impl Plugin for Greet {
//!     fn describe() -> Description {
//!         Description::new("greet", "0.1.0", "Say hello on a target")
//!             .action("hello", "Print a greeting", Effect::Write)
//!             .default_action("hello")
//!             .capability("exec", ["echo"])
//!     }
//!
//!     fn run(host: &dyn Host, _ctx: &Context, action: &str, args: Args) -> Result<Outputs, PluginError> {
//!         match action {
//!             "hello" => {
//!                 let a: GreetArgs = args.decode()?;
//!                 let done = host.exec(&Command::new("echo").arg(format!("hello {}", a.name)).effect(a.effect))?;
//!                 Ok(Outputs::new().set("said", done.stdout_text().trim_end()))
//!             }
//!             other => Err(PluginError::unknown_action(other)),
//!         }
//!     }
//! }
//!
//! cairn_sdk::export_plugin!(Greet);
//!
//! // Natively, the same code runs against the mock host:
//! let host = cairn_sdk::mock::MockHost::new().exec_returns(Completed::ok("hello ops\n"));
//! let out = host.invoke::<Greet>(&Context::for_test(), "hello", serde_json::json!({ "name": "ops" })).unwrap();
//! assert_eq!(out["said"], "hello ops");
//! ```
//!
//! Build the crate as a `cdylib` for `wasm32-wasip2` and the `.wasm` file is
//! the component. `docs/plugin-guide.md` in the cairn repository walks
//! through a whole plugin.

pub mod args;
pub mod caps;
mod error;
mod exports;
pub mod host;
mod lenient;
pub mod mock;
mod mock_host;
mod outputs;
mod plan_hints;
pub mod schema;
mod types;
mod wit;

/// The `docker` capability: its types, e.g. [`docker::DockerCall`] (what the
/// mock host records), and [`docker::DockerHost`].
pub use caps::docker;

/// The plain Rust types of the `socket` and `dns` capabilities (in
/// [`caps::socket`] and [`caps::dns`] with their traits).
pub mod net {
    pub use crate::caps::dns::{DnsAnswer, DnsQuery, DnsRecord};
    pub use crate::caps::socket::{ReplyEnd, SocketReply, SocketRequest};
}

/// The plain Rust types of the `storage` and `transfer` capabilities (in
/// [`caps::storage`] and [`caps::transfer`] with their traits).
pub mod store {
    pub use crate::caps::storage::{ObjectInfo, Written};
    pub use crate::caps::transfer::{ObjectRef, Sink, Source, Transfer, Transferred, Transform};
}

#[doc(hidden)]
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings;

/// The crate argument schemas are derived with; a plugin crate depends on
/// `schemars` itself for `#[derive(JsonSchema)]`, as for serde's derives.
pub use schemars;

pub use args::{Args, Duration};
pub use docker::{ContainerChange, ContainerInfo, DockerExec};
pub use error::{HostError, PluginError};
pub use host::{Command, Completed, Host, Level, MaybeSecret, Request, Response, Secret};
pub use net::{DnsAnswer, DnsQuery, DnsRecord, ReplyEnd, SocketReply, SocketRequest};
pub use outputs::Outputs;
pub use store::{ObjectInfo, ObjectRef, Sink, Source, Transfer, Transferred, Transform, Written};
pub use types::{ActionInfo, Capability, Context, Description, Effect, KNOWN_LATER, Mode};

/// What a plugin file usually needs: `use cairn_sdk::prelude::*;`.
///
/// `Deserialize` and `Serialize` are serde's derives, `JsonSchema` is
/// schemars'; the plugin crate depends on `serde` and `schemars` itself, as
/// their derives require.
pub mod prelude {
    /// Every capability's methods, in scope on a concrete host too.
    pub use crate::caps::prelude::*;
    pub use crate::{
        Args, Command, Completed, Context, Description, Duration, Effect, Host, Level, MaybeSecret,
        Mode, Outputs, Plugin, PluginError, Request, Response, Secret,
    };
    pub use crate::{ContainerChange, ContainerInfo, DockerExec};
    pub use crate::{DnsAnswer, DnsQuery, DnsRecord, ReplyEnd, SocketReply, SocketRequest};
    pub use crate::{ObjectInfo, Sink, Source, Transfer, Transferred, Transform, Written};
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}

/// A cairn plugin: what it is and how it runs an action.
pub trait Plugin {
    /// Name, version, actions, the default action, the argument schema and
    /// the capabilities the plugin needs. Called once per component; must
    /// not call the host.
    fn describe() -> Description;

    /// Runs `action` (the step's `action=`, or the default action) with the
    /// step's arguments. The host enforces grants, dry-run and timeouts on
    /// every call made through `host`.
    fn run(
        host: &dyn Host,
        ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError>;
}

/// Exports a [`Plugin`] as the component's `describe` and `run`.
///
/// Use it once, at the top level of the plugin crate: `export_plugin!(MyPlugin);`.
/// On targets other than wasm32 it only checks that the type implements
/// [`Plugin`], so the crate builds natively for its unit tests.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: fn() = || {
            fn is_plugin<P: $crate::Plugin>() {}
            is_plugin::<$plugin>();
        };

        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        const _: () = {
            struct CairnPluginExports;

            impl $crate::bindings::Guest for CairnPluginExports {
                fn describe() -> $crate::bindings::Description {
                    $crate::__private::describe::<$plugin>()
                }

                fn run(
                    ctx: $crate::bindings::Context,
                    action: ::std::string::String,
                    args: ::std::string::String,
                ) -> ::std::result::Result<::std::string::String, $crate::bindings::PluginError> {
                    $crate::__private::run::<$plugin>(ctx, action, args)
                }
            }

            $crate::bindings::__export_plugin_world!(CairnPluginExports with_types_in $crate::bindings);
        };
    };
}

// The generated bindings and the export macro name this crate by its
// absolute path, from inside it as from a plugin crate.
extern crate self as cairn_sdk;

#[doc(hidden)]
pub mod __private {
    pub use crate::exports::{describe, invoke, run};
    pub use crate::wit::WitHost;
    pub use wit_bindgen;
}
