//! Test plugin `files-probe`: std::fs inside the sandbox. Only directories a
//! `files` grant names are visible, read-only in a dry-run.
//!
//! - `read`: returns the text of `path`.
//! - `write`: writes `content` to `path`.

use cairn_sdk::prelude::*;

pub struct FilesProbe;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileArgs {
    path: String,
    #[serde(default)]
    content: String,
}

impl Plugin for FilesProbe {
    fn describe() -> Description {
        Description::new(
            "files-probe",
            env!("CARGO_PKG_VERSION"),
            "Read and write files with std::fs",
        )
        .action("read", "Read `path`", Effect::Read)
        .action("write", "Write `content` to `path`", Effect::Write)
        .capability("files", ["*"])
    }

    fn run(
        _host: &dyn Host,
        _ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        let a: FileArgs = args.decode()?;
        match action {
            "read" => std::fs::read_to_string(&a.path)
                .map(|text| Outputs::new().set("text", text))
                .map_err(|e| PluginError::new(format!("cannot read `{}`: {e}", a.path))),
            "write" => std::fs::write(&a.path, a.content.as_bytes())
                .map(|()| Outputs::new().set("written", a.content.len()))
                .map_err(|e| PluginError::new(format!("cannot write `{}`: {e}", a.path))),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(FilesProbe);
