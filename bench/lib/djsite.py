"""What bench/deploy-window needs: a private copy of the lab's Django site
with its own database and its own services, and a client that polls it.

- `Site`: a `git clone` of the lab's fixture site (`$CAIRN_LAB_SITE_DIR`,
  only read) in a temporary directory, a database of its own on the lab's
  primary PostgreSQL (a unique name; dropped at the end only when its name
  and OID are still the ones created), a private virtualenv that sees the
  lab venv's packages (Django, gunicorn, psycopg) through a `.pth` file and
  installs offline (`pip.conf`: no index), and two commits: `base` (a
  `requirements.txt` the venv already satisfies) and `target` (a migration
  adding a column and a new static file).
- `Services`: a supervisord of its own (config, socket, logs in the temp
  directory) running `web` (gunicorn on a free port) and `worker:*` (two
  sleeping python processes) in the clone, and an nginx of its own on
  another free port proxying to gunicorn with the shipped maintenance
  snippet (`examples/maintenance/nginx-maintenance.conf`). The two daemons
  are recorded when started; at the end each gets SIGTERM and whatever of
  its recorded descendants is left gets SIGKILL: exactly those processes.
- `Poller`: a bounded client on 127.0.0.1 that GETs a URL every 10 ms and
  records (time, status, is-the-maintenance-page).

Nothing of the lab's own site, supervisor, nginx or maintenance file is
touched.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import benchlib as b
from pglab import psql, with_db

MARKER = "<!-- cairn:maintenance"

ADD_FLAG = '''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [
        migrations.AddField("note", "flag", models.BooleanField(default=False)),
    ]
'''


def lab_env() -> dict[str, str]:
    need = ["CAIRN_LAB_SITE_DIR", "CAIRN_LAB_PG_PRIMARY", "CAIRN_LAB_PG_PRIMARY_ADMIN",
            "CAIRN_LAB_PYTHON", "CAIRN_LAB_VENV"]
    missing = [n for n in need if not os.environ.get(n)]
    if missing:
        raise SystemExit(f"the lab's site is not set up (missing {' '.join(missing)}): "
                         'eval "$(tests/lab/up)" first')
    return {n: os.environ[n] for n in need}


def run(cmd: list[str], **kw) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise SystemExit(f"`{' '.join(cmd)}` exited {p.returncode}:\n{p.stderr[-2000:]}")
    return p.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    """A plain HTTP/1.0 GET on 127.0.0.1: status and body; status 0 when
    nothing answers."""
    rest = url.removeprefix("http://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    try:
        with socket.create_connection((host, int(port or 80)), timeout=timeout) as s:
            s.sendall(f"GET /{path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                      .encode())
            raw = b""
            while chunk := s.recv(65536):
                raw += chunk
    except OSError:
        return 0, ""
    text = raw.decode(errors="replace")
    head, _, body = text.partition("\r\n\r\n")
    try:
        status = int(head.split()[1])
    except (IndexError, ValueError):
        status = 0
    return status, body


class Site:
    def __init__(self, lab: dict[str, str]) -> None:
        self.lab = lab
        self.tmp = Path(tempfile.mkdtemp(prefix="cairn-bench-deploy-"))
        self.dir = self.tmp / "app"
        self.database = f"cairn_bench_deploy_{secrets.token_hex(4)}"
        self.admin = lab["CAIRN_LAB_PG_PRIMARY_ADMIN"]
        self.oid = ""
        self.database_url = with_db(lab["CAIRN_LAB_PG_PRIMARY"], self.database)
        self.venv = self.tmp / "venv"

    def make(self) -> None:
        run(["git", "clone", "--quiet", "--no-hardlinks", self.lab["CAIRN_LAB_SITE_DIR"],
             str(self.dir)])
        for k, v in [("user.name", "cairn bench"), ("user.email", "bench@example.test")]:
            self.git("config", k, v)
        psql(self.admin, f'create database "{self.database}" owner cairn')
        self.oid = psql(self.admin,
                        f"select oid from pg_database where datname = '{self.database}'")
        if not self.oid:
            raise SystemExit(f"no OID for the database {self.database} just created")
        run([self.lab["CAIRN_LAB_PYTHON"], "-m", "venv", str(self.venv)])
        purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        lab_packages = run([self.lab["CAIRN_LAB_PYTHON"], "-c", purelib])
        own = Path(run([str(self.venv / "bin/python"), "-c", purelib]))
        (own / "cairn-lab.pth").write_text(lab_packages + "\n")
        (self.venv / "pip.conf").write_text(
            "[global]\nno-index = true\ndisable-pip-version-check = true\n")
        self.base = self.commit("requirements", {"requirements.txt": "Django>=4.2\n"})
        self.target = self.commit("flag column, a stylesheet", {
            "notes/migrations/0002_note_flag.py": ADD_FLAG,
            "notes/static/notes/deploy.css": "body { color: teal; }\n",
        })
        self.git("checkout", "--quiet", "--detach", self.base)
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")

    def env(self) -> dict[str, str]:
        """What `manage.py` and gunicorn get: the settings module and the
        database; everything else is the settings' default (STATIC_ROOT is
        `staticfiles/` in the checkout)."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("CAIRN_LAB_", "DJANGO_", "STATIC_", "MEDIA_"))}
        env.update({"DJANGO_SETTINGS_MODULE": "labsite.settings",
                    "DATABASE_URL": self.database_url, "PYTHONDONTWRITEBYTECODE": "1"})
        env.pop("PIP_FIND_LINKS", None)
        return env

    def git(self, *args: str) -> str:
        return run(["git", "-C", str(self.dir), *args])

    def manage(self, *args: str) -> str:
        return run([str(self.venv / "bin/python"), "manage.py", *args], cwd=self.dir,
                   env=self.env())

    def commit(self, message: str, files: dict[str, str]) -> str:
        for rel, text in files.items():
            p = self.dir / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
            self.git("add", "--", rel)
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")

    def applied(self) -> list[str]:
        out = psql(self.database_url,
                   "select name from django_migrations where app = 'notes' order by id")
        return out.splitlines()

    def back_to_base(self) -> None:
        """After a deploy of `target`: its migration unapplied (with its
        code), the base checked out, its static file removed."""
        if self.git("rev-parse", "HEAD") == self.target:
            self.manage("migrate", "notes", "0001_initial", "--noinput")
        self.git("checkout", "--quiet", "--detach", self.base)
        (self.dir / "staticfiles/notes/deploy.css").unlink(missing_ok=True)

    def drop(self) -> None:
        """Drops the database only when its name still has the OID created."""
        if self.oid:
            now = psql(self.admin,
                       f"select oid from pg_database where datname = '{self.database}'")
            if now == self.oid:
                psql(self.admin, f'drop database if exists "{self.database}" with (force)')
        b.rmtree(self.tmp)


class Services:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.dir = site.tmp / "svc"
        self.dir.mkdir()
        self.conf = self.dir / "supervisord.conf"
        (self.dir / "maintenance").mkdir()
        self.maintenance_file = self.dir / "maintenance" / "maintenance.html"
        self.gunicorn_port = free_port()
        self.nginx_port = free_port()
        self.daemons: list[subprocess.Popen] = []

    @property
    def front(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def app(self) -> str:
        return f"http://127.0.0.1:{self.gunicorn_port}"

    def start(self) -> None:
        venv = self.site.lab["CAIRN_LAB_VENV"]
        d, site = self.dir, self.site.dir
        env = ",".join(f'{k}="{v}"' for k, v in self.site.env().items()
                       if k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "SITE_SERVER_NAME",
                                 "MEDIA_ROOT"))
        self.conf.write_text(
            f"[unix_http_server]\nfile={d}/supervisor.sock\nchmod=0700\n\n"
            f"[supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\n"
            f"childlogdir={d}\nidentifier=cairn-bench\n\n"
            "[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
            f"[supervisorctl]\nserverurl=unix://{d}/supervisor.sock\n\n"
            "[program:web]\n"
            f"command={venv}/bin/gunicorn labsite.wsgi:application --bind "
            f"127.0.0.1:{self.gunicorn_port} --workers 1 --timeout 30 --graceful-timeout 2\n"
            f"directory={site}\nenvironment={env}\nautostart=true\nautorestart=true\n"
            "startsecs=1\nstopwaitsecs=10\nstopasgroup=true\nkillasgroup=true\n"
            f"redirect_stderr=true\nstdout_logfile={d}/web.log\n\n"
            "[program:worker]\n"
            f'command={venv}/bin/python -c "import time; [time.sleep(1) for _ in iter(int, 1)]"\n'
            "process_name=%(program_name)s_%(process_num)02d\nnumprocs=2\n"
            f"directory={site}\nautostart=true\nautorestart=true\nstartsecs=1\n"
            "stopwaitsecs=5\nstopasgroup=true\nkillasgroup=true\n"
            f"redirect_stderr=true\nstdout_logfile={d}/%(program_name)s_%(process_num)02d.log\n")
        snippet = (b.ROOT / "examples/maintenance/nginx-maintenance.conf").resolve()
        (d / "nginx-tmp").mkdir()
        user = "user root;\n" if os.geteuid() == 0 else ""
        (d / "nginx.conf").write_text(
            f"daemon off;\nmaster_process on;\n{user}worker_processes 1;\n"
            f"pid {d}/nginx.pid;\nerror_log {d}/nginx.error.log warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n  default_type text/html;\n"
            f"  access_log off;\n"
            + "".join(f"  {t}_temp_path {d}/nginx-tmp/{t};\n"
                      for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + "  server {\n"
            f"    listen 127.0.0.1:{self.nginx_port};\n"
            f"    set $maintenance_root {self.maintenance_file.parent};\n"
            f"    include {snippet};\n"
            f"    location / {{ proxy_pass http://127.0.0.1:{self.gunicorn_port}; "
            "proxy_set_header Host 127.0.0.1; }\n"
            "  }\n}\n")
        supervisord = Path(venv) / "bin/supervisord"
        quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
        self.daemons.append(subprocess.Popen(
            [str(supervisord) if supervisord.exists() else "supervisord", "-n", "-c",
             str(self.conf)], **quiet))
        self.daemons.append(subprocess.Popen(
            ["nginx", "-c", str(d / "nginx.conf"), "-p", str(d), "-e",
             str(d / "nginx.error.log")], **quiet))
        self.wait_for(f"{self.app}/health/")
        self.wait_for(f"{self.front}/health/")
        deadline = time.monotonic() + 30
        while True:
            st = self.supervisorctl("status")
            if st.count("RUNNING") >= 3:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"programs not RUNNING within 30 s:\n{st}")
            time.sleep(0.2)

    def wait_for(self, url: str) -> None:
        deadline = time.monotonic() + 60
        while http_get(url, timeout=2)[0] != 200:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer 200 within 60 s; logs in {self.dir}")
            time.sleep(0.2)

    def supervisorctl(self, *args: str) -> str:
        return subprocess.run(["supervisorctl", "-c", str(self.conf), *args],
                              capture_output=True, text=True).stdout

    def stop(self) -> None:
        for p in reversed(self.daemons):
            stop_tree(p)
        self.daemons.clear()


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def _start_time(pid: int) -> str | None:
    s = _stat(pid)
    return s[19] if s else None


def descendants(root: int) -> list[tuple[int, str]]:
    """Every process below `root`, with its start time."""
    parents: list[tuple[int, int]] = []
    for e in Path("/proc").iterdir():
        if e.name.isdigit():
            s = _stat(int(e.name))
            if s:
                parents.append((int(e.name), int(s[1])))
    found, i = [root], 0
    while i < len(found):
        found.extend(c for c, pp in parents if pp == found[i])
        i += 1
    out = []
    for pid in found[1:]:
        st = _start_time(pid)
        if st:
            out.append((pid, st))
    return out


def stop_tree(p: subprocess.Popen) -> None:
    """SIGTERM to the daemon (20 s to end its children), then SIGKILL to
    whatever of its recorded descendants is still the same process."""
    tree = descendants(p.pid)
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    deadline = time.monotonic() + 5
    while True:
        alive = [(pid, st) for pid, st in tree if _start_time(pid) == st]
        if not alive:
            return
        if time.monotonic() > deadline:
            for pid, _ in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return
        time.sleep(0.05)


class Poller:
    """GETs `url` every 10 ms (at most 60,000 requests) until stopped;
    records (seconds since start, status, is the maintenance page)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: list[tuple[float, int, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        t0 = time.perf_counter()
        while not self._stop.is_set() and len(self.seen) < 60_000:
            status, body = http_get(self.url, timeout=5)
            self.seen.append((time.perf_counter() - t0, status, MARKER in body))
            self._stop.wait(0.01)

    def start(self) -> "Poller":
        self._thread.start()
        return self

    def stop(self) -> "Poller":
        self._stop.set()
        self._thread.join()
        return self

    def window(self) -> float:
        """From the first maintenance page seen to the first 200 after it
        (0 when the page was never seen)."""
        first = next((t for t, st, page in self.seen if st == 503 and page), None)
        if first is None:
            return 0.0
        back = next((t for t, st, _ in self.seen if t > first and st == 200), None)
        return (back if back is not None else self.seen[-1][0]) - first

    def counts(self) -> tuple[int, int, list[int]]:
        """(200s, maintenance pages, the statuses of anything else)"""
        ok = sum(1 for _, st, _ in self.seen if st == 200)
        page = sum(1 for _, st, p in self.seen if st == 503 and p)
        other = [st for _, st, p in self.seen if st != 200 and not (st == 503 and p)]
        return ok, page, other
