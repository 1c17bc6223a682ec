//! A fixed plugin catalog, the `tests/ui` project, and rendering of errors.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cairn_lang::{Diagnostics, PluginCatalog, PluginInfo, Project, Runbook, ValidationContext};

/// The plugins the UI cases and the docs' examples may use.
pub struct TestCatalog(Vec<PluginInfo>);

impl TestCatalog {
    pub fn new() -> Self {
        let p = |name: &str, actions: &[&str], default: Option<&str>| PluginInfo {
            name: name.into(),
            version: semver::Version::new(0, 1, 0),
            actions: actions.iter().map(|a| a.to_string()).collect(),
            default_action: default.map(str::to_owned),
        };
        TestCatalog(vec![
            p("exec", &["run"], Some("run")),
            p(
                "haproxy",
                &[
                    "status",
                    "drain",
                    "maint",
                    "ready",
                    "set-state",
                    "wait-healthy",
                ],
                Some("status"),
            ),
            p("http-check", &["check"], Some("check")),
            p("maintenance", &["on", "off"], None),
            p("migrate", &["apply", "plan"], Some("apply")),
            p("service", &["start", "stop", "restart", "status"], None),
        ])
    }
}

impl PluginCatalog for TestCatalog {
    fn find(&self, name: &str, req: Option<&semver::VersionReq>) -> Result<PluginInfo, String> {
        let p = self
            .0
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| format!("no plugin named `{name}`"))?;
        match req {
            Some(r) if !r.matches(&p.version) => Err(format!("available: `{name}` {}", p.version)),
            _ => Ok(p.clone()),
        }
    }

    fn names(&self) -> Vec<String> {
        self.0.iter().map(|p| p.name.clone()).collect()
    }
}

pub fn ui_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui")
}

pub fn ui_project() -> Project {
    cairn_lang::load_project(&ui_root())
        .unwrap_or_else(|d| panic!("tests/ui/cairn.kdl: {}", render(&d)))
}

pub fn secret_names() -> BTreeSet<String> {
    ["db_password", "api_token"].map(String::from).into()
}

/// Loads and validates a runbook of the UI project.
pub fn load_and_validate(project: &Project, path: &Path) -> Result<Runbook, Diagnostics> {
    let rb = cairn_lang::load_runbook(project, path)?;
    let catalog = TestCatalog::new();
    let secrets = secret_names();
    let cx = ValidationContext {
        project,
        plugins: &catalog,
        secret_names: Some(&secrets),
    };
    cairn_lang::validate(&rb, &cx)?;
    Ok(rb)
}

/// Every diagnostic rendered as the CLI shows it, without colors.
pub fn render(d: &Diagnostics) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100)
            .with_links(false);
    let mut out = String::new();
    for diag in d.iter() {
        handler
            .render_report(&mut out, diag)
            .expect("rendering to a string");
    }
    out.push_str(&format!("{} error(s)\n", d.len()));
    out
}
