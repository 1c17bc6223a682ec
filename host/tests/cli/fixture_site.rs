//! `ScratchSite`: a private copy of the lab's Django site for tests that
//! change code or schema: a temporary `git clone` of the lab's fixture
//! repository (`$CAIRN_LAB_SITE_DIR`, never modified), its own database on
//! the lab's primary PostgreSQL (a unique name, created through
//! `$CAIRN_LAB_PG_PRIMARY_ADMIN`, dropped on drop only when its name and OID
//! are still the ones created), its own `STATIC_ROOT` and `MEDIA_ROOT`, and
//! the lab venv's python (`$CAIRN_LAB_PYTHON`) for `manage.py`.
//!
//! It is about code and database only, so that a fixture of services
//! (supervisor, gunicorn, nginx) can be put around its `dir()`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::backup::{psql, unique, with_db};

pub(crate) struct ScratchSite {
    tmp: tempfile::TempDir,
    pub(crate) python: String,
    /// The `cairn` role's URL of the scratch database (with its password).
    pub(crate) database_url: String,
    pub(crate) database: String,
    admin: String,
    oid: String,
}

impl ScratchSite {
    /// `None` (skip) without the lab; a panic under `CI=true`.
    pub(crate) fn new() -> Option<Self> {
        let get = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let (Some(site), Some(admin), Some(primary), Some(python)) = (
            get("CAIRN_LAB_SITE_DIR"),
            get("CAIRN_LAB_PG_PRIMARY_ADMIN"),
            get("CAIRN_LAB_PG_PRIMARY"),
            get("CAIRN_LAB_PYTHON"),
        ) else {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "CI=true but the lab's site is not set up: eval \"$(tests/lab/up postgres site)\""
                );
            }
            eprintln!("skipped: no lab site (eval \"$(tests/lab/up postgres site)\")");
            return None;
        };
        let tmp = tempfile::Builder::new()
            .prefix("cairn-site-")
            .tempdir()
            .expect("tempdir");
        let app = tmp.path().join("app");
        run(Command::new("git")
            .args(["clone", "--quiet", "--no-hardlinks", &site])
            .arg(&app));
        for (k, v) in [
            ("user.name", "cairn test"),
            ("user.email", "test@example.test"),
        ] {
            run(Command::new("git")
                .arg("-C")
                .arg(&app)
                .args(["config", k, v]));
        }
        std::fs::create_dir_all(tmp.path().join("static")).unwrap();
        std::fs::create_dir_all(tmp.path().join("media")).unwrap();
        let database = unique("site");
        psql(
            &admin,
            &format!("create database \"{database}\" owner cairn"),
        );
        let oid = psql(
            &admin,
            &format!("select oid from pg_database where datname = '{database}'"),
        );
        assert!(!oid.is_empty(), "no oid for {database}");
        let database_url = with_db(&primary, &database);
        Some(ScratchSite {
            tmp,
            python,
            database_url,
            database,
            admin,
            oid,
        })
    }

    /// The site's checkout (`manage.py` at its root).
    pub(crate) fn dir(&self) -> PathBuf {
        self.tmp.path().join("app")
    }

    pub(crate) fn dir_str(&self) -> String {
        self.dir().to_string_lossy().into_owned()
    }

    /// A directory of the fixture's own, for what a test needs beside the
    /// site (a venv, a wheelhouse).
    pub(crate) fn scratch(&self, name: &str) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    pub(crate) fn static_root(&self) -> PathBuf {
        self.tmp.path().join("static")
    }

    /// The site's environment but the database: what `manage.py` needs.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let p = |d: &str| self.tmp.path().join(d).to_string_lossy().into_owned();
        vec![
            ("DJANGO_SETTINGS_MODULE".into(), "labsite.settings".into()),
            ("SECRET_KEY".into(), "scratch-site-not-secret".into()),
            ("ALLOWED_HOSTS".into(), "127.0.0.1,localhost".into()),
            ("STATIC_ROOT".into(), p("static")),
            ("MEDIA_ROOT".into(), p("media")),
            ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        ]
    }

    /// The same, as KDL `env` arguments of a step.
    pub(crate) fn env_kdl(&self) -> String {
        self.env()
            .iter()
            .filter(|(k, _)| k != "DJANGO_SETTINGS_MODULE")
            .map(|(k, v)| format!("env {k}=\"{v}\""))
            .collect::<Vec<_>>()
            .join("\n        ")
    }

    /// `manage.py ARGS...` with the site's python, environment and database.
    pub(crate) fn manage(&self, args: &[&str]) -> String {
        let mut c = Command::new(&self.python);
        c.arg("manage.py")
            .args(args)
            .current_dir(self.dir())
            .env("DATABASE_URL", &self.database_url);
        for (k, v) in self.env() {
            c.env(k, v);
        }
        run(&mut c)
    }

    /// `git ARGS...` in the checkout.
    pub(crate) fn git(&self, args: &[&str]) -> String {
        run(Command::new("git").arg("-C").arg(self.dir()).args(args))
    }

    pub(crate) fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// Writes `files` and commits them; returns the new commit.
    pub(crate) fn commit(&self, message: &str, files: &[(&str, &str)]) -> String {
        for (rel, text) in files {
            let p = self.dir().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            self.git(&["add", "--", rel]);
        }
        self.git(&["commit", "--quiet", "-m", message]);
        self.head()
    }

    /// A query on the scratch database, as the site's role.
    pub(crate) fn sql(&self, query: &str) -> String {
        psql(&self.database_url, query)
    }

    pub(crate) fn path(&self) -> &Path {
        self.tmp.path()
    }
}

impl Drop for ScratchSite {
    fn drop(&mut self) {
        // Only the database this fixture made: same name and same OID.
        let oid = Command::new("psql")
            .args(["--no-psqlrc", "-tA", "-d", &self.admin, "-c"])
            .arg(format!(
                "select oid from pg_database where datname = '{}'",
                self.database
            ))
            .output();
        if let Ok(out) = oid
            && String::from_utf8_lossy(&out.stdout).trim() == self.oid
        {
            let _ = Command::new("psql")
                .args(["--no-psqlrc", "-d", &self.admin, "-c"])
                .arg(format!(
                    "drop database if exists \"{}\" with (force)",
                    self.database
                ))
                .output();
        }
    }
}

fn run(c: &mut Command) -> String {
    let out = c.output().expect("spawn");
    assert!(
        out.status.success(),
        "{c:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
