//! Redaction of secret values from everything cairn writes.
//!
//! Every secret value of the project is registered here when a run starts,
//! before anything is written (and any value read later, by a plugin's
//! `reveal`, a `{{ secrets.x }}` reference or a storage's credentials, is
//! registered too); every journal line, log line and piece of output passes
//! through [`Redactor::redact`], which masks each registered value in all
//! its [forms](forms::of) and every password written in a URL or a libpq
//! connection string.

mod forms;
mod urls;

use std::sync::RwLock;

pub use forms::{MIN_ENCODED, MIN_LINE};
pub use urls::mask_passwords;

pub const MASK: &str = "********";

#[derive(Debug, Default)]
pub struct Redactor {
    /// Forms to mask, longest first so a form containing another is masked whole.
    values: RwLock<Vec<String>>,
    /// The values registered, whose forms are in `values`.
    registered: RwLock<std::collections::HashSet<String>>,
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
        let mut registered = self.registered.write().unwrap_or_else(|e| e.into_inner());
        if !registered.insert(value.to_string()) {
            return;
        }
        let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
        let mut all = Vec::new();
        for form in forms::of(value) {
            // The same form as it appears inside a JSON string.
            let json = serde_json::to_string(&form).unwrap_or_default();
            let json = json[1..json.len() - 1].to_string();
            if json != form {
                all.push(json);
            }
            all.push(form);
        }
        for form in all {
            if !values.contains(&form) {
                values.push(form);
            }
        }
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    pub fn is_empty(&self) -> bool {
        self.values.read().map(|v| v.is_empty()).unwrap_or(true)
    }

    /// `text` with every registered value, in each of its forms, and every
    /// password of a URL or connection string masked.
    pub fn redact(&self, text: &str) -> String {
        let values = self.values.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for v in values.iter() {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        match mask_passwords(&out) {
            std::borrow::Cow::Borrowed(_) => out,
            std::borrow::Cow::Owned(masked) => masked,
        }
    }

    /// Redacts every string inside a JSON value.
    pub fn redact_json(&self, value: &serde_json::Value) -> serde_json::Value {
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
    fn each_line_and_encoding_of_a_value_is_masked() {
        let r = Redactor::new();
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n\"quoted\" line\n-----END PRIVATE KEY-----";
        r.add(pem);
        let shown = "      MIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
        assert_eq!(r.redact(shown), format!("      {MASK}"));
        let json = serde_json::json!({ "line": "\"quoted\" line" }).to_string();
        assert!(!r.redact(&json).contains("quoted"), "{}", r.redact(&json));
        let encoded = forms::base64(pem.as_bytes(), forms::STANDARD, true);
        assert_eq!(r.redact(&encoded), MASK);
    }

    #[test]
    fn url_passwords_are_masked_without_being_registered() {
        let r = Redactor::new();
        assert_eq!(
            r.redact("psql postgres://u:typed-pw@h/db"),
            format!("psql postgres://u:{MASK}@h/db")
        );
        let v = serde_json::json!({ "url": "http://a:b@c/" });
        assert_eq!(r.redact_json(&v)["url"], format!("http://a:{MASK}@c/"));
    }

    #[test]
    fn short_values_are_not_masked() {
        let r = Redactor::new();
        r.add("ab");
        assert_eq!(r.redact("abc"), "abc");
    }
}
