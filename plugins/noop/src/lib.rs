//! The stock `noop` plugin: the cheapest possible step, for benchmarks of
//! the engine and for tests.
//!
//! - `noop` (default): returns `{}` at once, whatever the arguments.
//! - `echo`: returns its arguments as its outputs (tests of interpolation and
//!   of `steps.ID.outputs.*`).
//! - `fail`: fails with `message` (default `failed on purpose`), for tests of
//!   `on-failure`, `retry` and `continue-on-error`.
//! - `panic`: panics with `message`, so the component traps: for tests of how
//!   the host reports a trapping plugin.

use cairn_sdk::prelude::*;

pub struct Noop;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FailArgs {
    message: Option<String>,
    field: Option<String>,
}

impl Plugin for Noop {
    fn describe() -> Description {
        Description::new("noop", env!("CARGO_PKG_VERSION"), "Do nothing, at once")
            .action("noop", "Return no outputs", Effect::Read)
            .action("echo", "Return the arguments as outputs", Effect::Read)
            .action("fail", "Fail with `message`", Effect::Read)
            .action("panic", "Trap, after a panic with `message`", Effect::Read)
            .action_args::<FailArgs>("fail")
            .action_args::<FailArgs>("panic")
            .default_action("noop")
    }

    fn run(
        _host: &dyn Host,
        _ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "noop" => Ok(Outputs::new()),
            "echo" => Ok(Outputs::from(args.into_map())),
            "fail" => {
                let a: FailArgs = args.decode()?;
                let error =
                    PluginError::new(a.message.unwrap_or_else(|| "failed on purpose".into()));
                Err(match a.field {
                    Some(field) => error.with_field(field),
                    None => error,
                })
            }
            "panic" => {
                let a: FailArgs = args.decode()?;
                panic!("{}", a.message.as_deref().unwrap_or("panicked on purpose"));
            }
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(Noop);

#[cfg(test)]
mod tests {
    use super::Noop;
    use cairn_sdk::mock::MockHost;
    use cairn_sdk::prelude::*;
    use serde_json::json;

    fn invoke(action: &str, args: serde_json::Value) -> Result<Outputs, PluginError> {
        MockHost::new().invoke::<Noop>(&Context::for_test(), action, args)
    }

    #[test]
    fn noop_returns_nothing_and_calls_nothing() {
        let host = MockHost::new();
        let out = host
            .invoke::<Noop>(&Context::for_test(), "noop", json!({ "anything": [1, 2] }))
            .unwrap();
        assert_eq!(out.to_json(), "{}");
        assert!(host.calls().is_empty());
        assert_eq!(Noop::describe().default_action.as_deref(), Some("noop"));
        assert!(Noop::describe().capabilities.is_empty());
    }

    #[test]
    fn echo_returns_the_arguments() {
        let out = invoke("echo", json!({ "a": "x", "n": 2 })).unwrap();
        assert_eq!(out.to_json(), r#"{"a":"x","n":2}"#);
    }

    #[test]
    #[should_panic(expected = "boom")]
    fn panic_panics() {
        let _ = invoke("panic", json!({ "message": "boom" }));
    }

    #[test]
    fn fail_fails() {
        let e = invoke("fail", json!({})).unwrap_err();
        assert_eq!((e.message.as_str(), e.field), ("failed on purpose", None));
        let e = invoke("fail", json!({ "message": "boom", "field": "x" })).unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.field.as_deref()),
            ("boom", Some("x"))
        );
        assert_eq!(
            invoke("dance", json!({})).unwrap_err().message,
            "unknown action `dance`"
        );
    }
}
