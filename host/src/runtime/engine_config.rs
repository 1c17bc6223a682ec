//! The wasmtime configuration of cairn's plugin engine.
//!
//! One definition for the two places that compile components: the runtime
//! (`Runtime::new`) and `host/build.rs`, which includes this file with
//! `#[path]` to precompile the stock plugins when cairn is built. A
//! precompiled component only loads into an engine of a compatible
//! configuration, so the two must not drift: change the configuration here
//! and both follow.

use wasmtime::Config;

/// The `Config` every cairn engine is built from.
pub fn engine_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(1 << 20);
    config
}
