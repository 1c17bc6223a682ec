//! What a plugin tells the host about its actions beyond their arguments:
//! which run limits an action counts against (`limits { max-servers-down 1 }`
//! in a runbook), and which of its outputs change on every read (left out
//! when `cairn apply` compares a saved plan's reads with today's).
//!
//! Both live in the description's `args-schema`, on the action's schema, as
//! cairn extensions other JSON Schema tools ignore: `"x-limits"` and
//! `"x-volatile-outputs"`.
//!
//! ```
//! use cairn_sdk::prelude::*;
//! use serde_json::json;
//!
//! let d = Description::new("lb", "0.1.0", "A load balancer")
//!     .action("drain", "Take a server out", Effect::Write)
//!     .action("status", "Servers", Effect::Read)
//!     .counts("drain", "servers-down", json!(1))
//!     .volatile_outputs("status", &["servers.*.sessions"]);
//! assert_eq!(d.args_schema["actions"]["drain"]["x-limits"]["servers-down"], 1);
//! ```

use serde_json::{Value, json};

use crate::types::Description;

impl Description {
    /// Declares that `action` counts against the run limit `counter`
    /// (`dns-changes` for `max-dns-changes`, `servers-down` for
    /// `max-servers-down`). `how` is one of:
    ///
    /// - a whole number, counted each time the step runs (`1`; `-1` gives
    ///   one back);
    /// - `{"per": "ARG"}`: one per entry of the argument `ARG` (a list
    ///   counts its length, another value one, no value none);
    /// - `{"by": "ARG", "values": {"drain": 1, "ready": -1}}`: the number
    ///   given for the argument's value, none for another value.
    pub fn counts(self, action: &str, counter: &str, how: Value) -> Self {
        self.extend_action(action, "x-limits", |v| {
            if !v.is_object() {
                *v = json!({});
            }
            v[counter] = how;
        })
    }

    /// Declares outputs of `action` that differ from one read to the next
    /// (session counts, waited milliseconds): dotted paths into the outputs,
    /// `*` for any key or list entry (`servers.*.sessions`).
    pub fn volatile_outputs(self, action: &str, paths: &[&str]) -> Self {
        self.extend_action(action, "x-volatile-outputs", |v| {
            if !v.is_array() {
                *v = json!([]);
            }
            if let Some(list) = v.as_array_mut() {
                list.extend(paths.iter().map(|p| json!(p)));
            }
        })
    }

    fn extend_action(mut self, action: &str, key: &str, f: impl FnOnce(&mut Value)) -> Self {
        if !self.args_schema.is_object() {
            self.args_schema = json!({});
        }
        let schema = &mut self.args_schema["actions"][action];
        if !schema.is_object() {
            *schema = json!({});
        }
        f(&mut schema[key]);
        self
    }
}
