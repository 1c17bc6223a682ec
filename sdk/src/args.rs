//! Step arguments: the JSON object the host passes to `run`, decoded into the
//! plugin's own struct, and helpers for the argument shapes runbooks use.
//!
//! The host converts a step's KDL children to a JSON object (the rule is in
//! the runbook language reference): `url "https://..."` becomes a string,
//! `run git pull origin` a list, `expect status=200` an object. A plugin
//! declares what it expects with serde:
//!
//! ```
//! use cairn_sdk::prelude::*;
//!
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields, rename_all = "kebab-case")]
//! struct CheckArgs {
//!     url: String,
//!     #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
//!     status: Vec<u16>,
//!     timeout: Option<Duration>,
//! }
//!
//! let args = Args::from_value(serde_json::json!({ "url": "http://x/", "status": "204" })).unwrap();
//! let a: CheckArgs = args.decode().unwrap();
//! assert_eq!(a.status, [204]);
//! ```

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

use crate::PluginError;
use crate::lenient::Lenient;

/// The arguments of one step: a JSON object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Args(Map<String, Value>);

impl Args {
    /// Parses the text the host passes. Anything but a JSON object is a host
    /// bug, reported as such.
    pub fn from_json(text: &str) -> Result<Args, PluginError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            PluginError::new(format!("the host passed arguments that are not JSON: {e}"))
        })?;
        Args::from_value(value)
    }

    /// Wraps a JSON object (`serde_json::json!({...})` in tests).
    pub fn from_value(value: Value) -> Result<Args, PluginError> {
        match value {
            Value::Object(map) => Ok(Args(map)),
            Value::Null => Ok(Args::default()),
            other => Err(PluginError::new(format!(
                "the host passed arguments that are not a JSON object: {other}"
            ))),
        }
    }

    /// Decodes the arguments into the plugin's struct.
    ///
    /// Numbers and booleans may be given as strings (interpolated values are
    /// strings), and numbers are accepted where strings are wanted. Errors
    /// name the argument: ``argument `expect.status`: invalid type: string
    /// "x", expected u16``, with `field` set to `expect.status`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PluginError> {
        let value = Value::Object(self.0.clone());
        serde_path_to_error::deserialize(Lenient(&value)).map_err(|e| {
            let path = e.path().to_string();
            decode_error(&path, &e.into_inner().to_string())
        })
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

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Turns serde's wording into cairn's: fields are "arguments", and the path
/// of the argument goes into `field`.
fn decode_error(path: &str, message: &str) -> PluginError {
    let parent = if path == "." { None } else { Some(path) };
    let join = |name: &str| match parent {
        Some(p) => format!("{p}.{name}"),
        None => name.to_string(),
    };
    // `missing field `x``, `unknown field `x`, expected ...`
    for (serde_word, ours) in [
        ("missing field `", "missing"),
        ("unknown field `", "unknown"),
    ] {
        if let Some(rest) = message.strip_prefix(serde_word)
            && let Some((name, tail)) = rest.split_once('`')
        {
            // serde_path_to_error has already entered an unknown key.
            let field =
                if ours == "unknown" && (path == name || path.ends_with(&format!(".{name}"))) {
                    path.to_string()
                } else {
                    join(name)
                };
            let tail = tail.replace("there are no fields", "this takes no arguments");
            return PluginError {
                message: format!("{ours} argument `{field}`{tail}"),
                field: Some(field),
            };
        }
    }
    match parent {
        Some(p) => PluginError::arg(p, message),
        None => PluginError::new(format!("arguments: {message}")),
    }
}

/// For `#[serde(deserialize_with = "cairn_sdk::args::one_or_many")]`: takes
/// one value or a list of them, so `run uptime` and `run git pull` (and
/// `status=200` and `status 200 204`) both decode into a `Vec`.
///
/// Add `default` to make the argument optional (an empty list).
pub fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    struct OneOrMany<T>(std::marker::PhantomData<T>);

    impl<T: DeserializeOwned> OneOrMany<T> {
        fn one<E: serde::de::Error>(value: Value) -> Result<Vec<T>, E> {
            T::deserialize(Lenient(&value))
                .map(|v| vec![v])
                .map_err(E::custom)
        }
    }

    impl<'de, T: DeserializeOwned> Visitor<'de> for OneOrMany<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("one value or a list")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(items)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<T>, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|v| vec![v])
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<T>, E> {
            Self::one(Value::from(v))
        }

        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Vec<T>, E> {
            Self::one(Value::from(v))
        }

        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Vec<T>, E> {
            Self::one(Value::from(v))
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Vec<T>, E> {
            Self::one(Value::from(v))
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Vec<T>, E> {
            Self::one(Value::from(v))
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Vec<T>, E> {
            Self::one(Value::from(v))
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
    }

    deserializer.deserialize_any(OneOrMany(std::marker::PhantomData))
}

/// A duration argument: `"30s"`, `"500ms"`, `"10m"`, `"1h30m"`, `"2d"`.
///
/// A newtype so that `timeout: Option<Duration>` just works in an args
/// struct; it derefs to [`std::time::Duration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub fn get(self) -> std::time::Duration {
        self.0
    }
}

impl std::ops::Deref for Duration {
    type Target = std::time::Duration;
    fn deref(&self) -> &std::time::Duration {
        &self.0
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

/// A string in the duration syntax, `"format": "duration"` (a cairn
/// extension: whole or decimal numbers each with a unit).
impl schemars::JsonSchema for Duration {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "duration",
            "description": "a duration: numbers each with a unit (ms, s, m, h, d), such as \"30s\", \"1500ms\" or \"1h30m\""
        })
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(Duration)
            .map_err(D::Error::custom)
    }
}

/// Parses `"30s"`, `"500ms"`, `"1m"`, `"1h30m"`, `"1.5s"`, `"2d"`: numbers
/// each followed by a unit (`ms`, `s`, `m`, `h`, `d`), spaces allowed between
/// parts. A bare number is refused: it is ambiguous.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let invalid = || {
        format!(
            "invalid duration `{text}`: expected a number and a unit, such as \"30s\", \"500ms\", \"10m\" or \"1h30m\""
        )
    };
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let (number, tail) = rest.split_at(number_len);
        let number: f64 = number.parse().map_err(|_| invalid())?;
        let unit_len = tail
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let seconds = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return Err(invalid()),
        };
        total += number * seconds;
        rest = tail.trim_start();
    }
    std::time::Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    #[allow(dead_code)]
    struct Check {
        url: String,
        #[serde(default)]
        expect: Expect,
        timeout: Option<Duration>,
        #[serde(default)]
        env: BTreeMap<String, String>,
        #[serde(default)]
        verbose: bool,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case")]
    struct Expect {
        #[serde(default, deserialize_with = "one_or_many")]
        status: Vec<u16>,
        body_contains: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    struct Run {
        #[serde(deserialize_with = "one_or_many")]
        run: Vec<String>,
    }

    fn decode<T: DeserializeOwned>(v: Value) -> Result<T, PluginError> {
        Args::from_value(v).unwrap().decode()
    }

    #[test]
    fn decodes_nested_objects_and_kebab_case() {
        let c: Check = decode(json!({
            "url": "http://x/",
            "expect": { "status": [200, 204], "body-contains": "ok" },
            "timeout": "1m30s",
            "env": { "A": "1" },
        }))
        .unwrap();
        assert_eq!(c.expect.status, [200, 204]);
        assert_eq!(c.expect.body_contains.as_deref(), Some("ok"));
        assert_eq!(c.timeout.unwrap().as_secs(), 90);
        assert_eq!(c.env["A"], "1");
    }

    #[test]
    fn strings_are_taken_for_numbers_and_booleans() {
        let c: Check = decode(json!({
            "url": "http://x/", "expect": { "status": " 503" }, "verbose": "true"
        }))
        .unwrap();
        assert_eq!(c.expect.status, [503]);
        assert!(c.verbose);
    }

    #[test]
    fn numbers_are_taken_for_strings() {
        let r: Run = decode(json!({ "run": ["sleep", 5] })).unwrap();
        assert_eq!(r.run, ["sleep", "5"]);
        let c: Check = decode(json!({ "url": "u", "env": { "PORT": 8080 } })).unwrap();
        assert_eq!(c.env["PORT"], "8080");
    }

    #[test]
    fn one_or_many_takes_one() {
        let r: Run = decode(json!({ "run": "uptime" })).unwrap();
        assert_eq!(r.run, ["uptime"]);
    }

    #[test]
    fn errors_name_the_field_path() {
        let e = decode::<Check>(json!({ "url": "u", "expect": { "status": "x" } })).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("expect.status"));
        assert_eq!(
            e.message,
            "argument `expect.status`: invalid type: string \"x\", expected u16"
        );

        let e =
            decode::<Check>(json!({ "url": "u", "expect": { "status": [200, "x"] } })).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("expect.status[1]"));

        let e = decode::<Check>(json!({ "url": 1.5, "timeout": "soon" })).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("timeout"));
        assert!(
            e.message
                .starts_with("argument `timeout`: invalid duration `soon`"),
            "{e}"
        );
    }

    #[test]
    fn missing_and_unknown_arguments() {
        let e = decode::<Check>(json!({})).unwrap_err();
        assert_eq!(e.message, "missing argument `url`");
        assert_eq!(e.field.as_deref(), Some("url"));

        let e = decode::<Check>(json!({ "url": "u", "expect": { "stauts": 1 } })).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("expect.stauts"));
        assert!(
            e.message.starts_with(
                "unknown argument `expect.stauts`, expected `status` or `body-contains`"
            ),
            "{e}"
        );
    }

    #[test]
    fn arguments_must_be_an_object() {
        assert!(Args::from_json("[1]").is_err());
        assert!(Args::from_json("{").is_err());
        assert!(Args::from_json("null").unwrap().is_empty());
    }

    #[test]
    fn durations() {
        let d = |s| parse_duration(s).map(|d| d.as_millis());
        assert_eq!(d("3s"), Ok(3000));
        assert_eq!(d("500ms"), Ok(500));
        assert_eq!(d("1m"), Ok(60_000));
        assert_eq!(d("1h30m"), Ok(5_400_000));
        assert_eq!(d("1h 30m"), Ok(5_400_000));
        assert_eq!(d("1.5s"), Ok(1500));
        assert_eq!(d("2d"), Ok(172_800_000));
        for bad in ["", "30", "s", "3x", "1.2.3s", "-1s", "3 s s"] {
            assert!(d(bad).is_err(), "{bad:?}");
        }
    }
}
