//! `deploy-update` with `service-backend compose`: the site of
//! `deploy_update` (its clone, database, nginx; supervisord runs only the
//! workers) whose web process, gunicorn, runs as the service `web` of a
//! docker compose project of the test's own, on the lab's dockerd, through
//! `docker-compose` (Debian's, 1.29: `tests/lab/up` installs it).
//!
//! The container is the lab's busybox image with read-only bind mounts of
//! what gunicorn needs of this machine (`/usr`, the lab's virtualenv, the
//! site's checkout), host networking on 127.0.0.1, and a health check
//! asking `/health/`. The runbook stops it, deploys, starts it again and
//! waits until compose says it is healthy. The project is removed at the
//! end (`docker-compose down`: its own containers only).
//!
//! Needs `CAIRN_LAB_DOCKER_*` and `docker-compose`; without them the test
//! says why and passes, except under `CI=true` unless the lab recorded that
//! dockerd (`run/docker.unavailable`) or docker-compose
//! (`run/compose.unavailable`) cannot run on this machine.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::deploy_update::{Deploy, Poller};
use crate::fixture_services::http_get;

struct ComposeLab {
    docker_host: String,
    image: String,
}

/// The lab's engine and image, and docker-compose; `None` after saying why.
fn compose_lab() -> Option<ComposeLab> {
    let get = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    let state = get("CAIRN_LAB_STATE").map(PathBuf::from);
    let note = |f: &str| {
        state
            .as_ref()
            .and_then(|s| std::fs::read_to_string(s.join("run").join(f)).ok())
    };
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let why = match (get("CAIRN_LAB_DOCKER_HOST"), get("CAIRN_LAB_DOCKER_IMAGE")) {
        (Some(docker_host), Some(image)) => {
            let runs = Command::new("docker-compose")
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success());
            if runs {
                return Some(ComposeLab { docker_host, image });
            }
            match note("compose.unavailable") {
                Some(n) => return skip(&format!("docker-compose cannot run here: {}", n.trim())),
                None => "docker-compose is not installed (tests/lab/up installs Debian's `docker-compose`)".to_string(),
            }
        }
        _ => match note("docker.unavailable") {
            Some(n) => return skip(&format!("no dockerd in the lab: {}", n.trim())),
            None => "needs the lab's dockerd: CAIRN_LAB_DOCKER_HOST, CAIRN_LAB_DOCKER_IMAGE not set (eval \"$(tests/lab/up)\")".to_string(),
        },
    };
    if ci {
        panic!("{why}; under CI=true this is a failure");
    }
    skip(&why)
}

fn skip(why: &str) -> Option<ComposeLab> {
    eprintln!("skipped: {why}");
    None
}

/// The compose project running gunicorn as `web`; `down` on drop.
struct ComposeWeb {
    dir: tempfile::TempDir,
    project: String,
    docker_host: String,
}

impl ComposeWeb {
    fn start(lab: &ComposeLab, d: &Deploy) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("cairn-compose-")
            .tempdir()
            .expect("tempdir");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let project = format!("cairndeploy{}x{nanos}", std::process::id());
        let venv = std::env::var("CAIRN_LAB_VENV").expect("CAIRN_LAB_VENV");
        let site = d.sp.site.dir();
        let port = d.services.gunicorn_port;
        // The lab site's environment, with the test site's database and
        // static root (as supervisord gives the workers).
        let mut env = serde_json::Map::new();
        let site_env = std::env::var("CAIRN_LAB_SITE_ENV").expect("CAIRN_LAB_SITE_ENV");
        for line in std::fs::read_to_string(site_env).unwrap().lines() {
            if let Some((k, v)) = line.split_once('=')
                && !line.starts_with('#')
            {
                env.insert(k.into(), json!(v));
            }
        }
        env.insert("DATABASE_URL".into(), json!(d.sp.site.database_url));
        env.insert(
            "STATIC_ROOT".into(),
            json!(site.join("staticfiles").display().to_string()),
        );
        env.insert("PYTHONDONTWRITEBYTECODE".into(), json!("1"));
        let ro = |host: &str, inside: &str| format!("{host}:{inside}:ro");
        let site_s = site.display().to_string();
        let probe = format!(
            "import urllib.request as u; u.urlopen('http://127.0.0.1:{port}/health/', timeout=3)"
        );
        // JSON is YAML: compose reads it as its file.
        let file = json!({
            "version": "2.4",
            "services": { "web": {
                "image": lab.image,
                "network_mode": "host",
                "working_dir": site_s,
                "environment": env,
                "command": [format!("{venv}/bin/gunicorn"), "labsite.wsgi:application",
                    "--bind", format!("127.0.0.1:{port}"), "--workers", "1",
                    "--timeout", "30", "--graceful-timeout", "2"],
                "volumes": [ro("/usr", "/usr"), ro("/usr/lib", "/lib"), ro("/usr/lib64", "/lib64"),
                    ro(&venv, &venv), ro(&site_s, &site_s)],
                "healthcheck": { "test": ["CMD", format!("{venv}/bin/python"), "-c", probe],
                    "interval": "1s", "timeout": "5s", "retries": 60 },
                "stop_grace_period": "5s",
            } },
        });
        std::fs::write(dir.path().join("compose.yml"), file.to_string()).unwrap();
        let c = ComposeWeb {
            dir,
            project,
            docker_host: lab.docker_host.clone(),
        };
        let up = c.compose(&["up", "-d", "web"]);
        assert!(up.0, "docker-compose up: {}", up.1);
        c.wait_healthy();
        c
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("compose.yml")
    }

    /// `docker-compose -f FILE -p PROJECT ARGS...`: success, output.
    fn compose(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new("docker-compose")
            .env("DOCKER_HOST", &self.docker_host)
            .arg("-f")
            .arg(self.file())
            .args(["-p", &self.project])
            .args(args)
            .output()
            .expect("run docker-compose");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// The web container's id.
    fn container(&self) -> String {
        let (ok, out) = self.compose(&["ps", "-q", "web"]);
        assert!(ok, "{out}");
        out.trim().to_string()
    }

    /// `docker inspect -f FORMAT` of the web container.
    fn inspect(&self, format: &str) -> String {
        let out = Command::new("docker")
            .args(["-H", &self.docker_host, "inspect", "-f", format])
            .arg(self.container())
            .output()
            .expect("run docker");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.inspect("{{.State.Health.Status}}") != "healthy" {
            assert!(
                Instant::now() < deadline,
                "the web container is not healthy after 90s: {}",
                self.compose(&["logs", "--tail", "20", "web"]).1
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for ComposeWeb {
    fn drop(&mut self) {
        let (ok, out) = self.compose(&["down", "-t", "2"]);
        if !ok {
            eprintln!("docker-compose down of {}: {out}", self.project);
        }
    }
}

#[test]
fn an_update_stops_and_starts_web_as_a_compose_service_until_healthy() {
    let Some(lab) = compose_lab() else { return };
    let Some(d) = Deploy::new_variant(true) else {
        return;
    };
    let web = ComposeWeb::start(&lab, &d);
    let site = &d.sp.site;
    let target = d.target_with_flag(&[]);
    let mut params: Vec<String> = d
        .params()
        .into_iter()
        .filter(|p| {
            !["service-config=", "web=", "workers="]
                .iter()
                .any(|k| p.starts_with(k))
        })
        .collect();
    params.extend([
        "service-backend=compose".to_string(),
        format!("compose-file={}", web.file().display()),
        format!("compose-project={}", web.project),
        "compose-command=docker-compose".to_string(),
        format!("docker-host={}", lab.docker_host),
        "web=web".to_string(),
        "workers=".to_string(),
        format!("revision={target}"),
    ]);
    let started_before = web.inspect("{{.State.StartedAt}}");

    let poller = Poller::start_for(
        format!("{}/health/", d.services.nginx_url()),
        crate::deploy_update::MARKER,
    );
    let r = d.run_params(&params, &[]);
    let (ok, page, other) = poller.finish();
    r.success();

    assert_eq!(site.head(), target);
    assert_eq!(d.applied(), ["0001_initial", "0002_note_flag"]);
    assert_ne!(
        web.inspect("{{.State.StartedAt}}"),
        started_before,
        "the web container was not stopped and started"
    );
    assert_eq!(web.inspect("{{.State.Health.Status}}"), "healthy");
    let stop = crate::backup::outputs(&d.sp.p, "stop");
    assert_eq!(stop["was-running"], json!(["web"]));
    let start = crate::backup::outputs(&d.sp.p, "start");
    assert_eq!(start["programs"][0]["state"], "running (healthy)");
    assert_eq!(start["backend"], "compose");
    let (status, body) = http_get(&format!("{}/health/", d.services.nginx_url())).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(!d.services.maintenance_file.exists());
    assert!(
        other.is_empty(),
        "answers other than 200 or the maintenance page: {other:?} ({ok} x 200, {page} x page)"
    );
    assert!(
        page > 0,
        "the client never saw the maintenance page ({ok} x 200)"
    );
    eprintln!("compose: during the update {ok} x 200, {page} x maintenance page");
    d.sp.no_password_in_dot_cairn();
}
