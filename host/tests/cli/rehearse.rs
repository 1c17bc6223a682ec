//! `cairn rehearse`: a real run against the rehearsal overrides, the verify
//! checks, and the report.

use crate::Project;

const RESTORE: &str = r#"
runbook restore-files version=3 {
    param dest default="live"
    param archive default="backup.tar"

    step find-backup uses=noop action=echo {
        backup-created "2026-11-20T03:00:00Z"
        key "{{ params.archive }}"
    }
    step unpack uses=exec {
        run sh "-c" "mkdir -p \"$1\" && tar -xf \"$2\" -C \"$1\"" sh "{{ params.dest }}" "{{ params.archive }}"
        cwd "{{ project.root }}"
    }
    rehearsal {
        param dest "scratch"
        verify {
            step file-count uses=exec {
                run sh "-c" "test $(find \"$1\" -type f | wc -l) -eq 3" sh "{{ params.dest }}"
                cwd "{{ project.root }}"
            }
            step same-content uses=exec {
                run sh "-c" "cd \"$1\" && sha256sum -c ../expected.sha256" sh "{{ params.dest }}"
                cwd "{{ project.root }}"
            }
        }
    }
    finally {
        step cleanup uses=exec when="{{ run.mode }} == \"rehearsal\"" {
            run rm "-rf" "{{ params.dest }}"
            cwd "{{ project.root }}"
        }
    }
}
"#;

fn site(p: &Project) {
    for (name, body) in [("a.txt", "alpha"), ("b.txt", "beta"), ("c/d.txt", "delta")] {
        p.file(&format!("media/{name}"), body);
    }
    let ok = std::process::Command::new("sh")
        .arg("-c")
        .arg("cd media && tar -cf ../backup.tar . && find . -type f | sort | xargs sha256sum > ../expected.sha256")
        .current_dir(p.path())
        .status()
        .unwrap();
    assert!(ok.success());
}

fn report(p: &Project) -> serde_json::Value {
    let runs = p.join(".cairn/runs");
    let mut dirs: Vec<_> = std::fs::read_dir(runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let dir = dirs.last().unwrap();
    assert!(dir.join("report.md").exists(), "report.md written");
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn a_rehearsal_restores_into_scratch_verifies_cleans_up_and_reports() {
    let p = Project::new();
    site(&p);
    p.runbook("restore-files", RESTORE);
    p.cairn(&["rehearse", "restore-files"])
        .success()
        .stdout_has("every check passed")
        .stdout_has("recovery time");
    let r = report(&p);
    assert_eq!(r["passed"], true, "{r:#}");
    assert_eq!(r["runbook"], "restore-files");
    assert_eq!(r["version"], 3);
    assert!(r["recovery_time_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(r["backup"]["created"], "2026-11-20T03:00:00Z");
    assert!(r["backup"]["age_seconds"].as_i64().unwrap() > 0);
    let checks = r["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|c| c["passed"] == true));
    assert_eq!(r["params"]["dest"], "scratch");
    // The overrides were used: the live destination was never touched, and
    // the scratch one was cleaned up.
    assert!(!p.join("live").exists());
    assert!(!p.join("scratch").exists());
}

#[test]
fn a_failed_check_fails_the_rehearsal_and_the_report_says_which() {
    let p = Project::new();
    site(&p);
    // The backup lost a file.
    let ok = std::process::Command::new("sh")
        .arg("-c")
        .arg("cd media && rm b.txt && tar -cf ../backup.tar .")
        .current_dir(p.path())
        .status()
        .unwrap();
    assert!(ok.success());
    p.runbook("restore-files", RESTORE);
    p.cairn(&["rehearse", "restore-files"])
        .code(1)
        .stdout_has("checks failed");
    let r = report(&p);
    assert_eq!(r["passed"], false);
    let failed: Vec<_> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert!(failed.contains(&"file-count".to_string()), "{failed:?}");
    assert!(
        !p.join("scratch").exists(),
        "cleanup ran after the failed check"
    );
}

/// A check whose `when` is false does not apply: it is reported as
/// skipped and fails nothing (the stock dr-rehearsal's `files-match`
/// without media).
#[test]
fn a_check_skipped_by_its_when_fails_nothing() {
    let p = Project::new();
    p.runbook(
        "skips",
        "runbook skips version=1 {\n    param media default=\"\"\n    step a uses=exec { run \"true\"; }\n    rehearsal {\n        verify {\n            step data uses=exec { run \"true\"; }\n            step files uses=exec when=\"{{ params.media }}\" { run \"false\"; }\n        }\n    }\n}\n",
    );
    p.cairn(&["rehearse", "skips"])
        .success()
        .stdout_has("every check passed");
    let r = report(&p);
    assert_eq!(r["passed"], true, "{r:#}");
    let files = &r["checks"][1];
    assert_eq!(files["id"], "files");
    assert_eq!(files["status"], "skipped");
    assert_eq!(files["passed"], serde_json::Value::Null);
    // Applied, the same check fails the rehearsal.
    p.cairn(&["rehearse", "skips", "-p", "media=yes"])
        .code(1)
        .stdout_has("checks failed");
}

#[test]
fn a_runbook_without_a_rehearsal_block_cannot_be_rehearsed() {
    let p = Project::new();
    p.runbook(
        "plain",
        "runbook plain version=1 {\n    step a uses=exec { run \"true\"; }\n}\n",
    );
    p.cairn(&["rehearse", "plain"])
        .code(2)
        .stderr_has("no `rehearsal` block");
}

/// The example project runbook `examples/site-rehearsal`: the stock
/// dr-rehearsal plus the lab's fixture site, started with gunicorn against
/// the restored scratch database, whose `/health/` must report as many
/// notes as the live database holds.
const SITE_REHEARSAL: &str =
    include_str!("../../../examples/site-rehearsal/runbooks/dr-rehearsal.kdl");

/// What the site rehearsal needs of the lab: its databases, media, the
/// fixture site's code and the venv's gunicorn.
struct SiteLab {
    lab: crate::backup::Lab,
    site_dir: String,
    gunicorn: String,
}

fn site_lab() -> Option<SiteLab> {
    let lab = crate::backup::lab()?;
    let get = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    match (get("CAIRN_LAB_SITE_DIR"), get("CAIRN_LAB_VENV")) {
        (Some(site_dir), Some(venv)) => Some(SiteLab {
            lab,
            site_dir,
            gunicorn: format!("{venv}/bin/gunicorn"),
        }),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but the lab's site is not set up: eval \"$(tests/lab/up)\"")
        }
        _ => {
            eprintln!("skipped: no lab site (eval \"$(tests/lab/up)\" to run this test)");
            None
        }
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Backs the lab up into the project's `local` storage, then rehearses
/// the site runbook with `extra` params; the run and its report.
fn rehearse_site(
    p: &Project,
    s: &SiteLab,
    db: &str,
    port: u16,
    extra: &[String],
) -> (crate::Run, serde_json::Value) {
    rehearse_site_at(p, s, (&s.lab.primary, &s.lab.new_admin), db, port, extra)
}

/// The same, with the live database's and the restore server's URLs.
fn rehearse_site_at(
    p: &Project,
    s: &SiteLab,
    (source, server): (&str, &str),
    db: &str,
    port: u16,
    extra: &[String],
) -> (crate::Run, serde_json::Value) {
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={}", s.lab.primary),
        "-p",
        &format!("media-dir={}", s.lab.media),
    ])
    .success();
    p.runbook("dr-rehearsal", SITE_REHEARSAL);
    let mut args: Vec<String> = [
        "rehearse",
        "dr-rehearsal",
        "-p",
        &format!("source-url={source}"),
        "-p",
        &format!("server-url={server}"),
        "-p",
        &format!("database={db}"),
        "-p",
        "owner=cairn",
        "-p",
        &format!("media-dir={}", s.lab.media),
        "-p",
        &format!("restore-dir={}", p.join("scratch-media").display()),
        "-p",
        &format!("site-dir={}", s.site_dir),
        "-p",
        &format!("gunicorn={}", s.gunicorn),
        "-p",
        &format!("site-port={port}"),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend_from_slice(extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = p.cairn(&args);
    (run, report(p))
}

fn check<'a>(r: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check `{id}`: {r:#}"))
}

/// Nothing answers on the port, the pid file is gone, the scratch
/// database was dropped.
fn site_cleaned_up(p: &Project, s: &SiteLab, db: &str, port: u16) {
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the rehearsal site still listens on {port}"
    );
    assert!(!p.join(".cairn/rehearsal-site.pid").exists());
    assert!(
        !crate::backup::databases(&s.lab.new_admin).contains(&db.to_string()),
        "scratch database dropped"
    );
}

#[test]
fn a_rehearsal_starts_the_site_on_the_restored_database_and_checks_its_health() {
    let Some(s) = site_lab() else { return };
    let p = Project::new();
    let db = crate::backup::unique("site_rehearsal");
    let _scratch = crate::backup::Scratch {
        admin: &s.lab.new_admin,
        names: vec![db.clone()],
    };
    let port = free_port();
    let (run, r) = rehearse_site(&p, &s, &db, port, &[]);
    run.success().stdout_has("every check passed");
    assert_eq!(r["passed"], true, "{r:#}");
    let ids: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["rows-match", "files-match", "live-rows", "site-health"]
    );
    let live = crate::backup::psql(&s.lab.primary, "select count(*) from notes_note");
    assert_eq!(check(&r, "live-rows")["outputs"]["stdout"], live.as_str());
    let health = check(&r, "site-health");
    assert_eq!(health["passed"], true, "{health:#}");
    assert_eq!(health["outputs"]["status"], 200);
    let body = health["outputs"]["body"].as_str().unwrap();
    assert!(
        body.contains("\"db\": \"ok\"") && body.contains(&format!("\"notes\": {live}}}")),
        "{body}"
    );
    // Starting the site is part of the measured recovery.
    assert!(
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| st["id"] == "site-start" && st["phase"] == "main" && st["status"] == "ok"),
        "{r:#}"
    );
    site_cleaned_up(&p, &s, &db, port);
}

/// The same check fails when the site is pointed at an empty database: it
/// looks at what the site serves, not at the restore's word.
#[test]
fn the_site_health_check_fails_on_an_empty_database() {
    let Some(s) = site_lab() else { return };
    let p = Project::new();
    let db = crate::backup::unique("site_rehearsal_neg");
    let empty = crate::backup::unique("site_empty");
    let _scratch = crate::backup::Scratch {
        admin: &s.lab.new_admin,
        names: vec![db.clone(), empty.clone()],
    };
    crate::backup::psql(&s.lab.new_admin, &format!("create database \"{empty}\""));
    let port = free_port();
    let (run, r) = rehearse_site(
        &p,
        &s,
        &db,
        port,
        &[
            "-p".into(),
            format!(
                "site-database-url={}",
                crate::backup::with_db(&s.lab.new_admin, &empty)
            ),
        ],
    );
    run.code(1).stdout_has("checks failed");
    assert_eq!(r["passed"], false, "{r:#}");
    assert_eq!(
        check(&r, "rows-match")["passed"],
        true,
        "the restore is fine"
    );
    let health = check(&r, "site-health");
    assert_eq!(health["passed"], false, "{health:#}");
    assert!(
        health["error"].as_str().unwrap().contains("500"),
        "{health:#}"
    );
    site_cleaned_up(&p, &s, &db, port);
}

/// `postgresql://u:PW@h/db` → (`postgresql://u@h/db`, `PW`).
fn without_password(url: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (userinfo, host) = rest.split_once('@').unwrap();
    let (user, pw) = userinfo.split_once(':').unwrap();
    (format!("{scheme}://{user}@{host}"), pw.to_string())
}

/// The site rehearsal as documented for databases whose passwords are
/// secrets (`password-secret`, `source-password-secret`), not parts of the
/// URLs: every step that connects (the restore, the site, the live row
/// count, the comparison, the cleanup) gets its password.
#[test]
fn the_site_rehearsal_runs_with_password_protected_databases() {
    let Some(s) = site_lab() else { return };
    let (source, source_pw) = without_password(&s.lab.primary);
    let (server, server_pw) = without_password(&s.lab.new_admin);
    let p = Project::with_config("project site-pw {\n    secrets { file \"secrets.json\"; }\n}\n");
    p.file(
        "secrets.json",
        &serde_json::json!({ "site_pw": source_pw, "server_pw": server_pw }).to_string(),
    );
    let db = crate::backup::unique("site_rehearsal_pw");
    let _scratch = crate::backup::Scratch {
        admin: &s.lab.new_admin,
        names: vec![db.clone()],
    };
    let port = free_port();
    let (run, r) = rehearse_site_at(
        &p,
        &s,
        (&source, &server),
        &db,
        port,
        &[
            "-p".into(),
            "password-secret=server_pw".into(),
            "-p".into(),
            "source-password-secret=site_pw".into(),
        ],
    );
    run.success().stdout_has("every check passed");
    assert_eq!(r["passed"], true, "{r:#}");
    assert_eq!(check(&r, "site-health")["passed"], true, "{r:#}");
    assert!(!p.join("scratch-media").exists(), "scratch media removed");
    site_cleaned_up(&p, &s, &db, port);
}
