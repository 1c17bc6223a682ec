//! `secrets`: values by name from the project's sources. Plugins get handles;
//! every value is registered with the redactor when a run starts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use cairn_lang::SecretSource;
use wasmtime::component::Resource;

use super::registry::Capability;
use super::{Inputs, StepState};
use crate::wit::cairn::plugin::secrets as wit;

pub use crate::wit::SecretHandle;

/// All secrets of a project, read on first use.
#[derive(Debug, Default)]
pub struct SecretStore {
    sources: Vec<SecretSource>,
    root: std::path::PathBuf,
    values: OnceLock<Result<BTreeMap<String, String>, String>>,
}

impl SecretStore {
    pub fn new(sources: Vec<SecretSource>, root: &Path) -> Self {
        Self {
            sources,
            root: root.to_path_buf(),
            values: OnceLock::new(),
        }
    }

    fn values(&self) -> Result<&BTreeMap<String, String>, String> {
        self.values
            .get_or_init(|| load(&self.sources, &self.root).map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn names(&self) -> Result<BTreeSet<String>, String> {
        Ok(self.values()?.keys().cloned().collect())
    }

    pub fn get(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self.values()?.get(name).cloned())
    }

    /// Registers every value of the project's secrets with `redactor`, so
    /// that a value is masked before anything shows it (typed in a param,
    /// printed by a command before any step reads the secret). A project
    /// without secrets sources reads nothing.
    pub fn register_all(&self, redactor: &crate::redact::Redactor) -> Result<(), String> {
        if self.sources.is_empty() {
            return Ok(());
        }
        for value in self.values()?.values() {
            redactor.add(value);
        }
        Ok(())
    }
}

fn load(sources: &[SecretSource], root: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for source in sources {
        match source {
            SecretSource::Env { prefix } => {
                for (k, v) in std::env::vars() {
                    if let Some(rest) = k.strip_prefix(prefix.as_str())
                        && !rest.is_empty()
                    {
                        out.insert(rest.to_ascii_lowercase(), v);
                    }
                }
            }
            SecretSource::File { path } => {
                let p = root.join(path);
                // A regular file of at most 4 MiB: a FIFO or `/dev/zero`
                // named here must not hang the run.
                let text = cairn_lang::limits::read_text_bounded(&p)
                    .with_context(|| format!("cannot read secrets file `{path}`"))?;
                let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(&text)
                    .with_context(|| format!("secrets file `{path}` is not a JSON object"))?;
                for (k, v) in map {
                    let v = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    out.insert(k, v);
                }
            }
        }
    }
    Ok(out)
}

/// The `secrets` capability.
pub struct Secrets;

impl Capability for Secrets {
    const NAME: &'static str = "secrets";
    /// The project's secrets.
    type State = Arc<SecretStore>;

    fn build(inputs: &Inputs<'_>) -> Arc<SecretStore> {
        inputs.secrets.clone()
    }
}

impl StepState {
    /// The value behind a handle, registered for redaction.
    pub fn secret_value(&mut self, handle: &Resource<SecretHandle>) -> Result<String, String> {
        let name = self
            .table
            .get(handle)
            .map_err(|e| format!("invalid secret handle: {e}"))?
            .name
            .clone();
        let value = self
            .cx
            .state::<Secrets>()
            .get(&name)?
            .ok_or_else(|| format!("secrets: no secret named `{name}`"))?;
        self.cx.redactor.add(&value);
        Ok(value)
    }
}

impl wit::Host for StepState {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<Resource<SecretHandle>, String>> {
        if !self.cx.grants.allows("secrets", &name, |g, v| g == v) {
            return Ok(Err(self.cx.denied("secrets", &name)));
        }
        match self.cx.state::<Secrets>().get(&name) {
            Err(e) => return Ok(Err(e)),
            Ok(None) => return Ok(Err(format!("secrets: no secret named `{name}`"))),
            Ok(Some(_)) => {}
        }
        if self.handles >= self.cx.limits.max_handles {
            self.cx.fatal = Some(format!(
                "it holds more than {} handles at once",
                self.cx.limits.max_handles
            ));
            return Err(wasmtime::format_err!("handle limit reached"));
        }
        self.handles += 1;
        Ok(Ok(self.table.push(SecretHandle { name })?))
    }
}

impl wit::HostSecret for StepState {
    fn name(&mut self, handle: Resource<SecretHandle>) -> wasmtime::Result<String> {
        Ok(self.table.get(&handle)?.name.clone())
    }

    fn reveal(
        &mut self,
        handle: Resource<SecretHandle>,
    ) -> wasmtime::Result<Result<String, String>> {
        Ok(self.secret_value(&handle))
    }

    fn drop(&mut self, handle: Resource<SecretHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        self.handles = self.handles.saturating_sub(1);
        Ok(())
    }
}
