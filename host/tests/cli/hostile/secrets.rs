//! A revealed secret appears in no byte cairn wrote.

use super::*;

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_revealed_secret_appears_in_no_byte_cairn_wrote() {
    let Some(h) = Hostile::new() else { return };
    h.p.runbook(
        "leak",
        r#"
runbook leak version=1 {
    step outputs uses=hostile action=leak-secret { name token; via outputs; }
    step error uses=hostile action=leak-secret continue-on-error=#true { name token; via error; }
    step panic uses=hostile action=leak-secret continue-on-error=#true { name token; via panic; }
    step abort uses=hostile action=leak-secret continue-on-error=#true { name token; via abort; }
    step ungranted uses=hostile action=leak-secret continue-on-error=#true { name other; via outputs; }
    step passed-on uses=exec {
        run echo "{{ steps.outputs.outputs.wrapped }}"
        effect read
    }
    finally {
        step cleanup uses=exec { run touch "{{ project.root }}/cleaned"; }
    }
}
"#,
    );
    let env = [
        ("HOSTILE_TOKEN", SECRET),
        ("HOSTILE_OTHER", "other-value-5d2b"),
    ];
    let mut written = Vec::new();
    let human = h.cairn_env(&["run", "leak"], &env);
    human
        .code(0)
        .has("✓ outputs")
        .has("the secret is ********")
        .has("✗ error")
        .has("leaking ******** in an error")
        .has("crashed: panicked at")
        .has("leaking ******** in a panic")
        .has("leaking ******** before an abort")
        .has("secrets: `other` is not permitted for plugin `hostile`")
        .has("✓ passed-on");
    assert_eq!(
        h.finished("passed-on")["outputs"]["stdout"],
        "before-********-after"
    );
    let run_id = h.p.last_journal()[0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    written.push(human);
    written.push(h.cairn_env(&["run", "leak", "--json"], &env));
    written.push(h.cairn(&["log", &run_id]));
    written.push(h.cairn(&["log", &run_id, "--json"]));
    written.push(h.cairn(&["history"]));
    for ran in &written {
        ran.lacks(SECRET).lacks("other-value-5d2b");
    }
    let files = files_under(&h.p.join(".cairn"));
    assert!(files.iter().any(|f| f.ends_with("journal.jsonl")));
    for file in files {
        let bytes = std::fs::read(&file).expect("read");
        for needle in [SECRET, "other-value-5d2b"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "`{}` holds a secret",
                file.display()
            );
        }
    }
    assert!(h.p.journals().contains("the secret is ********"));
    h.carries_on();
}
