//! The stock runbook `deploy-update` through the real binary, on a private
//! copy of the lab's Django site (`fixture_site::ScratchSite`: its own clone
//! and database) served by private services around that very checkout
//! (`fixture_services::Services::start_variant`: supervisord running gunicorn
//! `web` and `worker:*`, nginx with the shipped maintenance snippet), and a
//! private virtualenv that sees the lab venv's packages (Django) and
//! installs the test's wheels offline (its own `pip.conf`).
//!
//! The clone's `origin` is the lab's fixture repository, so the runbook's
//! `git fetch` really runs (it only reads that repository); the revisions
//! deployed are commits the test makes in the clone.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::Run;
use crate::backup::outputs;
use crate::fixture_services::{Services, SiteVariant, http_get, services_lab};
use crate::site_deps::{tiny, venv_with_wheels};
use crate::site_migrate::SiteProject;

/// A migration adding a column to `notes_note`.
pub(crate) const ADD_FLAG: &str = r#"from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [
        migrations.AddField("note", "flag", models.BooleanField(default=False)),
    ]
"#;

/// A migration that fails (after `ADD_FLAG` went through).
const FAILING: &str = r#"from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notes", "0002_note_flag")]
    operations = [migrations.RunSQL("select 1/0", reverse_sql=migrations.RunSQL.noop)]
"#;

/// A data migration that cannot be reversed.
const IRREVERSIBLE: &str = r#"from django.db import migrations


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [migrations.RunPython(forwards)]
"#;

pub(crate) const MARKER: &str = "<!-- cairn:maintenance";

/// The site, its services and its virtualenv, at a base commit whose
/// requirements (`cairntiny==1.0`) are installed and whose schema is
/// migrated.
pub(crate) struct Deploy {
    pub sp: SiteProject,
    pub services: Services,
    pub venv: PathBuf,
    pub base: String,
}

impl Deploy {
    fn new() -> Option<Self> {
        Self::new_variant(false)
    }

    /// With `web_stopped`, supervisord runs only the workers: `web` is the
    /// test's to run (nginx proxies to `services.gunicorn_port`).
    pub(crate) fn new_variant(web_stopped: bool) -> Option<Self> {
        let lab = services_lab()?;
        let sp = SiteProject::new()?;
        let site = &sp.site;
        let (venv, wheels) = venv_with_wheels(site);
        // The lab venv's packages (Django, psycopg) through a .pth file;
        // pip offline, from the test's wheels.
        let site_packages = |python: &std::path::Path| {
            ok(Command::new(python).args([
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ]))
        };
        let lab_packages = site_packages(std::path::Path::new(&site.python));
        let own = PathBuf::from(site_packages(&venv.join("bin/python")));
        std::fs::write(own.join("cairn-lab.pth"), format!("{lab_packages}\n")).unwrap();
        std::fs::write(
            venv.join("pip.conf"),
            format!(
                "[global]\nno-index = true\nfind-links = {}\ndisable-pip-version-check = true\n",
                wheels.display()
            ),
        )
        .unwrap();
        let base = site.commit("requirements", &[("requirements.txt", "cairntiny==1.0\n")]);
        ok(Command::new(venv.join("bin/python"))
            .env_remove("PIP_FIND_LINKS")
            .args(["-m", "pip", "install", "--quiet", "-r"])
            .arg(site.dir().join("requirements.txt")));
        site.manage(&["migrate", "--noinput"]);
        let variant = SiteVariant {
            env: vec![
                ("DATABASE_URL", site.database_url.clone()),
                (
                    "STATIC_ROOT",
                    site.dir().join("staticfiles").display().to_string(),
                ),
            ],
            web_stopped,
            site_dir: Some(site.dir()),
        };
        let services = Services::start_variant(&lab, &[], &variant);
        Some(Deploy {
            sp,
            services,
            venv,
            base,
        })
    }

    /// `cairn run deploy-update` with the site's params and `more`.
    fn run(&self, more: &[&str]) -> Run {
        self.run_params(&self.params(), more)
    }

    /// The site's params (`NAME=VALUE`): supervisor, the flag file.
    pub(crate) fn params(&self) -> Vec<String> {
        let s = &self.services;
        vec![
            format!("site-dir={}", self.sp.site.dir_str()),
            format!("venv={}", self.venv.display()),
            "installer=pip".into(),
            "settings=labsite.settings".into(),
            "database-url-secret=database_url".into(),
            format!("service-config={}", s.supervisor_conf.display()),
            "web=web".into(),
            "workers=worker:*".into(),
            format!("health-url={}/health/", s.gunicorn_url()),
            format!("maintenance-file={}", s.maintenance_file.display()),
            format!("site-url={}/", s.nginx_url()),
        ]
    }

    /// `cairn run deploy-update -p PARAM...` and `more`.
    pub(crate) fn run_params(&self, params: &[String], more: &[&str]) -> Run {
        let mut args: Vec<String> = vec!["run".into(), "deploy-update".into()];
        for p in params {
            args.push("-p".into());
            args.push(p.clone());
        }
        args.extend(more.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.sp.cairn(&args)
    }

    /// A commit adding the `flag` migration and a stylesheet (and `more`),
    /// with the checkout back at the base: the revision to deploy.
    pub(crate) fn target_with_flag(&self, more: &[(&str, &str)]) -> String {
        let site = &self.sp.site;
        let mut files = vec![
            ("notes/migrations/0002_note_flag.py", ADD_FLAG),
            ("notes/static/notes/deploy.css", "body { color: teal; }\n"),
        ];
        files.extend_from_slice(more);
        let target = site.commit("flag, a stylesheet", &files);
        site.git(&["checkout", "--quiet", "--detach", &self.base]);
        target
    }

    pub(crate) fn has_flag_column(&self) -> bool {
        self.sp.site.sql(
            "select count(*) from information_schema.columns where table_name = 'notes_note' and column_name = 'flag'",
        ) == "1"
    }

    pub(crate) fn applied(&self) -> Vec<String> {
        self.sp
            .site
            .sql("select name from django_migrations where app = 'notes' order by id")
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// After the run: the programs run, the site answers 200 through nginx
    /// and the maintenance page is down.
    fn site_is_up(&self) {
        let s = &self.services;
        for p in ["web", "worker:worker_00", "worker:worker_01"] {
            assert_eq!(
                s.program(p).0,
                "RUNNING",
                "{}",
                s.supervisorctl(&["status"])
            );
        }
        assert!(
            !s.maintenance_file.exists(),
            "the maintenance page is still up"
        );
        let (status, body) = http_get(&format!("{}/health/", s.nginx_url())).unwrap();
        assert_eq!(status, 200, "{body}");
    }
}

/// A bounded client polling the site during the run.
pub(crate) struct Poller {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<(u16, bool)>>,
}

impl Poller {
    fn start(url: String) -> Self {
        Self::start_for(url, MARKER)
    }

    /// Counting as the maintenance page a 503 whose body holds `page`.
    pub(crate) fn start_for(url: String, page: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            // At most 20 000 requests (about 10 minutes at one per 30 ms).
            while !flag.load(Ordering::Relaxed) && seen.len() < 20_000 {
                match http_get(&url) {
                    Ok((status, body)) => seen.push((status, body.contains(page))),
                    Err(_) => seen.push((0, false)),
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            seen
        });
        Poller { stop, handle }
    }

    /// (200s, maintenance pages, anything else)
    pub(crate) fn finish(self) -> (usize, usize, Vec<(u16, bool)>) {
        self.stop.store(true, Ordering::Relaxed);
        let seen = self.handle.join().unwrap();
        let ok = seen.iter().filter(|(s, _)| *s == 200).count();
        let page = seen.iter().filter(|(s, m)| *s == 503 && *m).count();
        let other = seen
            .into_iter()
            .filter(|(s, m)| *s != 200 && !(*s == 503 && *m))
            .collect();
        (ok, page, other)
    }
}

fn ok(c: &mut Command) -> String {
    let out = c.output().expect("spawn");
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn an_update_migrates_collects_and_the_visitors_see_only_the_site_or_the_page() {
    let Some(d) = Deploy::new() else { return };
    let site = &d.sp.site;
    let target = d.target_with_flag(&[("requirements.txt", "cairntiny==1.1\n")]);
    let web_before = d.services.program("web").1;

    // The dry-run reads the target: its migration and its requirement.
    d.run(&["--dry-run", "-p", &format!("revision={target}")])
        .success()
        .stdout_has("1 migration(s) to apply: notes.0002_note_flag")
        .stdout_has("would change cairntiny 1.0 → 1.1")
        .stdout_lacks("would not complete");
    assert_eq!(site.head(), d.base, "the dry-run changed the checkout");
    assert_eq!(tiny(&d.venv).as_deref(), Some("1.0"));
    assert!(!d.has_flag_column());

    let poller = Poller::start(format!("{}/health/", d.services.nginx_url()));
    let r = d.run(&["-p", &format!("revision={target}")]);
    let (ok, page, other) = poller.finish();
    r.success();

    assert_eq!(site.head(), target);
    assert!(d.has_flag_column(), "the migration was not applied");
    assert_eq!(d.applied(), ["0001_initial", "0002_note_flag"]);
    assert!(
        site.dir().join("staticfiles/notes/deploy.css").is_file(),
        "the new static file was not collected"
    );
    assert_eq!(tiny(&d.venv).as_deref(), Some("1.1"));
    assert_ne!(
        d.services.program("web").1,
        web_before,
        "gunicorn was not restarted"
    );
    d.site_is_up();
    assert_eq!(
        outputs(&d.sp.p, "migrate")["after"]["notes"],
        "0002_note_flag"
    );
    assert!(
        other.is_empty(),
        "answers other than 200 or the maintenance page: {other:?} ({ok} x 200, {page} x page)"
    );
    assert!(
        page > 0,
        "the client never saw the maintenance page ({ok} x 200)"
    );
    assert!(ok > 0, "the client never saw the site");
    eprintln!("during the update: {ok} x 200, {page} x maintenance page");
    d.sp.no_password_in_dot_cairn();
}

#[test]
fn a_failing_migration_rolls_back_code_schema_and_services() {
    let Some(d) = Deploy::new() else { return };
    let site = &d.sp.site;
    let target = site.commit(
        "flag then a failing migration, cairntiny 1.1",
        &[
            ("notes/migrations/0002_note_flag.py", ADD_FLAG),
            ("notes/migrations/0003_fail.py", FAILING),
            ("requirements.txt", "cairntiny==1.1\n"),
        ],
    );
    site.git(&["checkout", "--quiet", "--detach", &d.base]);

    let poller = Poller::start(format!("{}/health/", d.services.nginx_url()));
    let r = d.run(&["-p", &format!("revision={target}")]);
    let (ok, page, other) = poller.finish();
    r.code(1).stdout_has("failed (rolled back)");

    assert_eq!(site.head(), d.base, "the checkout is not back");
    assert!(!d.has_flag_column(), "the schema is not back");
    assert_eq!(d.applied(), ["0001_initial"]);
    assert_eq!(
        tiny(&d.venv).as_deref(),
        Some("1.0"),
        "the requirements are not back"
    );
    d.site_is_up();
    assert!(
        other.is_empty(),
        "answers other than 200 or the maintenance page: {other:?} ({ok} x 200, {page} x page)"
    );
    d.sp.no_password_in_dot_cairn();
}

#[test]
fn an_irreversible_migration_is_shown_by_the_dry_run_and_refused_unless_allowed() {
    let Some(d) = Deploy::new() else { return };
    let site = &d.sp.site;
    let target = site.commit("data", &[("notes/migrations/0002_fill.py", IRREVERSIBLE)]);
    site.git(&["checkout", "--quiet", "--detach", &d.base]);
    let state = || {
        (
            site.head(),
            site.git(&["status", "--porcelain"]),
            site.git(&["worktree", "list", "--porcelain"]),
        )
    };
    let before = state();

    // The dry-run reads the target's plan, not the live checkout's.
    let r = d.run(&["--dry-run", "-p", &format!("revision={target}")]);
    r.success()
        .stdout_has("notes.0002_fill: operation 1 RunPython")
        .stdout_has("would run: sh -c")
        .stdout_has("undo of `checkout`: would run if a later step fails")
        // The undo steps listed use values known only after the run: they
        // are planned, not failed.
        .stdout_lacks("would not complete");
    assert_eq!(outputs(&d.sp.p, "target-plan")["irreversible-count"], 1);
    assert_eq!(state(), before, "the dry-run changed the checkout");
    assert!(!d.services.maintenance_file.exists());

    // The real run refuses before anything is changed.
    let r = d.run(&["-p", &format!("revision={target}")]);
    r.code(1);
    let said = format!("{}{}", r.stdout, r.stderr);
    assert!(said.contains("allow-irreversible=true"), "{said}");
    assert_eq!(state(), before);
    assert_eq!(d.applied(), ["0001_initial"]);
    d.site_is_up();

    d.run(&[
        "-p",
        &format!("revision={target}"),
        "-p",
        "allow-irreversible=true",
    ])
    .success();
    assert_eq!(site.head(), target);
    assert_eq!(d.applied(), ["0001_initial", "0002_fill"]);
    d.site_is_up();
    d.sp.no_password_in_dot_cairn();
}

#[test]
fn a_site_that_does_not_come_back_keeps_its_maintenance_page() {
    let Some(d) = Deploy::new() else { return };
    let site = &d.sp.site;
    let target = site.commit("a stylesheet", &[("notes/static/notes/x.css", "a {}\n")]);
    site.git(&["checkout", "--quiet", "--detach", &d.base]);
    // A health URL that never answers 200: neither the new revision nor
    // the previous one is healthy.
    let broken = format!("health-url={}/no-such-page/", d.services.gunicorn_url());
    let r = d.run(&[
        "-p",
        &format!("revision={target}"),
        "-p",
        &broken,
        "-p",
        "timeout=5s",
    ]);
    r.code(4)
        .stdout_has("failed, rollback failed")
        .stdout_has("`page-up`");
    assert_eq!(site.head(), d.base, "the checkout is not back");
    assert!(
        d.services.maintenance_file.exists(),
        "the page came down over a broken site"
    );
    let (status, body) = http_get(&format!("{}/", d.services.nginx_url())).unwrap();
    assert_eq!(status, 503);
    assert!(body.contains(MARKER), "{body}");
    d.sp.no_password_in_dot_cairn();
}
