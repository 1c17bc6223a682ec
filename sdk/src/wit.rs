//! What every capability's bridge to the WIT imports shares: [`WitHost`],
//! the real host, and the conversions of durations and effects.
//!
//! On targets other than wasm32 the imports compile (so plugins build
//! natively for their unit tests) but every one traps: tests use the mock
//! host.

use crate::Effect;
use crate::bindings::cairn::plugin::types;

/// The real host, reached through the component's imports. Each capability
/// implements its trait for it (`caps/*.rs`).
#[derive(Debug, Clone, Copy)]
pub struct WitHost;

pub(crate) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn effect_to_wit(effect: Effect) -> types::Effect {
    match effect {
        Effect::Read => types::Effect::Read,
        Effect::Write => types::Effect::Write,
    }
}
