//! What the state backend's tests work with: a database of their own in
//! the lab's PostgreSQL, the cairn processes they started, waiting.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use crate::Project;

/// A database made for one test, dropped at its end: it is this test's by
/// its unique name, and dropped only if this test created it.
pub(super) struct Db {
    admin_url: String,
    pub(super) name: String,
    /// The lab's ordinary role (the database's owner) and its URL.
    pub(super) url: String,
    pub(super) password: String,
    created: bool,
}

impl Db {
    pub(super) fn new(what: &str) -> Option<Self> {
        let get = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let (Some(admin_url), Some(site)) = (
            get("CAIRN_LAB_PG_PRIMARY_ADMIN"),
            get("CAIRN_LAB_PG_PRIMARY"),
        ) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but the lab's PostgreSQL is not set up: eval \"$(tests/lab/up postgres)\""
            );
            eprintln!("skipped: no lab (eval \"$(tests/lab/up postgres)\" to run this test)");
            return None;
        };
        let name = crate::backup::unique(what);
        // postgresql://cairn:PASSWORD@HOST:PORT/site: the role and its
        // password, the URL without the password (cairn.kdl refuses one).
        let (scheme_user, rest) = site.split_once(':').unwrap();
        let rest = rest.trim_start_matches("//");
        let (user, after_user) = rest.split_once(':').unwrap();
        let (password, host_db) = after_user.split_once('@').unwrap();
        let (host, _) = host_db.split_once('/').unwrap();
        let url = format!("{scheme_user}://{user}@{host}/{name}");
        let mut db = Db {
            admin_url,
            name,
            url,
            password: password.to_string(),
            created: false,
        };
        db.admin()
            .batch_execute(&format!("CREATE DATABASE {} OWNER {user}", db.name))
            .expect("create the test database");
        db.created = true;
        Some(db)
    }

    pub(super) fn admin(&self) -> Client {
        Client::connect(&self.admin_url, NoTls).expect("connect as the lab's superuser")
    }

    /// A connection to the test database, as its superuser.
    pub(super) fn client(&self) -> Client {
        Client::connect(&crate::backup::with_db(&self.admin_url, &self.name), NoTls)
            .expect("connect to the test database")
    }

    pub(super) fn config(&self) -> String {
        format!(
            "project state-test {{\n    state {{ postgres url=\"{}\" password-secret=state_password }}\n    secrets {{ env prefix=STATE_TEST_ }}\n}}\n",
            self.url
        )
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if self.created {
            let _ = self.admin().batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// cairn processes this test started, each ended (SIGKILL) on drop if it
/// still runs: exactly the pids recorded here.
#[derive(Default)]
pub(super) struct Started(pub(super) Vec<Child>);

impl Drop for Started {
    fn drop(&mut self) {
        for c in &mut self.0 {
            if c.try_wait().ok().flatten().is_none() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

pub(super) fn cairn(p: &Project, db: &Db, user: &str) -> Command {
    let mut c = p.cmd();
    c.env("STATE_TEST_STATE_PASSWORD", &db.password)
        .env("USER", user);
    c
}

pub(super) fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

pub(super) fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The direct children of `pid` (every thread's).
pub(super) fn children(pid: u32) -> Vec<i32> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        if let Ok(text) = std::fs::read_to_string(t.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|c| c.parse::<i32>().ok()),
            );
        }
    }
    out
}
