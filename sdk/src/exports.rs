//! The component's exports: [`describe`] and [`run`] implement them for a
//! [`Plugin`], with the real host ([`WitHost`]). `export_plugin!` calls
//! these; plugin code never does.

use crate::bindings::cairn::plugin::types;
use crate::host::Host;
use crate::wit::{WitHost, effect_to_wit};
use crate::{Context, Mode, Plugin, PluginError};

fn context_from_wit(ctx: types::Context) -> Context {
    Context {
        run_id: ctx.run_id,
        step_id: ctx.step_id,
        runbook: ctx.runbook,
        mode: match ctx.mode {
            types::Mode::Apply => Mode::Apply,
            types::Mode::DryRun => Mode::DryRun,
            types::Mode::Rehearsal => Mode::Rehearsal,
        },
        target: ctx.target,
    }
}

/// The `describe` export.
pub fn describe<P: Plugin>() -> types::Description {
    let d = P::describe();
    types::Description {
        name: d.name,
        version: d.version,
        summary: d.summary,
        actions: d
            .actions
            .into_iter()
            .map(|a| types::ActionInfo {
                name: a.name,
                summary: a.summary,
                effect: effect_to_wit(a.effect),
            })
            .collect(),
        default_action: d.default_action,
        args_schema: d.args_schema.to_string(),
        capabilities: d
            .capabilities
            .into_iter()
            .map(|c| types::Capability {
                name: c.name,
                values: c.values,
            })
            .collect(),
    }
}

/// The `run` export.
pub fn run<P: Plugin>(
    ctx: types::Context,
    action: String,
    args: String,
) -> Result<String, types::PluginError> {
    install_panic_hook();
    invoke::<P>(&WitHost, &context_from_wit(ctx), &action, &args).map_err(|e| types::PluginError {
        message: e.message,
        field: e.field,
    })
}

/// What `run` does between the WIT types and the plugin: parse the arguments,
/// call the plugin, serialize the outputs. The mock host goes through here
/// too, so unit tests cover the same path.
pub fn invoke<P: Plugin>(
    host: &dyn Host,
    ctx: &Context,
    action: &str,
    args: &str,
) -> Result<String, PluginError> {
    let args = crate::Args::from_json(args)?;
    P::run(host, ctx, action, args).map(|outputs| outputs.to_json())
}

/// A panic traps the component; before it does, say why in the journal so
/// the host's "plugin trapped" error has the panic message next to it.
fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        use crate::bindings::cairn::plugin::log;
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                log::log(log::Level::Error, &format!("plugin {info}"), &[]);
            }));
        });
    }
}
