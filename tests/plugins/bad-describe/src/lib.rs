//! Test plugin `bad-describe`: panics in `describe`, so the component traps
//! before the host learns its name. The host must report the file that
//! failed and keep every other plugin and runbook working.

use cairn_sdk::prelude::*;

pub struct BadDescribe;

impl Plugin for BadDescribe {
    fn describe() -> Description {
        panic!("bad-describe refuses to describe itself");
    }

    fn run(
        _host: &dyn Host,
        _ctx: &Context,
        _action: &str,
        _args: Args,
    ) -> Result<Outputs, PluginError> {
        Ok(Outputs::new())
    }
}

cairn_sdk::export_plugin!(BadDescribe);
