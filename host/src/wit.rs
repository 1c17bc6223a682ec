//! Host bindings generated from `wit/` (the `cairn:plugin` package).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    imports: { default: trappable },
    with: {
        "cairn:plugin/secrets.secret": crate::wit::SecretHandle,
    },
});

pub use self::cairn::plugin::types::{ActionInfo, Capability, Effect, Mode as WitMode};

/// A handle a plugin holds: the secret's name, never its value.
#[derive(Debug, Clone)]
pub struct SecretHandle {
    pub name: String,
}
