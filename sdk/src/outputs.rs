//! A step's outputs: the JSON object a runbook reads as
//! `{{ steps.ID.outputs.NAME }}`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::PluginError;

/// A JSON object builder.
///
/// ```
/// use cairn_sdk::Outputs;
/// let out = Outputs::new().set("status", 0).set("stdout", "ok").set("planned", false);
/// assert_eq!(out.to_json(), r#"{"planned":false,"status":0,"stdout":"ok"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outputs(Map<String, Value>);

impl Outputs {
    /// No outputs: `{}`.
    pub fn new() -> Self {
        Outputs::default()
    }

    /// Sets one output (chained).
    pub fn set(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(name, value);
        self
    }

    /// Sets one output (in place).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(name.into(), value.into());
    }

    /// Outputs from a struct (or map) that serializes to a JSON object.
    pub fn from_serialize<T: Serialize>(value: &T) -> Result<Self, PluginError> {
        match serde_json::to_value(value) {
            Ok(Value::Object(map)) => Ok(Outputs(map)),
            Ok(other) => Err(PluginError::new(format!(
                "outputs must be a JSON object, not {other}"
            ))),
            Err(e) => Err(PluginError::new(format!(
                "outputs cannot be serialized: {e}"
            ))),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn into_map(self) -> Map<String, Value> {
        self.0
    }

    /// The text handed to the host.
    pub fn to_json(&self) -> String {
        // A map of JSON values always serializes.
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_string())
    }
}

impl From<Map<String, Value>> for Outputs {
    fn from(map: Map<String, Value>) -> Self {
        Outputs(map)
    }
}

impl std::ops::Index<&str> for Outputs {
    type Output = Value;
    /// The output named `name`, or `null`.
    fn index(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.0.get(name).unwrap_or(&NULL)
    }
}
