//! A small fluent harness: a project in a temp dir, the real `cairn` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Project {
    dir: tempfile::TempDir,
}

impl Default for Project {
    fn default() -> Self {
        Self::new()
    }
}

impl Project {
    /// A project with a minimal `cairn.kdl`.
    pub fn new() -> Self {
        Self::with_config("project test-site {\n}\n")
    }

    pub fn with_config(config: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("cairn-test-")
            .tempdir()
            .expect("tempdir");
        std::fs::write(dir.path().join("cairn.kdl"), config).expect("write cairn.kdl");
        std::fs::create_dir_all(dir.path().join("runbooks")).expect("runbooks dir");
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `runbooks/NAME.kdl`.
    pub fn runbook(&self, name: &str, text: &str) -> &Self {
        self.file(&format!("runbooks/{name}.kdl"), text)
    }

    pub fn file(&self, rel: &str, text: &str) -> &Self {
        let p = self.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write file");
        self
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cairn"));
        c.current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("CAIRN_LOG")
            .env_remove("RUST_LOG");
        c
    }

    pub fn cairn(&self, args: &[&str]) -> Run {
        let out = self.cmd().args(args).output().expect("run cairn");
        Run::new(args, out)
    }

    /// Every byte cairn wrote under `.cairn/runs`.
    pub fn journals(&self) -> String {
        let mut all = String::new();
        let runs = self.join(".cairn/runs");
        if let Ok(rd) = std::fs::read_dir(runs) {
            for e in rd.flatten() {
                if let Ok(t) = std::fs::read_to_string(e.path().join("journal.jsonl")) {
                    all.push_str(&t);
                }
            }
        }
        all
    }

    /// The events of the newest run's journal.
    pub fn last_journal(&self) -> Vec<serde_json::Value> {
        let runs = self.join(".cairn/runs");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs)
            .expect("runs dir")
            .flatten()
            .map(|e| e.path())
            .collect();
        dirs.sort();
        let text = std::fs::read_to_string(dirs.last().expect("a run").join("journal.jsonl"))
            .expect("journal");
        text.lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    }
}

pub struct Run {
    args: String,
    pub out: Output,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn new(args: &[&str], out: Output) -> Self {
        Self {
            args: args.join(" "),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            out,
        }
    }

    fn context(&self) -> String {
        format!(
            "`cairn {}` exited {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.args,
            self.out.status.code(),
            self.stdout,
            self.stderr
        )
    }

    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(self.out.status.code(), Some(expected), "{}", self.context());
        self
    }

    pub fn success(&self) -> &Self {
        self.code(0)
    }

    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.context()
        );
        self
    }

    pub fn stdout_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout has {needle:?}\n{}",
            self.context()
        );
        self
    }
}
