//! The host's capabilities as a plugin sees them, one module per WIT
//! interface. Each module holds the whole of its capability's SDK side:
//!
//! - the plain Rust values its calls take and return;
//! - its part of [`Host`](crate::Host): a trait `FooHost` whose methods
//!   have a default body that fails with "this host has no foo
//!   capability" (so a host written before the capability still builds),
//!   unless every host must answer them;
//! - `impl FooHost for WitHost`: the bridge to the WIT import;
//! - `impl FooHost for MockHost` and the scripting of the mock host
//!   (`foo_returns`, `foo_fails`, `on_foo`, what was asked), in the
//!   module or in `foo/mock.rs`;
//! - its tests.
//!
//! The list below is the one place that names every capability: it
//! declares the modules and makes [`Capabilities`], the supertrait of
//! [`Host`](crate::Host), from their traits. Adding a capability is its
//! module plus one line here (docs/architecture.md).

/// Declares each capability's module and gathers their traits.
macro_rules! capabilities {
    ($($module:ident :: $host:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every capability's trait: what [`Host`](crate::Host) is made of.
        /// Implemented for any type that implements them all.
        pub trait Capabilities: $($module::$host +)* {}

        impl<T: ?Sized $(+ $module::$host)*> Capabilities for T {}

        /// Brings every capability's methods into scope without naming
        /// the traits (`cairn_sdk::prelude` re-exports it), so that
        /// `host.exec(…)` works on a [`MockHost`](crate::mock::MockHost)
        /// as it does on a `&dyn Host`.
        pub mod prelude {
            $(pub use super::$module::$host as _;)*
        }
    };
}

capabilities! {
    log::LogHost,
    secrets::SecretsHost,
    exec::ExecHost,
    http::HttpHost,
    storage::StorageHost,
    transfer::TransferHost,
    socket::SocketHost,
    dns::DnsHost,
    docker::DockerHost,
}
