//! The capabilities the host registers, each with the state it keeps for a
//! step (in the style of wasmtime's `wasi-keyvalue` and Spin's factors): a
//! capability declares its state and how it is built from the project and
//! the run, and [`CAPABILITIES`] (in `capabilities/mod.rs`) lists them all,
//! once. The engine builds a
//! step's [`States`] from that list and a capability reads its own with
//! [`super::CapCtx::state`]; nothing else names a capability's state.

use std::any::{Any, TypeId};

use super::{CAPABILITIES, Inputs};

/// A capability: a grant kind, and the state a step's calls to it read.
pub trait Capability: 'static {
    /// Its grant kind (`grant plugin=… { NAME "…" }`), and the name of its
    /// interface in the `plugin` world when it has one.
    const NAME: &'static str;
    /// Whether the `plugin` world imports an interface of that name (not so
    /// for `files`, WASI's filesystem, nor `exec-env`, which narrows `exec`
    /// and `docker`).
    const WIT: bool = true;
    /// What it keeps for one step (`()`: nothing). Its default is the state
    /// of a `describe` call, where nothing is granted.
    type State: Default + Send + 'static;

    /// Its state for one step, from the project and the run.
    fn build(inputs: &Inputs<'_>) -> Self::State {
        let _ = inputs;
        Self::State::default()
    }
}

type Slot = (TypeId, Box<dyn Any + Send>);

/// One registered capability.
pub struct Entry {
    pub name: &'static str,
    /// An interface of the `plugin` world (see [`Capability::WIT`]).
    pub wit: bool,
    build: fn(&Inputs<'_>) -> Slot,
    describe: fn() -> Slot,
}

/// The entry of capability `C`.
pub const fn entry<C: Capability>() -> Entry {
    Entry {
        name: C::NAME,
        wit: C::WIT,
        build: build::<C>,
        describe: describe::<C>,
    }
}

fn build<C: Capability>(inputs: &Inputs<'_>) -> Slot {
    (TypeId::of::<C>(), Box::new(C::build(inputs)))
}

fn describe<C: Capability>() -> Slot {
    (TypeId::of::<C>(), Box::new(C::State::default()))
}

/// The states of one step's capabilities, one per registered capability.
pub struct States(Vec<Slot>);

impl States {
    /// The states of a step, built from [`CAPABILITIES`].
    pub fn build(inputs: &Inputs<'_>) -> Self {
        Self(CAPABILITIES.iter().map(|e| (e.build)(inputs)).collect())
    }

    /// The states of a `describe` call: each capability's default.
    pub fn describe() -> Self {
        Self(CAPABILITIES.iter().map(|e| (e.describe)()).collect())
    }

    /// The capabilities whose states these are.
    #[cfg(test)]
    pub(super) fn ids(&self) -> impl Iterator<Item = TypeId> + '_ {
        self.0.iter().map(|(t, _)| *t)
    }

    /// The state of capability `C`.
    ///
    /// # Panics
    /// When `C` is not in [`CAPABILITIES`] (a test builds every state).
    pub fn get<C: Capability>(&self) -> &C::State {
        let id = TypeId::of::<C>();
        self.0
            .iter()
            .find(|(t, _)| *t == id)
            .and_then(|(_, s)| s.downcast_ref())
            .unwrap_or_else(|| panic!("capability `{}` is not in CAPABILITIES", C::NAME))
    }
}
