//! The `greeter-rs` plugin of this project. `cairn plugin build greeter-rs`
//! makes it a component (`plugins/greeter-rs.wasm`) and pins it in
//! `cairn.lock`; `cairn plugin test greeter-rs` runs the tests below.

use cairn_sdk::prelude::*;

/// The arguments of `hello`: `step greet uses=greeter-rs { who "ops" }`.
/// The doc comments are the help `cairn plugin show greeter-rs` prints, and
/// `cairn validate` checks every step against this struct's schema.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct HelloArgs {
    /// Who to greet.
    who: String,
    /// Shout the greeting.
    #[serde(default)]
    loud: bool,
}

pub struct GreeterRs;

impl Plugin for GreeterRs {
    fn describe() -> Description {
        Description::new("greeter-rs", env!("CARGO_PKG_VERSION"), "Greets someone")
            .action("hello", "Say hello with `echo`", Effect::Write)
            .action_args::<HelloArgs>("hello")
            .default_action("hello")
            .capability("exec", ["echo"])
    }

    fn run(
        host: &dyn Host,
        _ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "hello" => hello(host, args.decode()?),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(GreeterRs);

fn hello(host: &dyn Host, a: HelloArgs) -> Result<Outputs, PluginError> {
    let mut text = format!("hello, {}", a.who);
    if a.loud {
        text = text.to_uppercase();
    }
    // A write: in a dry-run the host records it and answers `planned`.
    let done = host.exec(&Command::new("echo").arg(&text))?;
    if !done.planned && done.status != 0 {
        return Err(PluginError::new(format!(
            "`echo` exited with status {}",
            done.status
        )));
    }
    Ok(Outputs::new()
        .set("greeting", done.stdout_text().trim_end())
        .set("planned", done.planned))
}

#[cfg(test)]
mod tests {
    use super::GreeterRs;
    use cairn_sdk::mock::MockHost;
    use cairn_sdk::prelude::*;
    use serde_json::json;

    #[test]
    fn hello_echoes_the_greeting() {
        let host = MockHost::new().exec_returns(Completed::ok("hello, ops\n"));
        let out = host
            .invoke::<GreeterRs>(&Context::for_test(), "hello", json!({ "who": "ops" }))
            .unwrap();
        assert_eq!(out["greeting"], "hello, ops");
        assert_eq!(host.commands()[0].program, "echo");
        assert_eq!(host.commands()[0].args, ["hello, ops"]);
    }

    #[test]
    fn a_dry_run_plans_the_echo() {
        let host = MockHost::new().dry_run();
        let out = host
            .invoke::<GreeterRs>(&Context::for_test(), "hello", json!({ "who": "ops" }))
            .unwrap();
        assert_eq!(out["planned"], true);
    }

    #[test]
    fn a_typo_names_the_argument() {
        let err = MockHost::new()
            .invoke::<GreeterRs>(&Context::for_test(), "hello", json!({ "woh": "ops" }))
            .unwrap_err();
        assert!(err.message.contains("woh"), "{}", err.message);
    }
}
