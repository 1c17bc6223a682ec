//! Files a project names for cairn to read besides its runbooks: a secrets
//! file, the `.wasm` files of its plugin directory, `cairn.lock`. Each is
//! read as a regular file of bounded size: `/dev/zero`, a FIFO or a
//! directory in its place is a clear message naming the file, never a hang
//! (every run here is bounded in time).

use std::path::Path;

use super::bounded;
use super::files::mkfifo;
use crate::Project;

const HELLO: &str = "runbook hello version=1 {\n    step a uses=exec { run \"true\"; }\n}\n";

/// What to put where a file is expected.
#[derive(Debug, Clone, Copy)]
enum Odd {
    DevZero,
    Fifo,
    Directory,
}

impl Odd {
    const ALL: [Odd; 3] = [Odd::DevZero, Odd::Fifo, Odd::Directory];

    fn make(self, path: &Path) {
        match self {
            Odd::DevZero => std::os::unix::fs::symlink("/dev/zero", path).expect("symlink"),
            Odd::Fifo => mkfifo(path),
            Odd::Directory => std::fs::create_dir_all(path).expect("mkdir"),
        }
    }

    /// How cairn names it.
    fn said(self) -> &'static str {
        match self {
            Odd::DevZero => "it is a device, not a regular file",
            Odd::Fifo => "it is a FIFO, not a regular file",
            Odd::Directory => "it is a directory, not a regular file",
        }
    }
}

#[test]
fn a_secrets_file_that_is_dev_zero_a_fifo_or_a_directory_is_named_without_hanging() {
    for odd in Odd::ALL {
        let p = Project::with_config("project s {\n    secrets { file \"secrets.json\"; }\n}\n");
        p.runbook("hello", HELLO);
        odd.make(&p.join("secrets.json"));
        let run = bounded(&p, &["run", "hello", "-y"]);
        assert_ne!(run.out.status.code(), Some(0), "{odd:?}: {}", run.stderr);
        run.stderr_has(&format!(
            "cannot read secrets file `secrets.json`: {}",
            odd.said()
        ));
    }
}

#[test]
fn a_plugin_wasm_that_is_dev_zero_a_fifo_or_a_directory_is_named_without_hanging() {
    for odd in Odd::ALL {
        let p = Project::with_config("project p {\n    plugins { dir \"plugins\"; }\n}\n");
        p.runbook("hello", HELLO);
        std::fs::create_dir_all(p.join("plugins")).expect("mkdir");
        odd.make(&p.join("plugins/odd.wasm"));
        // The file is named and passed over; the stock plugins still work.
        bounded(&p, &["plugin", "list"])
            .stderr_has("plugins/odd.wasm")
            .stderr_has(odd.said());
        bounded(&p, &["run", "hello", "-y"]).success();
    }
}

#[test]
fn a_lock_file_that_is_dev_zero_or_a_fifo_is_named_without_hanging() {
    for odd in [Odd::DevZero, Odd::Fifo] {
        let p = Project::new();
        p.runbook("hello", HELLO);
        odd.make(&p.join("cairn.lock"));
        let run = bounded(&p, &["run", "hello", "-y"]);
        assert_ne!(run.out.status.code(), Some(0), "{odd:?}: {}", run.stderr);
        run.stderr_has("cannot read cairn.lock")
            .stderr_has(odd.said());
    }
}
