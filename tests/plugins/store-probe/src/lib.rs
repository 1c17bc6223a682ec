//! Test plugin `store-probe`: one action per `storage` call, and `transfer`,
//! each taking what it does from the step's arguments and returning what
//! the host answered. The storage tests (`host/tests/cli/storage.rs`) drive
//! the real host through it.
//!
//! It declares `storage`, `transfer`, `exec` and `files` with `*`: a project
//! grants it only what `cairn.kdl` says.

use cairn_sdk::prelude::*;
use cairn_sdk::store::ObjectRef;
use serde_json::{Value, json};

pub struct StoreProbe;

impl Plugin for StoreProbe {
    fn describe() -> Description {
        Description::new(
            "store-probe",
            env!("CARGO_PKG_VERSION"),
            "Calls storage and transfer with the step's arguments (tests only)",
        )
        .action("list", "List `storage` under `prefix`", Effect::Read)
        .action("head", "Metadata of `key` in `storage`", Effect::Read)
        .action("get", "Read `key` of `storage` as text", Effect::Read)
        .action("put", "Write `text` to `key` of `storage`", Effect::Write)
        .action("delete", "Delete `key` of `storage`", Effect::Write)
        .action(
            "transfer",
            "Run a transfer: `from-*`, `transform`, `to-*`",
            Effect::Write,
        )
        .default_action("list")
        .capability("storage", ["*"])
        .capability("transfer", ["*"])
        .capability("exec", ["*"])
        .capability("files", ["*"])
    }

    fn run(
        host: &dyn Host,
        _ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "list" => {
                let a: KeyArgs = args.decode()?;
                let objects = host.storage_list(&a.storage, a.prefix.as_deref().unwrap_or(""))?;
                let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
                let sizes: Vec<u64> = objects.iter().map(|o| o.size).collect();
                Ok(Outputs::new()
                    .set("count", objects.len())
                    .set("keys", json!(keys))
                    .set("sizes", json!(sizes)))
            }
            "head" => {
                let a: KeyArgs = args.decode()?;
                Ok(match host.storage_head(&a.storage, &a.key()?)? {
                    Some(o) => Outputs::new()
                        .set("exists", true)
                        .set("size", o.size)
                        .set("modified", o.last_modified_ms.is_some()),
                    None => Outputs::new().set("exists", false),
                })
            }
            "get" => {
                let a: KeyArgs = args.decode()?;
                let bytes = host.storage_get(&a.storage, &a.key()?)?;
                Ok(Outputs::new()
                    .set("size", bytes.len())
                    .set("text", String::from_utf8_lossy(&bytes).into_owned()))
            }
            "put" => {
                let a: KeyArgs = args.decode()?;
                let text = a.text.clone().unwrap_or_default();
                let w = host.storage_put(&a.storage, &a.key()?, text.as_bytes())?;
                Ok(Outputs::new().set("url", w.url).set("planned", w.planned))
            }
            "delete" => {
                let a: KeyArgs = args.decode()?;
                let w = host.storage_delete(&a.storage, &a.key()?)?;
                Ok(Outputs::new().set("url", w.url).set("planned", w.planned))
            }
            "transfer" => transfer(host, args.decode()?),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(StoreProbe);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyArgs {
    storage: String,
    key: Option<String>,
    prefix: Option<String>,
    text: Option<String>,
}

impl KeyArgs {
    fn key(&self) -> Result<String, PluginError> {
        self.key
            .clone()
            .ok_or_else(|| PluginError::arg("key", "missing"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectArgs {
    storage: String,
    key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct TransferArgs {
    /// `from-command "sh" "-c" "..."`: program and arguments.
    #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
    from_command: Vec<String>,
    from_file: Option<String>,
    from_object: Option<ObjectArgs>,
    /// `read` (default) or `write`: the source command's effect.
    from_effect: Option<Effect>,
    /// `zstd:3`, `unzstd`, `gzip:6`, `gunzip`, `sha256`, in order.
    #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
    transform: Vec<String>,
    #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
    to_command: Vec<String>,
    to_file: Option<String>,
    to_object: Option<ObjectArgs>,
    #[serde(default)]
    to_discard: bool,
    /// The target of the commands.
    target: Option<String>,
}

fn command(words: &[String], target: &Option<String>, effect: Effect) -> Command {
    let mut c = Command::new(words[0].clone())
        .args(words[1..].iter().cloned())
        .effect(effect);
    if let Some(t) = target {
        c = c.target(t.clone());
    }
    c
}

fn transfer(host: &dyn Host, a: TransferArgs) -> Result<Outputs, PluginError> {
    let source = if !a.from_command.is_empty() {
        Source::command(command(
            &a.from_command,
            &a.target,
            a.from_effect.unwrap_or(Effect::Read),
        ))
    } else if let Some(f) = a.from_file {
        Source::file(f)
    } else if let Some(o) = a.from_object {
        Source::Object(ObjectRef::new(o.storage, o.key))
    } else {
        return Err(PluginError::new(
            "no `from-command`, `from-file` or `from-object`",
        ));
    };
    let mut t = Transfer::new(source);
    for spec in &a.transform {
        let (name, level) = spec.split_once(':').unwrap_or((spec, ""));
        t = match name {
            "zstd" => t.zstd(level.parse().unwrap_or(3)),
            "unzstd" => t.unzstd(),
            "gzip" => t.gzip(level.parse().unwrap_or(6)),
            "gunzip" => t.gunzip(),
            "sha256" => t.sha256(),
            other => return Err(PluginError::arg("transform", format!("unknown `{other}`"))),
        };
    }
    t = if !a.to_command.is_empty() {
        t.to(Sink::command(command(
            &a.to_command,
            &a.target,
            Effect::Write,
        )))
    } else if let Some(f) = a.to_file {
        t.to(Sink::file(f))
    } else if let Some(o) = a.to_object {
        t.to(Sink::object(o.storage, o.key))
    } else if a.to_discard {
        t.to(Sink::Discard)
    } else {
        return Err(PluginError::new(
            "no `to-command`, `to-file`, `to-object` or `to-discard`",
        ));
    };
    let done = host.transfer(&t)?;
    Ok(Outputs::new()
        .set("bytes-in", done.bytes_in)
        .set("bytes-out", done.bytes_out)
        .set("sha256", done.sha256.map_or(Value::Null, Value::from))
        .set("duration-ms", done.duration.as_millis() as u64)
        .set("planned", done.planned)
        .set("description", t.to_string()))
}
