//! Conversions both directions of the WIT boundary share (host calls in
//! `wit_host`, storage and transfer in `wit_store`).

use crate::Effect;
use crate::bindings::cairn::plugin::types;

pub(crate) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) fn effect_to_wit(effect: Effect) -> types::Effect {
    match effect {
        Effect::Read => types::Effect::Read,
        Effect::Write => types::Effect::Write,
    }
}
