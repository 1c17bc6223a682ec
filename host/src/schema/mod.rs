//! Plugin argument schemas: the JSON Schema each action declares in
//! `describe` (derived by the SDK with schemars), checked against a step's
//! arguments before anything runs, and described for people
//! (`cairn plugin show`, docs/stock-plugins.md).
//!
//! The checker is hand-written over the subset schemars emits (`type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`,
//! `const`, `anyOf`/`oneOf`/`allOf`, `minimum`/`maximum`, local `$ref`),
//! with the SDK's leniency: numbers and booleans may be strings, numbers
//! may stand for strings. A keyword outside the subset is ignored, so a
//! schema the checker does not understand accepts rather than refuses.

mod check;
mod describe;
mod render;

pub use check::{Checked, Problem, ProblemKind, check};
pub use describe::{ArgHelp, arguments, describe_type};
pub use render::{ActionDoc, markdown, text};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

/// The schema of `action`'s arguments in a plugin's `args-schema` text:
/// `{"actions": {NAME: SCHEMA}}` as the SDK writes it, or one plain schema
/// for every action. `None` when there is none to check against (`{}`,
/// not JSON, or an action the map does not list).
///
/// Parsed once per text and action in a process: a run asks for it at
/// every step (the arguments' check, the limits, the volatile outputs).
pub fn for_action(args_schema: &str, action: &str) -> Option<Arc<Value>> {
    // By text, then action: a lookup borrows both, only a miss copies them.
    type Parsed = HashMap<String, HashMap<String, Option<Arc<Value>>>>;
    static PARSED: Mutex<Option<Parsed>> = Mutex::new(None);
    let mut parsed = PARSED.lock().unwrap_or_else(PoisonError::into_inner);
    let parsed = parsed.get_or_insert_with(HashMap::new);
    if let Some(found) = parsed.get(args_schema).and_then(|a| a.get(action)) {
        return found.clone();
    }
    let schema = parse_for_action(args_schema, action).map(Arc::new);
    parsed
        .entry(args_schema.to_string())
        .or_default()
        .insert(action.to_string(), schema.clone());
    schema
}

fn parse_for_action(args_schema: &str, action: &str) -> Option<Value> {
    let all: Value = serde_json::from_str(args_schema).ok()?;
    let map = all.as_object()?;
    if map.is_empty() {
        return None;
    }
    match map.get("actions") {
        Some(Value::Object(actions)) if !map.contains_key("type") => actions.get(action).cloned(),
        _ => Some(all),
    }
}
