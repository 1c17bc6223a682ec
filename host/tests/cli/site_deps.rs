//! The stock `python-deps` plugin through the real binary: a private
//! virtualenv (`$CAIRN_LAB_PYTHON -m venv`, never the lab's own), a tiny
//! package built by the test as two wheels, installed with `--no-index
//! --find-links` (no network), from the requirements of a scratch site.

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::backup::outputs;
use crate::fixture_site::ScratchSite;
use crate::site_migrate::SiteProject;

/// Writes `cairntiny-VERSION-py3-none-any.whl` into the directory.
const MAKE_WHEEL: &str = r#"import sys, zipfile, os
out, version = sys.argv[1], sys.argv[2]
name = "cairntiny"
di = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": f"VERSION = {version!r}\n",
    f"{di}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    f"{di}/WHEEL": "Wheel-Version: 1.0\nGenerator: cairn-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
files[f"{di}/RECORD"] = "".join(f"{k},,\n" for k in files) + f"{di}/RECORD,,\n"
with zipfile.ZipFile(os.path.join(out, f"{name}-{version}-py3-none-any.whl"), "w") as z:
    for k, v in files.items():
        z.writestr(k, v)
"#;

fn ok(c: &mut Command) -> String {
    let out = c.output().expect("spawn");
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The version of cairntiny in the venv, `None` when it is not installed.
pub(crate) fn tiny(venv: &std::path::Path) -> Option<String> {
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", "import cairntiny; print(cairntiny.VERSION)"])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A private virtualenv beside the site, and a directory of wheels of
/// cairntiny 1.0 and 1.1.
pub(crate) fn venv_with_wheels(site: &ScratchSite) -> (PathBuf, PathBuf) {
    let wheels = site.scratch("wheels");
    let venv = site.path().join("venv");
    for v in ["1.0", "1.1"] {
        ok(Command::new(&site.python)
            .args(["-c", MAKE_WHEEL])
            .arg(&wheels)
            .arg(v));
    }
    ok(Command::new(&site.python).args(["-m", "venv"]).arg(&venv));
    (venv, wheels)
}

#[test]
fn requirements_are_installed_into_a_private_venv_and_a_dry_run_changes_nothing() {
    let Some(sp) = SiteProject::new() else { return };
    let site = &sp.site;
    let (venv, wheels) = venv_with_wheels(site);
    site.commit("deps", &[("requirements.txt", "cairntiny==1.0\n")]);
    sp.p.runbook(
        "deps",
        &format!(
            "runbook deps version=1 {{\n    step deps uses=python-deps {{\n        dir \"{}\"\n        venv \"{}\"\n        installer pip\n        pip-args \"--no-index\" \"--find-links\" \"{}\"\n    }}\n}}\n",
            site.dir_str(),
            venv.display(),
            wheels.display()
        ),
    );

    sp.cairn(&["run", "deps", "--dry-run"]).success();
    let o = outputs(&sp.p, "deps");
    assert_eq!(
        o["changes"],
        json!([{ "name": "cairntiny", "from": "", "to": "1.0" }])
    );
    assert_eq!(o["planned"], true);
    assert_eq!(tiny(&venv), None, "a dry-run installed the package");

    sp.cairn(&["run", "deps"]).success();
    let o = outputs(&sp.p, "deps");
    assert_eq!(
        o["changes"],
        json!([{ "name": "cairntiny", "from": "", "to": "1.0" }])
    );
    assert_eq!(
        (o["added"].as_u64(), o["planned"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(tiny(&venv).as_deref(), Some("1.0"));

    // A new revision pins 1.1: the dry-run says so, the run upgrades.
    site.commit("bump", &[("requirements.txt", "cairntiny==1.1\n")]);
    sp.cairn(&["run", "deps", "--dry-run"]).success();
    assert_eq!(
        outputs(&sp.p, "deps")["changes"],
        json!([{ "name": "cairntiny", "from": "1.0", "to": "1.1" }])
    );
    assert_eq!(tiny(&venv).as_deref(), Some("1.0"));
    sp.cairn(&["run", "deps"]).success();
    assert_eq!(outputs(&sp.p, "deps")["upgraded"], 1);
    assert_eq!(tiny(&venv).as_deref(), Some("1.1"));

    // Nothing to do: no changes.
    sp.cairn(&["run", "deps"]).success();
    assert_eq!(outputs(&sp.p, "deps")["changes"], json!([]));
}
