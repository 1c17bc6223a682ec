//! Every fenced block of `README.md` and `docs/plugin-guide.md` runs, in
//! order, in a temporary directory with `cairn` on `PATH`, so the docs
//! cannot drift from the CLI.
//!
//! - a `sh` block runs with `bash -euo pipefail`;
//! - a block under `<!-- test: file PATH -->` is written to PATH;
//! - a block under `<!-- test: skip REASON -->` does not run (REASON is
//!   required: it is shown to the reader too);
//! - a `text` block is output, shown and not run;
//! - any other block fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, PartialEq)]
enum Action {
    Shell,
    File(String),
    Skip,
    Show,
}

#[derive(Debug)]
struct Block {
    line: usize,
    action: Action,
    text: String,
}

/// The blocks of `doc`, or the problems (`FILE:LINE: ...`) that keep them
/// from running.
fn blocks(name: &str, doc: &str) -> Result<Vec<Block>, Vec<String>> {
    let lines: Vec<&str> = doc.lines().collect();
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim_start();
        let Some(lang) = l.strip_prefix("```") else {
            i += 1;
            continue;
        };
        let lang = lang.trim().to_string();
        let start = i + 1;
        let mut text = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim_start() != "```" {
            // Blocks indented in a list lose their indentation.
            let indent = lines[start - 1].len() - l.len();
            text.push_str(lines[i].get(indent..).unwrap_or(lines[i].trim_start()));
            text.push('\n');
            i += 1;
        }
        i += 1;
        let marker = lines[..start - 1]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| l.trim().strip_prefix("<!-- test:"))
            .and_then(|m| m.strip_suffix("-->"))
            .map(str::trim);
        let action = match marker {
            Some(m) if m.starts_with("file ") => Action::File(m[5..].trim().to_string()),
            Some(m) if m.starts_with("skip") => {
                if m[4..].trim().is_empty() {
                    problems.push(format!("{name}:{start}: `skip` without a reason"));
                }
                Action::Skip
            }
            Some(m) => {
                problems.push(format!("{name}:{start}: unknown marker `{m}`"));
                Action::Skip
            }
            None if lang == "sh" || lang == "bash" => Action::Shell,
            None if lang == "text" => Action::Show,
            None => {
                problems.push(format!(
                    "{name}:{start}: a `{lang}` block the test cannot run: mark it \
                     `<!-- test: file PATH -->` or `<!-- test: skip REASON -->`"
                ));
                Action::Skip
            }
        };
        out.push(Block {
            line: start,
            action,
            text,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the blocks of `rel` (relative to the checkout) in a fresh directory.
fn run_doc(rel: &str, tools: Option<PathBuf>) {
    let doc = std::fs::read_to_string(root().join(rel)).unwrap();
    let blocks = blocks(rel, &doc).unwrap_or_else(|p| panic!("{}", p.join("\n")));
    let dir = tempfile::Builder::new()
        .prefix("cairn-doc-")
        .tempdir()
        .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_cairn")).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf())
            .chain(tools)
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    for b in blocks {
        match &b.action {
            Action::Skip | Action::Show => {}
            Action::File(p) => {
                let dest = dir.path().join(p);
                std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
                std::fs::write(dest, &b.text).unwrap();
            }
            Action::Shell => {
                let mut child = Command::new("bash")
                    .args(["-euo", "pipefail", "-c", &b.text])
                    .current_dir(dir.path())
                    .env("PATH", &path)
                    .env("NO_COLOR", "1")
                    .env(
                        "CAIRN_PLUGIN_TARGET_DIR",
                        Path::new(env!("CARGO_TARGET_TMPDIR")).join("plugin-dev"),
                    )
                    .spawn()
                    .unwrap();
                // Bounded: a block that hangs is ended (its own pid only).
                let deadline = Instant::now() + Duration::from_secs(900);
                let status = loop {
                    if let Some(s) = child.try_wait().unwrap() {
                        break s;
                    }
                    if Instant::now() > deadline {
                        child.kill().unwrap();
                        child.wait().unwrap();
                        panic!("{rel}:{}: the block ran for 15 minutes", b.line);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                };
                assert!(
                    status.success(),
                    "{rel}:{}: the block failed ({status}):\n{}",
                    b.line,
                    b.text
                );
            }
        }
    }
}

#[test]
fn every_block_of_the_readme_runs_or_says_why_not() {
    run_doc("README.md", None);
}

#[test]
fn every_block_of_the_plugin_guide_runs_from_zero_to_a_runbook_step() {
    // The guide runs `cairn plugin build` as a reader would, with
    // componentize-py on PATH: tests/run's, named by CAIRN_COMPONENTIZE_PY.
    let tools = std::env::var_os("CAIRN_COMPONENTIZE_PY")
        .and_then(|c| Path::new(&c).parent().map(Path::to_path_buf));
    if tools.is_none()
        && Command::new("componentize-py")
            .arg("--version")
            .output()
            .is_err()
    {
        eprintln!("skipped: no componentize-py (tests/run installs it)");
        return;
    }
    run_doc("docs/plugin-guide.md", tools);
}

#[test]
fn a_block_without_a_marker_that_cannot_run_fails_the_check() {
    let doc = "# t\n\n```rust\nfn main() {}\n```\n\n<!-- test: skip -->\n```sh\nx\n```\n\n<!-- test: skip needs a server -->\n```kdl\nx\n```\n";
    let problems = blocks("t.md", doc).unwrap_err();
    assert_eq!(
        problems,
        [
            "t.md:3: a `rust` block the test cannot run: mark it `<!-- test: file PATH -->` or `<!-- test: skip REASON -->`",
            "t.md:8: `skip` without a reason",
        ]
    );
    let ok = "<!-- test: file a.kdl -->\n```kdl\nproject a\n```\n```sh\necho hi\n```\n";
    let b = blocks("t.md", ok).unwrap();
    assert_eq!(b[0].action, Action::File("a.kdl".into()));
    assert_eq!(b[0].text, "project a\n");
    assert_eq!(b[1].action, Action::Shell);
}
