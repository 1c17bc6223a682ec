//! The stock `move-site` runbook through the real binary against the lab's
//! real services: an "old" site (a private copy of the lab's Django site on
//! its own database on the primary PostgreSQL, private supervisord, gunicorn
//! and nginx), a "new" site (the same, its `web` stopped, its environment
//! pointing at the database the move creates on the lab's new PostgreSQL
//! server), a private HAProxy in front of the old site and a zone of the
//! test's own on the lab's PowerDNS. Every database, zone and process is the
//! test's own and ended or dropped by it.

use std::path::PathBuf;
use std::process::Command;

use crate::Project;
use crate::backup::{outputs, psql, row_counts, tree, unique, with_db};
use crate::dns_cutover::Pdns;
use crate::fixture_haproxy::PrivateHaproxy;
use crate::fixture_services::{Services, SiteVariant, http_get, services_lab};
use crate::fixture_site::ScratchSite;

/// Everything a move needs, the test's own.
struct Move {
    // Dropped first: the processes, then the databases and the zone.
    old: Services,
    new: Services,
    hap: PrivateHaproxy,
    site: ScratchSite,
    dns: Pdns,
    new_db: NewDatabase,
    new_media: PathBuf,
    old_name: String,
    new_name: String,
    p: Project,
}

/// The database the move creates on the new server: dropped only when it
/// exists under this run's unique name with the label `copy` gives it.
struct NewDatabase {
    admin: String,
    name: String,
    /// The site's URL of it (the `cairn` role).
    url: String,
}

impl Drop for NewDatabase {
    fn drop(&mut self) {
        let label = psql_opt(
            &self.admin,
            &format!(
                "select shobj_description(oid, 'pg_database') from pg_database where datname = '{}'",
                self.name
            ),
        );
        if label.is_some_and(|l| l.starts_with("cairn copy run=")) {
            let _ = Command::new("psql")
                .args(["--no-psqlrc", "-d", &self.admin, "-c"])
                .arg(format!(
                    "drop database if exists \"{}\" with (force)",
                    self.name
                ))
                .output();
        }
    }
}

/// A query's output, or `None` when psql fails.
fn psql_opt(url: &str, sql: &str) -> Option<String> {
    let out = Command::new("psql")
        .args(["--no-psqlrc", "-tA", "-d", url, "-c", sql])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// What a write to a database says: `Ok` or psql's error.
fn write(url: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args(["--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-d", url, "-c"])
        .arg("insert into notes_note (title, body, attachment, created) values ('probe', '', '', now())")
        .output()
        .expect("psql");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

const NOTES: usize = 40;

impl Move {
    fn new() -> Option<Move> {
        let lab = services_lab()?;
        let site = ScratchSite::new()?;
        let dns = Pdns::new()?;
        let get = |n: &str| std::env::var(n).unwrap_or_else(|_| panic!("{n}"));
        let (new_admin, new_site) = (get("CAIRN_LAB_PG_NEW_ADMIN"), get("CAIRN_LAB_PG_NEW"));
        site.manage(&["migrate", "--noinput", "-v", "0"]);
        site.sql(&format!(
            "insert into notes_note (title, body, attachment, created) \
             select 'note ' || g, 'body', 'notes/n' || g || '.txt', now() from generate_series(1, {NOTES}) g"
        ));
        let old_media = site.path().join("media");
        for (rel, content) in [
            ("notes/n1.txt", b"first note's file".to_vec()),
            (
                "notes/deep/n2.bin",
                (0..=255u8).cycle().take(70_000).collect(),
            ),
            ("top level with space.txt", b"spaced".to_vec()),
        ] {
            let f = old_media.join(rel);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, content).unwrap();
        }
        let new_media = site.scratch("new-media");
        let tag = unique("mv").replace('_', "-");
        let (old_name, new_name) = (format!("old-{tag}"), format!("new-{tag}"));
        let name = unique("mvnew");
        let new_db = NewDatabase {
            url: with_db(&new_site, &name),
            name,
            admin: new_admin,
        };
        let env = |db: &str, media: &PathBuf, name: &str| SiteVariant {
            env: vec![
                ("DATABASE_URL", db.to_string()),
                ("MEDIA_ROOT", media.to_string_lossy().into_owned()),
                ("SITE_SERVER_NAME", name.to_string()),
            ],
            web_stopped: false,
            site_dir: None,
        };
        let old =
            Services::start_variant(&lab, &[], &env(&site.database_url, &old_media, &old_name));
        let new = Services::start_variant(
            &lab,
            &[],
            &SiteVariant {
                web_stopped: true,
                ..env(&new_db.url, &new_media, &new_name)
            },
        );
        let hap = PrivateHaproxy::start(&[("app", old.nginx_port)]);
        let p = Project::with_config("project move-test {\n    secrets { env prefix=MVT_; }\n}\n");
        Some(Move {
            old,
            new,
            hap,
            site,
            dns,
            new_db,
            new_media,
            old_name,
            new_name,
            p,
        })
    }

    /// `cairn run move-site` with every param for this lab, then `extra`
    /// (`NAME=VALUE`, later ones win).
    fn run(&self, extra: &[&str]) -> crate::Run {
        let new_target = with_db(&self.new_db.admin, &self.new_db.name);
        let params = [
            format!("old-database-url={}", self.site.database_url),
            format!("old-url={}/", self.old.nginx_url()),
            format!("maintenance-file={}", self.old.maintenance_file.display()),
            format!(
                "old-supervisor-config={}",
                self.old.supervisor_conf.display()
            ),
            "old-programs=web worker:*".to_string(),
            format!("old-media-dir={}", self.site.path().join("media").display()),
            format!("new-database-url={new_target}"),
            "new-database-owner=cairn".to_string(),
            format!("new-media-dir={}", self.new_media.display()),
            format!(
                "new-supervisor-config={}",
                self.new.supervisor_conf.display()
            ),
            "new-programs=web".to_string(),
            format!("new-health-url={}/health/", self.new.nginx_url()),
            format!("haproxy-socket={}", self.hap.socket.display()),
            "haproxy-backend=be_site".to_string(),
            "haproxy-server=app".to_string(),
            "new-addr=127.0.0.1".to_string(),
            format!("new-port={}", self.new.nginx_port),
            format!("dns-zone={}", self.dns.zone),
            "dns-record=www".to_string(),
            "dns-ip=127.0.0.2".to_string(),
            format!("dns-api={}", self.dns.api),
            "dns-api-key-secret=pdns_key".to_string(),
            format!("dns-servers={}", self.dns.dns),
            "dns-verify-timeout=30s".to_string(),
        ];
        let mut args = vec!["run".to_string(), "move-site".to_string()];
        for p in params
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
        {
            if p.starts_with("--") {
                args.push(p.to_string());
            } else {
                args.push("-p".to_string());
                args.push(p.to_string());
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self
            .p
            .cmd()
            .args(&args)
            .env("MVT_PDNS_KEY", &self.dns.key)
            .output()
            .unwrap();
        crate::Run::new(&args, out)
    }

    /// The name of the site answering through HAProxy, from `/health/`.
    fn serving(&self) -> (u16, String) {
        let (status, body) = http_get(&format!("{}health/", self.hap.url())).expect("haproxy");
        let server = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["server"].as_str().map(str::to_string))
            .unwrap_or(body);
        (status, server)
    }

    /// `IP:PORT` of the backend's server `app`.
    fn haproxy_addr(&self) -> String {
        self.hap
            .api("show servers state be_site")
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.len() > 18 && f[1] == "be_site" && f[3] == "app")
            .map(|f| format!("{}:{}", f[4], f[18]))
            .expect("server app")
    }

    /// What the lab's PowerDNS answers for `www` (a real lookup).
    fn dig(&self) -> String {
        let (ip, port) = self.dns.dns.rsplit_once(':').unwrap();
        let out = Command::new("dig")
            .args(["+short", "+time=2", "+tries=2", "-p", port])
            .arg(format!("@{ip}"))
            .arg(format!("www.{}", self.dns.zone))
            .arg("A")
            .output()
            .expect("dig");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The state the old site served in before any run.
    fn assert_old_serves_as_before(&self) {
        assert_eq!(self.serving(), (200, self.old_name.clone()));
        assert_eq!(
            self.haproxy_addr(),
            format!("127.0.0.1:{}", self.old.nginx_port)
        );
        assert!(
            !self.old.maintenance_file.exists(),
            "maintenance page left up"
        );
        write(&self.site.database_url).expect("the old database takes writes");
        assert_eq!(self.dig(), "127.0.0.1");
        assert_eq!(
            self.dns.a("www"),
            Some((300, vec!["127.0.0.1".to_string()]))
        );
        assert_eq!(self.old.program("web").0, "RUNNING");
        assert_ne!(self.new.program("web").0, "RUNNING", "the new site runs");
    }
}

#[test]
fn a_dry_run_changes_nothing_then_the_site_moves() {
    let Some(m) = Move::new() else { return };
    m.assert_old_serves_as_before();

    // (c) The plan, with the real current values, and nothing changed.
    let dry = m.run(&["--dry-run"]);
    dry.success()
        .stdout_has(&format!("A www.{} 127.0.0.1 → 127.0.0.2", m.dns.zone))
        .stdout_has(&format!(
            "server be_site/app: 127.0.0.1:{} → 127.0.0.1:{}",
            m.old.nginx_port, m.new.nginx_port
        ))
        .stdout_has("undo of `haproxy-addr`: would run if a later step fails")
        .stdout_has("would run dns-cutover restore with `previous` as the steps before it return it when they run")
        // Undo steps that use what the main steps return are planned as
        // such, not tried with a placeholder (nor a guess printed).
        .stdout_has("would run haproxy set-addr with `addr`, `port` as the steps before it return them")
        .stdout_has("would run haproxy set-state with `state`")
        .stdout_has("would run service stop with `programs`")
        .stdout_has("read-only → off (its setting is read when the step runs)")
        .stdout_lacks("cannot be checked before the run")
        .stdout_lacks("no program selected")
        .stdout_has(&format!(
            "maintenance page `{}`: not known before the steps it depends on run",
            m.old.maintenance_file.display()
        ))
        .stdout_lacks("would not complete");
    m.assert_old_serves_as_before();
    write(&m.site.database_url).unwrap();
    assert!(
        psql_opt(
            &m.new_db.admin,
            &format!(
                "select 1 from pg_database where datname = '{}'",
                m.new_db.name
            )
        ) == Some(String::new()),
        "a dry-run created the new database"
    );
    assert!(tree(&m.new_media).is_empty(), "a dry-run copied media");
    // The probe rows of the checks above are part of what moves.
    let rows_before = row_counts(&m.site.database_url);
    let notes = psql(&m.site.database_url, "select count(*) from notes_note");

    // (a) The move.
    let run = m.run(&[]);
    run.success();
    assert_eq!(
        row_counts(&m.new_db.url),
        rows_before,
        "rows on the new server"
    );
    assert_eq!(
        psql(&m.new_db.url, "select count(*) from notes_note"),
        notes
    );
    assert_eq!(
        tree(&m.new_media),
        tree(&m.site.path().join("media")),
        "media on the new server"
    );
    assert_eq!(
        outputs(&m.p, "compare")["rows"].as_u64(),
        Some(row_total(&rows_before))
    );
    // HAProxy sends the requests to the new site, which reads the copy.
    assert_eq!(m.serving(), (200, m.new_name.clone()));
    assert_eq!(m.haproxy_addr(), format!("127.0.0.1:{}", m.new.nginx_port));
    let (_, body) = http_get(&format!("{}health/", m.hap.url())).unwrap();
    assert!(
        body.contains(&format!("\"notes\": {notes}"))
            || body.contains(&format!("\"notes\":{notes}")),
        "{body}"
    );
    // DNS answers the new address.
    assert_eq!(m.dig(), "127.0.0.2");
    // The old site: read-only, in maintenance, stopped.
    let refused = write(&m.site.database_url).expect_err("the old database took a write");
    assert!(refused.contains("read-only transaction"), "{refused}");
    assert!(m.old.maintenance_file.exists());
    assert_eq!(m.old.program("web").0, "STOPPED");
    assert!(
        !m.p.journals().contains(&m.dns.key),
        "the API key in the journal"
    );
}

/// The sum of `row_counts`' counts.
fn row_total(counts: &str) -> u64 {
    counts
        .lines()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_failure_late_in_the_move_leaves_the_old_site_serving_as_before() {
    let Some(m) = Move::new() else { return };
    m.assert_old_serves_as_before();
    // The DNS verify asks a server that never answers: it fails after the
    // switch, with the site already behind HAProxy's new address.
    let run = m.run(&["dns-servers=127.0.0.1:9", "dns-verify-timeout=3s"]);
    run.code(1).stdout_has("failed (rolled back)");
    for step in [
        "maintenance-on",
        "old-read-only",
        "start-new",
        "haproxy-addr",
        "dns-switch",
    ] {
        assert!(
            m.p.journals().contains(&format!("\"{step}\"")),
            "{step} ran"
        );
    }
    m.assert_old_serves_as_before();
}
