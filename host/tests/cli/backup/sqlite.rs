//! A SQLite backup taken while the file is being written is consistent.

use super::*;

/// Runs a Python snippet with `sys.argv[1:]` = `args`; its stdout.
fn python(code: &str, args: &[&Path]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A SQLite database written to while it is backed up: the copy is one
/// consistent state (every transaction wrote one row to each table). The
/// backup uses the `sqlite3` program when there is one, else python3; so
/// does this test's writer (python3 here, always).
#[test]
fn a_sqlite_backup_under_writes_is_consistent() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: no python3");
        return;
    }
    let p = Project::new();
    let db = p.join("live.db");
    python(
        "import sqlite3, sys, os\n\
         c = sqlite3.connect(sys.argv[1])\n\
         c.execute('pragma journal_mode=wal')\n\
         c.execute('create table a (x blob)'); c.execute('create table b (x blob)')\n\
         c.executemany('insert into a values (?)', ((os.urandom(200),) for _ in range(20000)))\n\
         c.execute('insert into b select x from a'); c.commit()",
        &[&db],
    );
    // A writer: one row into each table per transaction, until killed.
    let mut writer = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, sys, os\n\
             c = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)\n\
             while True:\n\
             \x20   c.execute('begin immediate')\n\
             \x20   c.execute('insert into a values (?)', (os.urandom(200),))\n\
             \x20   c.execute('insert into b values (?)', (os.urandom(200),))\n\
             \x20   c.execute('commit')",
        )
        .arg(&db)
        .spawn()
        .unwrap();
    // Until the writer has written (a loaded machine is slow to start it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let n = python(
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1], timeout=10)\n\
             print(c.execute('select count(*) from a').fetchone()[0])",
            &[&db],
        );
        if n.parse::<u64>().unwrap_or(0) > 20000 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    p.runbook(
        "snap",
        &format!(
            "runbook snap version=1 {{\n    step db uses=backup action=sqlite {{\n        path \"{}\"\n        storage local\n    }}\n    step back uses=restore action=sqlite {{\n        storage local\n        key \"{{{{ steps.db.outputs.key }}}}\"\n        path \"{}\"\n    }}\n}}\n",
            db.display(),
            p.join("copy.db").display()
        ),
    );
    let run = p.cairn(&["run", "snap"]);
    let still_writing = writer.try_wait().unwrap().is_none();
    let _ = writer.kill();
    let _ = writer.wait();
    run.success();
    assert!(still_writing, "the writer wrote throughout");
    let counts = python(
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1])\n\
         print(c.execute('pragma integrity_check').fetchone()[0])\n\
         print(c.execute('select count(*) from a').fetchone()[0], c.execute('select count(*) from b').fetchone()[0])",
        &[&p.join("copy.db")],
    );
    let mut lines = counts.lines();
    assert_eq!(lines.next(), Some("ok"));
    let (a, b) = lines.next().unwrap().split_once(' ').unwrap();
    assert_eq!(a, b, "one consistent state");
    assert!(
        a.parse::<u64>().unwrap() > 20000,
        "{a}: the writes before the backup are in"
    );
}
