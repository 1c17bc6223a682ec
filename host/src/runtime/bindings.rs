//! Host bindings generated from `wit/` (the `cairn:plugin` package).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
    imports: { default: trappable },
    with: {
        "cairn:plugin/secrets.secret": crate::capabilities::secrets::SecretHandle,
    },
});

pub use self::cairn::plugin::types::{ActionInfo, Capability, Effect, Mode as WitMode};
