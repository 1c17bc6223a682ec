//! Bindings generated from `wit/cairn-plugin.wit` (world `cairn:plugin/plugin`).
//!
//! Plugin code never touches these: the SDK converts them to the plain Rust
//! types of [`crate::caps`] and [`crate::types`], and `export_plugin!` wires the
//! exports. They are public only because the export macro expands in the
//! plugin's crate.

wit_bindgen::generate!({
    world: "plugin",
    path: "../wit",
    pub_export_macro: true,
    export_macro_name: "__export_plugin_world",
    default_bindings_module: "::cairn_sdk::bindings",
    runtime_path: "::cairn_sdk::__private::wit_bindgen::rt",
});
