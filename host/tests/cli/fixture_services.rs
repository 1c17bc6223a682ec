//! Private site processes for tests that stop, start and put pages up: a
//! supervisord of the test's own (config, socket, pidfile and logs in a
//! temp dir) running the lab's fixture site under gunicorn on a free port,
//! two "worker" processes (a group, `worker:*`), and an nginx of its own on
//! another free port proxying to gunicorn with the shipped maintenance
//! snippet. Never the lab's supervisord, nginx or maintenance file.
//!
//! The site's code is a temporary `git clone` of the lab's fixture site; its
//! environment is the lab site's (so gunicorn reads the lab's database; the
//! tests only read). Every process the fixture starts is recorded (the two
//! daemons, and their descendants when it stops them) and ended on drop,
//! exactly those, within bounded waits.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) use crate::fixture_procs::{alive, stop_tree};

/// What the fixture needs of the lab.
pub struct ServicesLab {
    pub site_dir: String,
    pub site_env: String,
    pub venv: String,
}

/// The lab's site, or `None` (with a note) when the lab is not up.
pub fn services_lab() -> Option<ServicesLab> {
    let get = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    match (
        get("CAIRN_LAB_SITE_DIR"),
        get("CAIRN_LAB_SITE_ENV"),
        get("CAIRN_LAB_VENV"),
    ) {
        (Some(site_dir), Some(site_env), Some(venv)) => Some(ServicesLab {
            site_dir,
            site_env,
            venv,
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
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A supervisor program besides `web` and `worker:*`, not started with
/// supervisord (`autostart=false`).
pub struct ExtraProgram<'a> {
    pub name: &'a str,
    pub command: &'a str,
}

/// How a site differs from the lab's: environment variables replaced or
/// added, and whether `web` starts with supervisord.
/// By default the site is a fresh clone of the lab's; `site_dir` runs a
/// checkout of the test's own (a `ScratchSite`'s) instead.
#[derive(Default)]
pub struct SiteVariant<'a> {
    pub env: Vec<(&'a str, String)>,
    pub web_stopped: bool,
    pub site_dir: Option<PathBuf>,
}

pub struct Services {
    dir: tempfile::TempDir,
    pub site_dir: PathBuf,
    pub supervisor_conf: PathBuf,
    pub gunicorn_port: u16,
    pub nginx_port: u16,
    /// The flag file nginx checks (`maintenance.html` in its own directory).
    pub maintenance_file: PathBuf,
    supervisord: Option<Child>,
    nginx: Option<Child>,
}

impl Services {
    /// Starts the site; panics (after cleaning up) when it does not come up
    /// within a minute.
    pub fn start(lab: &ServicesLab, extra: &[ExtraProgram]) -> Self {
        Self::start_variant(lab, extra, &SiteVariant::default())
    }

    /// The site with `variant`'s environment; with `web_stopped`, only the
    /// workers and nginx run (nginx answers 502 until `web` is started).
    pub fn start_variant(lab: &ServicesLab, extra: &[ExtraProgram], variant: &SiteVariant) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("cairn-svc-")
            .tempdir()
            .expect("tempdir");
        let site_dir = variant.site_dir.clone().unwrap_or_else(|| {
            let site_dir = dir.path().join("site");
            let out = Command::new("git")
                .args(["clone", "-q", &lab.site_dir])
                .arg(&site_dir)
                .output()
                .expect("git clone");
            assert!(out.status.success(), "git clone: {out:?}");
            site_dir
        });
        let maint_dir = dir.path().join("maintenance");
        std::fs::create_dir_all(&maint_dir).unwrap();
        let mut s = Services {
            supervisor_conf: dir.path().join("supervisord.conf"),
            maintenance_file: maint_dir.join("maintenance.html"),
            site_dir,
            gunicorn_port: free_port(),
            nginx_port: free_port(),
            supervisord: None,
            nginx: None,
            dir,
        };
        s.write_supervisor_conf(lab, extra, variant);
        s.write_nginx_conf();
        let supervisord = {
            let venv = Path::new(&lab.venv).join("bin/supervisord");
            if venv.exists() {
                venv.into_os_string()
            } else {
                "supervisord".into()
            }
        };
        s.supervisord = Some(
            Command::new(supervisord)
                .args(["-n", "-c"])
                .arg(&s.supervisor_conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start supervisord"),
        );
        s.nginx = Some(
            Command::new("nginx")
                .arg("-c")
                .arg(s.dir.path().join("nginx.conf"))
                .arg("-p")
                .arg(s.dir.path())
                .arg("-e")
                .arg(s.dir.path().join("nginx.error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start nginx"),
        );
        let front = format!("{}/health/", s.nginx_url());
        if variant.web_stopped {
            s.wait_for("nginx", &front, |st| st == 502);
            s.wait_running(&["worker:worker_00", "worker:worker_01"]);
            return s;
        }
        let health = format!("http://127.0.0.1:{}/health/", s.gunicorn_port);
        s.wait_for("gunicorn", &health, |st| st == 200);
        s.wait_for("nginx", &front, |st| st == 200);
        s.wait_running(&["web", "worker:worker_00", "worker:worker_01"]);
        s
    }

    pub fn nginx_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.nginx_port)
    }

    pub fn gunicorn_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.gunicorn_port)
    }

    fn wait_for(&self, what: &str, url: &str, ok: impl Fn(u16) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((status, _)) = http_get(url)
                && ok(status)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not answer {url} within 60s; supervisorctl status:\n{}\nlogs in {}",
                self.supervisorctl(&["status"]),
                self.dir.path().display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Until supervisor says each program is `RUNNING` (past `startsecs`).
    fn wait_running(&self, names: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !names.iter().all(|n| self.program(n).0 == "RUNNING") {
            assert!(
                Instant::now() < deadline,
                "programs not RUNNING within 30s:\n{}",
                self.supervisorctl(&["status"])
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `supervisorctl -c CONF ARGS...`: its stdout.
    pub fn supervisorctl(&self, args: &[&str]) -> String {
        let out = Command::new("supervisorctl")
            .arg("-c")
            .arg(&self.supervisor_conf)
            .args(args)
            .output()
            .expect("supervisorctl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A program's state and pid, as supervisorctl reports them.
    pub fn program(&self, name: &str) -> (String, Option<u32>) {
        let text = self.supervisorctl(&["status", name]);
        let mut words = text.split_whitespace();
        words.next();
        let state = words.next().unwrap_or("").to_string();
        let pid = text
            .split("pid ")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|p| p.trim().parse().ok());
        (state, pid)
    }

    fn write_supervisor_conf(
        &self,
        lab: &ServicesLab,
        extra: &[ExtraProgram],
        variant: &SiteVariant,
    ) {
        let env_text = std::fs::read_to_string(&lab.site_env).expect("site env");
        let mut env = Vec::new();
        let mut wsgi = "labsite.wsgi".to_string();
        for line in env_text.lines().filter(|l| !l.starts_with('#')) {
            if let Some((k, v)) = line.split_once('=') {
                if variant.env.iter().any(|(name, _)| *name == k) {
                    continue;
                }
                if k == "DJANGO_SETTINGS_MODULE" {
                    wsgi = v.replace(".settings", ".wsgi");
                }
                env.push(format!("{k}=\"{}\"", v.replace('"', "")));
            }
        }
        env.extend(variant.env.iter().map(|(k, v)| format!("{k}=\"{v}\"")));
        let env = env.join(",");
        let web_autostart = !variant.web_stopped;
        let d = self.dir.path().display();
        let site = self.site_dir.display();
        let venv = &lab.venv;
        let port = self.gunicorn_port;
        let mut conf = format!(
            "[unix_http_server]\nfile={d}/supervisor.sock\nchmod=0700\n\n\
             [supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\n\
             childlogdir={d}\nidentifier=cairn-test\n\n\
             [rpcinterface:supervisor]\n\
             supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
             [supervisorctl]\nserverurl=unix://{d}/supervisor.sock\n\n\
             [program:web]\n\
             command={venv}/bin/gunicorn {wsgi}:application --bind 127.0.0.1:{port} --workers 1 --timeout 30 --graceful-timeout 2\n\
             directory={site}\nenvironment={env}\nautostart={web_autostart}\nautorestart=true\n\
             startsecs=1\nstopwaitsecs=10\nstopasgroup=true\nkillasgroup=true\n\
             redirect_stderr=true\nstdout_logfile={d}/web.log\n\n\
             [program:worker]\n\
             command={venv}/bin/python -c \"import time; [time.sleep(1) for _ in iter(int, 1)]\"\n\
             process_name=%(program_name)s_%(process_num)02d\nnumprocs=2\n\
             directory={site}\nautostart=true\nautorestart=true\nstartsecs=1\n\
             stopwaitsecs=5\nstopasgroup=true\nkillasgroup=true\n\
             redirect_stderr=true\nstdout_logfile={d}/%(program_name)s_%(process_num)02d.log\n"
        );
        for p in extra {
            conf.push_str(&format!(
                "\n[program:{name}]\ncommand={command}\ndirectory={site}\n\
                 autostart=false\nautorestart=false\nstartsecs=1\nstartretries=1\n\
                 redirect_stderr=true\nstdout_logfile={d}/{name}.log\n",
                name = p.name,
                command = p.command,
            ));
        }
        std::fs::write(&self.supervisor_conf, conf).unwrap();
    }

    fn write_nginx_conf(&self) {
        let d = self.dir.path().display();
        let snippet = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/maintenance/nginx-maintenance.conf")
            .canonicalize()
            .expect("the shipped nginx snippet");
        let conf = format!(
            "daemon off;\nmaster_process on;\nuser root;\nworker_processes 1;\n\
             pid {d}/nginx.pid;\nerror_log {d}/nginx.error.log warn;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
               default_type text/html;\n\
               access_log {d}/nginx.access.log;\n\
               client_body_temp_path {d}/nginx-tmp/body;\n\
               proxy_temp_path {d}/nginx-tmp/proxy;\n\
               fastcgi_temp_path {d}/nginx-tmp/fastcgi;\n\
               uwsgi_temp_path {d}/nginx-tmp/uwsgi;\n\
               scgi_temp_path {d}/nginx-tmp/scgi;\n\
               server {{\n\
                 listen 127.0.0.1:{port};\n\
                 set $maintenance_root {maint};\n\
                 include {snippet};\n\
                 location / {{ proxy_pass http://127.0.0.1:{gport}; proxy_set_header Host 127.0.0.1; }}\n\
               }}\n\
             }}\n",
            port = self.nginx_port,
            gport = self.gunicorn_port,
            maint = self.maintenance_file.parent().unwrap().display(),
            snippet = snippet.display(),
        );
        std::fs::create_dir_all(self.dir.path().join("nginx-tmp")).unwrap();
        std::fs::write(self.dir.path().join("nginx.conf"), conf).unwrap();
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for child in [self.nginx.take(), self.supervisord.take()]
            .into_iter()
            .flatten()
        {
            stop_tree(child);
        }
    }
}

/// A plain HTTP/1.0 GET on 127.0.0.1: the status and the body. An error
/// when nothing answers (connection refused).
pub fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET /{path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
