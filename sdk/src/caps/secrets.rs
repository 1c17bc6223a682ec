//! The `secrets` capability: a secret by handle ([`Secret`]), values that
//! may be one ([`MaybeSecret`]), asking for a handle and revealing it.

use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use crate::HostError;
use crate::bindings::cairn::plugin::secrets as wit;
use crate::mock_host::MockHost;
use crate::wit::WitHost;

/// A secret by handle. Cloning is cheap; the value is read only by
/// [`SecretsHost::reveal`].
#[derive(Clone)]
pub struct Secret {
    name: Rc<str>,
    /// The host's resource; `None` for secrets made by the mock host.
    handle: Option<Rc<wit::Secret>>,
}

impl Secret {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn from_wit(name: String, handle: wit::Secret) -> Self {
        Secret {
            name: name.into(),
            handle: Some(Rc::new(handle)),
        }
    }

    pub(crate) fn unbound(name: &str) -> Self {
        Secret {
            name: name.into(),
            handle: None,
        }
    }

    pub(crate) fn wit_handle(&self) -> Result<&wit::Secret, HostError> {
        self.handle.as_deref().ok_or_else(|| {
            HostError::new(format!(
                "secret `{}` was not issued by this host",
                self.name
            ))
        })
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({:?})", self.name)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// A value for an environment variable or a header: plain text, or a secret
/// passed by handle (the plugin never sees its bytes).
#[derive(Debug, Clone, PartialEq)]
pub enum MaybeSecret {
    Plain(String),
    Secret(Secret),
}

impl From<&str> for MaybeSecret {
    fn from(s: &str) -> Self {
        MaybeSecret::Plain(s.to_string())
    }
}

impl From<String> for MaybeSecret {
    fn from(s: String) -> Self {
        MaybeSecret::Plain(s)
    }
}

impl From<&String> for MaybeSecret {
    fn from(s: &String) -> Self {
        MaybeSecret::Plain(s.clone())
    }
}

impl From<Secret> for MaybeSecret {
    fn from(s: Secret) -> Self {
        MaybeSecret::Secret(s)
    }
}

impl From<&Secret> for MaybeSecret {
    fn from(s: &Secret) -> Self {
        MaybeSecret::Secret(s.clone())
    }
}

/// The [`Host`](crate::Host) methods of the `secrets` capability. Every
/// host has it.
pub trait SecretsHost {
    /// A handle to the secret `name`, without reading it: pass it to
    /// [`Command::env`](crate::Command::env) or
    /// [`Request::header`](crate::Request::header).
    fn secret(&self, name: &str) -> Result<Secret, HostError>;

    /// Reads a secret's value; from then on the host redacts it everywhere.
    fn reveal(&self, secret: &Secret) -> Result<String, HostError>;
}

impl SecretsHost for WitHost {
    fn secret(&self, name: &str) -> Result<Secret, HostError> {
        let handle = wit::get(name).map_err(HostError::new)?;
        Ok(Secret::from_wit(name.to_string(), handle))
    }

    fn reveal(&self, secret: &Secret) -> Result<String, HostError> {
        secret.wit_handle()?.reveal().map_err(HostError::new)
    }
}

/// A `secrets` call as the mock host records it ([`Call::Secret`] and
/// [`Call::Reveal`](crate::mock::Call::Reveal)).
///
/// [`Call::Secret`]: crate::mock::Call::Secret
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SecretCall {
    Get(String),
    Reveal(String),
}

/// The mock host's secrets, by name.
#[derive(Default)]
struct MockSecrets(std::cell::RefCell<BTreeMap<String, String>>);

impl MockHost {
    /// A secret the plugin may ask for.
    pub fn with_secret(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.part::<MockSecrets>()
            .0
            .borrow_mut()
            .insert(name.into(), value.into());
        self
    }
}

impl SecretsHost for MockHost {
    fn secret(&self, name: &str) -> Result<Secret, HostError> {
        self.record(SecretCall::Get(name.to_string()));
        if self.part::<MockSecrets>().0.borrow().contains_key(name) {
            Ok(Secret::unbound(name))
        } else {
            Err(HostError::new(format!("secret `{name}` is not defined")))
        }
    }

    fn reveal(&self, secret: &Secret) -> Result<String, HostError> {
        self.record(SecretCall::Reveal(secret.name().to_string()));
        self.part::<MockSecrets>()
            .0
            .borrow()
            .get(secret.name())
            .cloned()
            .ok_or_else(|| HostError::new(format!("secret `{}` is not defined", secret.name())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_by_handle() {
        let host = MockHost::new().with_secret("db_password", "hunter2");
        let s = host.secret("db_password").unwrap();
        assert_eq!(MaybeSecret::from(&s), MaybeSecret::Secret(s.clone()));
        assert_eq!(host.reveal(&s).unwrap(), "hunter2");
        let e = host.secret("nope").unwrap_err();
        assert_eq!(e.message, "secret `nope` is not defined");
        assert_eq!(
            host.recorded::<SecretCall>(),
            [
                SecretCall::Get("db_password".into()),
                SecretCall::Reveal("db_password".into()),
                SecretCall::Get("nope".into())
            ]
        );
    }
}
