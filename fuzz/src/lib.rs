//! What the fuzz targets share: a project to load runbooks in, a plugin
//! catalog to validate them against, a way to put fuzzed text into a KDL
//! string; and the readers of what cairn itself wrote, included from their
//! crates (each file is pure: serde only).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cairn_lang::{PluginCatalog, PluginInfo, Project, Ref, Resolver, Runbook, ValidationContext};
use serde_json::{Value, json};

/// The host's reading of a run's journal.
#[allow(dead_code)]
#[path = "../../host/src/engine/journal_read.rs"]
pub mod journal_read;

/// The `backup` and `restore` plugins' manifest.
#[allow(dead_code)]
#[path = "../../plugins/backup/src/manifest.rs"]
pub mod manifest;

/// An empty directory as the project root: a fuzzed `use` finds nothing in it.
fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("cairn-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
}

pub fn project() -> &'static Project {
    static PROJECT: OnceLock<Project> = OnceLock::new();
    PROJECT.get_or_init(|| {
        cairn_lang::load_project_source(root(), "project fuzz {\n    target app { local; }\n}\n")
            .expect("the fuzz project loads")
    })
}

struct Catalog;

impl PluginCatalog for Catalog {
    fn find(&self, name: &str, _: Option<&semver::VersionReq>) -> Result<PluginInfo, String> {
        match name {
            "exec" | "noop" => Ok(PluginInfo {
                name: name.into(),
                version: semver::Version::new(0, 1, 0),
                actions: vec!["run".into()],
                default_action: Some("run".into()),
            }),
            _ => Err(format!("no plugin named `{name}`")),
        }
    }

    fn names(&self) -> Vec<String> {
        vec!["exec".into(), "noop".into()]
    }
}

/// Every reference has a value, the same odd one.
pub struct Anything;

impl Resolver for Anything {
    fn lookup(&self, r: &Ref) -> Option<Value> {
        Some(json!({"path": r.path, "n": 0, "s": ""}))
    }
}

/// Loads `text` as a runbook and, when it loads, validates it: both must
/// return, whatever the text.
pub fn load(text: &str) -> Option<Runbook> {
    let rb =
        cairn_lang::load_runbook_source(project(), Path::new("runbooks/fuzz.kdl"), text).ok()?;
    let cx = ValidationContext {
        project: project(),
        plugins: &Catalog,
        secret_names: None,
    };
    let _ = cairn_lang::validate(&rb, &cx);
    Some(rb)
}

/// `s` as a KDL quoted string.
pub fn kdl_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || (c as u32) == 0xFEFF => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
