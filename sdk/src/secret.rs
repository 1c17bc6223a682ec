//! Secrets as a plugin holds them: a handle by name ([`Secret`]), and
//! values that may be one ([`MaybeSecret`]).

use std::fmt;
use std::rc::Rc;

use crate::HostError;
use crate::bindings::cairn::plugin::secrets as wit;

/// A secret by handle. Cloning is cheap; the value is read only by
/// [`Host::reveal`](crate::Host::reveal).
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
