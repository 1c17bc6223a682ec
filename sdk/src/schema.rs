//! Argument schemas: the JSON Schema of each action's arguments, derived
//! from the args struct with [`schemars`], never written by hand.
//!
//! ```
//! use cairn_sdk::prelude::*;
//!
//! /// Arguments of `check`.
//! #[derive(Deserialize, JsonSchema)]
//! #[serde(deny_unknown_fields, rename_all = "kebab-case")]
//! struct CheckArgs {
//!     /// The URL to fetch.
//!     url: String,
//!     /// Statuses that count as success.
//!     #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
//!     #[schemars(with = "cairn_sdk::schema::OneOrMany<u16>")]
//!     status: Vec<u16>,
//!     timeout: Option<Duration>,
//! }
//!
//! let d = Description::new("check", "0.1.0", "Check a URL")
//!     .action("check", "Fetch a URL", Effect::Read)
//!     .action_args::<CheckArgs>("check");
//! let s = &d.args_schema["actions"]["check"];
//! assert_eq!(s["required"], serde_json::json!(["url"]));
//! assert_eq!(s["properties"]["url"]["description"], "The URL to fetch.");
//! ```
//!
//! The description's `args-schema` is an object `{"actions": {NAME:
//! SCHEMA, ...}}`: one JSON Schema per action, each inlined (no `$ref`).
//! The host checks every step's arguments against its action's schema
//! before anything runs (`cairn validate` and the preflight of a run).
//!
//! Two cairn extensions, both ignored by other JSON Schema tools:
//! `"format": "duration"` on strings (`"30s"`, `"1h30m"`), and
//! `"x-aliases": [...]` on a property that serde also accepts under other
//! names (`#[schemars(extend("x-aliases" = ["database"]))]`).

use std::borrow::Cow;
use std::marker::PhantomData;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value};

/// The JSON Schema of `T`, inlined (no `$defs`), without `$schema`.
pub fn schema_of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .for_deserialize()
        .into_generator();
    let mut value = generator.into_root_schema_for::<T>().to_value();
    if let Value::Object(map) = &mut value {
        map.remove("title");
    }
    value
}

/// The schema of arguments decoded into several structs (each action's own
/// struct plus the ones every action shares): their properties and
/// required names together, and no others allowed.
pub fn merged(schemas: &[Value]) -> Value {
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    for s in schemas {
        if let Some(p) = s.get("properties").and_then(Value::as_object) {
            properties.extend(p.clone());
        }
        if let Some(r) = s.get("required").and_then(Value::as_array) {
            required.extend(
                r.iter()
                    .filter(|n| !required.contains(n))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
        }
    }
    let mut out = Map::new();
    out.insert("type".into(), "object".into());
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    out.insert("additionalProperties".into(), false.into());
    Value::Object(out)
}

/// The schema of a field read with [`crate::args::one_or_many`]: one `T`
/// or a list of them. Use as `#[schemars(with = "OneOrMany<T>")]`.
pub struct OneOrMany<T>(PhantomData<T>);

impl<T: JsonSchema> JsonSchema for OneOrMany<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("OneOrMany_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let item = generator.subschema_for::<T>();
        json_schema!({
            "anyOf": [item, { "type": "array", "items": item }]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use serde_json::json;

    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    #[allow(dead_code)]
    struct Own {
        /// Where.
        dir: String,
        #[serde(default, deserialize_with = "crate::args::one_or_many")]
        #[schemars(with = "OneOrMany<String>")]
        exclude: Vec<String>,
        timeout: Option<Duration>,
        #[serde(default)]
        effect: Effect,
    }

    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "kebab-case")]
    #[allow(dead_code)]
    struct Shared {
        storage: String,
    }

    #[test]
    fn derived_schemas_carry_required_types_enums_and_help() {
        let s = schema_of::<Own>();
        assert_eq!(s["type"], "object");
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["required"], json!(["dir"]));
        assert_eq!(s["properties"]["dir"]["description"], "Where.");
        assert_eq!(s["properties"]["timeout"]["format"], "duration");
        assert_eq!(
            s["properties"]["exclude"]["anyOf"][1]["items"]["type"],
            "string"
        );
        assert_eq!(s["properties"]["effect"]["enum"], json!(["read", "write"]));
        assert!(s.get("$defs").is_none(), "{s}");
    }

    #[test]
    fn merged_schemas_are_closed() {
        let s = merged(&[schema_of::<Own>(), schema_of::<Shared>()]);
        assert_eq!(s["required"], json!(["dir", "storage"]));
        assert_eq!(s["additionalProperties"], false);
        assert!(s["properties"]["storage"].is_object());
    }
}
