//! The files `cairn plugin new` writes, from the templates of `templates/`
//! (embedded in the binary), and where a Rust plugin gets `cairn-sdk` from.

use std::path::{Path, PathBuf};

use super::Lang;

/// The WIT world every plugin implements, written beside a Python plugin
/// (componentize-py generates its bindings from it).
const WIT: &str = include_str!("../../../../../wit/cairn-plugin.wit");
/// The Python SDK: one module, copied into each Python plugin.
const PY_SDK: &str = include_str!("../../../../../sdk-python/cairn_sdk.py");

/// `(path inside plugins/NAME, template)` of each language.
fn templates(lang: Lang) -> &'static [(&'static str, &'static str)] {
    match lang {
        Lang::Rust => &[
            ("Cargo.toml", include_str!("templates/rust/Cargo.toml")),
            ("src/lib.rs", include_str!("templates/rust/lib.rs")),
            (".gitignore", "/target\n"),
        ],
        Lang::Python => &[
            ("app.py", include_str!("templates/python/app.py")),
            ("test_app.py", include_str!("templates/python/test_app.py")),
            ("cairn_sdk.py", PY_SDK),
            ("wit/cairn-plugin.wit", WIT),
            (".gitignore", "__pycache__/\n"),
        ],
    }
}

/// The runbook that uses the new plugin.
pub fn runbook(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => include_str!("templates/rust/runbook.kdl"),
        Lang::Python => include_str!("templates/python/runbook.kdl"),
    }
}

/// Each file of a new plugin: its path relative to the plugin directory and
/// its text.
pub fn files(lang: Lang, name: &str, sdk_dep: &str) -> Vec<(PathBuf, String)> {
    templates(lang)
        .iter()
        .map(|(path, text)| (PathBuf::from(path), render(text, name, sdk_dep)))
        .collect()
}

/// Fills `{{name}}`, `{{crate}}`, `{{type}}` and `{{sdk_dep}}` (a runbook's
/// own `{{ params.x }}`, with spaces, is left alone).
pub fn render(text: &str, name: &str, sdk_dep: &str) -> String {
    text.replace("{{name}}", name)
        .replace("{{crate}}", &name.replace('-', "_"))
        .replace("{{type}}", &type_name(name))
        .replace("{{sdk_dep}}", sdk_dep)
}

/// `site-cache` -> `SiteCache`.
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A plugin name: lowercase ASCII letters, digits and `-`, starting with a
/// letter (it names a crate, a Python module's plugin and a `.wasm` file).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a plugin name: lowercase letters, digits and `-`, starting with a letter (e.g. `site-cache`)"
        ))
    }
}

/// The checkout this binary was built from, when it is still there: its
/// `sdk/` is the SDK that matches this host exactly.
fn build_checkout() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    root.join("sdk/Cargo.toml")
        .is_file()
        .then(|| root.to_path_buf())
}

/// The `cairn-sdk` dependency line of a new Rust plugin in `plugin_dir`:
///
/// 1. `CAIRN_SDK_PATH=DIR` (a checkout's `sdk/`): a path dependency on it;
/// 2. else the checkout this `cairn` was built from, when it still exists: a
///    path dependency on its `sdk/` (relative when the project is inside it);
/// 3. else a git dependency on cairn's repository at this version's tag.
pub fn sdk_dependency(plugin_dir: &Path) -> String {
    let path = std::env::var_os("CAIRN_SDK_PATH")
        .map(PathBuf::from)
        .or_else(|| build_checkout().map(|c| c.join("sdk")));
    match path {
        Some(sdk) => {
            let sdk = sdk.canonicalize().unwrap_or(sdk);
            let shown = relative(plugin_dir, &sdk).unwrap_or(sdk);
            format!(
                "cairn-sdk = {{ path = \"{}\" }}",
                shown.display().to_string().replace('\\', "/")
            )
        }
        None => format!(
            "cairn-sdk = {{ git = \"{}\", tag = \"v{}\" }}",
            env!("CARGO_PKG_REPOSITORY"),
            env!("CARGO_PKG_VERSION")
        ),
    }
}

/// `to` relative to `from` when both are under one common ancestor other
/// than `/`.
fn relative(from: &Path, to: &Path) -> Option<PathBuf> {
    let from = from.canonicalize().ok()?;
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common <= 1 {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_crates_and_types() {
        let t = render(
            "{{name}} {{crate}} {{type}} {{ params.x }}",
            "site-cache",
            "",
        );
        assert_eq!(t, "site-cache site_cache SiteCache {{ params.x }}");
    }

    #[test]
    fn a_name_is_checked() {
        assert!(check_name("site-cache").is_ok());
        for bad in ["Site", "9x", "a_b", "a-", "", "a/b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
