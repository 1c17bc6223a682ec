//! Test plugin `loop-describe`: never returns from `describe`. The host's
//! describe timeout must interrupt it and report the file, and every other
//! plugin and runbook must keep working.

use cairn_sdk::prelude::*;

pub struct LoopDescribe;

impl Plugin for LoopDescribe {
    fn describe() -> Description {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
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

cairn_sdk::export_plugin!(LoopDescribe);
