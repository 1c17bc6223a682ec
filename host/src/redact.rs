//! Redaction of secret values from everything cairn writes.
//!
//! Every secret value that is read (by a plugin's `reveal`, by a `{{ secrets.x }}`
//! reference, or handed to a command by handle) is registered here; from then
//! on every journal line, log line and piece of output passes through
//! [`Redactor::redact`].

use std::sync::RwLock;

pub const MASK: &str = "********";

#[derive(Debug, Default)]
pub struct Redactor {
    /// Values to mask, longest first so a value containing another is masked whole.
    values: RwLock<Vec<String>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret value. Values shorter than 3 characters are not
    /// masked (they would mangle every line), which the docs say.
    pub fn add(&self, value: &str) {
        if value.len() < 3 {
            return;
        }
        let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
        let mut forms = vec![value.to_string()];
        // The same value as it appears inside a JSON string.
        let json = serde_json::to_string(value).unwrap_or_default();
        let json = json.trim_matches('"').to_string();
        if json != value {
            forms.push(json);
        }
        for form in forms {
            if !values.contains(&form) {
                values.push(form);
            }
        }
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    pub fn is_empty(&self) -> bool {
        self.values.read().map(|v| v.is_empty()).unwrap_or(true)
    }

    pub fn redact(&self, text: &str) -> String {
        let values = self.values.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for v in values.iter() {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        out
    }

    /// Redacts every string inside a JSON value.
    pub fn redact_json(&self, value: &serde_json::Value) -> serde_json::Value {
        if self.is_empty() {
            return value.clone();
        }
        match value {
            serde_json::Value::String(s) => serde_json::Value::String(self.redact(s)),
            serde_json::Value::Array(a) => {
                serde_json::Value::Array(a.iter().map(|v| self.redact_json(v)).collect())
            }
            serde_json::Value::Object(o) => serde_json::Value::Object(
                o.iter()
                    .map(|(k, v)| (self.redact(k), self.redact_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_registered_values_and_their_json_form() {
        let r = Redactor::new();
        r.add("s3cr\"et");
        assert_eq!(r.redact("pw=s3cr\"et!"), format!("pw={MASK}!"));
        let line = serde_json::json!({"a": "x s3cr\"et y"}).to_string();
        assert!(!r.redact(&line).contains("s3cr"));
    }

    #[test]
    fn short_values_are_not_masked() {
        let r = Redactor::new();
        r.add("ab");
        assert_eq!(r.redact("abc"), "abc");
    }
}
