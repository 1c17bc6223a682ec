"""What bench/move-downtime needs besides bench/lib/djsite.py: a private
HAProxy in front of the old site, the new site (the same checkout, its own
supervisord and nginx, its database on the lab's new PostgreSQL server), a
client that watches the site through HAProxy and a client that writes rows.

- `Haproxy`: its own config, admin socket and front port in the bench's
  temporary directory, one backend `be_site` with one server `app`; the
  process is recorded when started and ended (with its recorded
  descendants) at the end, nothing else.
- `Watcher`: GETs `/health/` through HAProxy every 10 ms (at most 60,000
  requests) and notes when the new site (`"server": "new"`) first answers.
- `Writer`: inserts one row every 20 ms (at most 20,000 tries) into the old
  database until a write is refused as read-only (noting when), waits for
  the watcher to see the new site, then writes `AFTER` rows into the new
  database: every write accepted is counted, so the rows present after can
  be checked (no row lost).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import djsite
from djsite import free_port, http_get

AFTER = 20
INSERT = ("insert into notes_note (title, body, attachment, created) "
          "values ('bench write', '', '', now())")


class Haproxy:
    def __init__(self, tmp: Path, server_port: int) -> None:
        self.dir = tmp / "haproxy"
        self.dir.mkdir()
        self.socket = self.dir / "admin.sock"
        self.port = free_port()
        cfg = self.dir / "haproxy.cfg"
        cfg.write_text(
            f"global\n    stats socket {self.socket} mode 600 level admin\n    maxconn 256\n\n"
            "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n"
            "    timeout server 10s\n\n"
            f"frontend fe_site\n    bind 127.0.0.1:{self.port}\n    default_backend be_site\n\n"
            f"backend be_site\n    server app 127.0.0.1:{server_port}\n")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not (self.socket.exists() and http_get(self.url(), timeout=2)[0]):
            if time.monotonic() > deadline:
                raise SystemExit("haproxy did not come up in 20 s")
            time.sleep(0.1)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health/"

    def api(self, line: str) -> str:
        p = subprocess.run(["socat", "-", f"UNIX-CONNECT:{self.socket}"], input=line + "\n",
                           capture_output=True, text=True, timeout=10)
        return p.stdout

    def point_at(self, port: int) -> None:
        self.api(f"set server be_site/app addr 127.0.0.1 port {port}")
        self.api("set server be_site/app state ready")

    def stop(self) -> None:
        djsite.stop_tree(self.proc)


def serving(url: str) -> tuple[int, str]:
    """(status, the `server` of /health/'s JSON, or '')"""
    status, body = http_get(url, timeout=5)
    try:
        return status, json.loads(body).get("server", "")
    except ValueError:
        return status, ""


class Watcher:
    def __init__(self, url: str, new: str) -> None:
        self.url, self.new = url, new
        self.new_at: float | None = None
        self.other: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(60_000):
            if self._stop.is_set():
                return
            status, server = serving(self.url)
            if status == 200 and server == self.new and self.new_at is None:
                self.new_at = time.monotonic()
            elif status not in (200, 503):
                self.other.append(status)
            self._stop.wait(0.01)

    def start(self) -> "Watcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def write(url: str) -> tuple[bool, str]:
    p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", INSERT],
                       capture_output=True, text=True)
    return p.returncode == 0, p.stderr


class Writer:
    def __init__(self, old_url: str, new_url: str, watcher: Watcher) -> None:
        self.old_url, self.new_url, self.watcher = old_url, new_url, watcher
        self.before = self.after = 0
        self.refused_at: float | None = None
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(20_000):
            if self._stop.is_set() or self.after >= AFTER:
                return
            if self.refused_at is None:
                ok, err = write(self.old_url)
                if ok:
                    self.before += 1
                elif "read-only" in err:
                    self.refused_at = time.monotonic()
                else:
                    # A session the read-only step ended: not accepted, not lost.
                    self.errors.append(err.strip().splitlines()[-1] if err.strip() else "?")
            elif self.watcher.new_at is not None:
                ok, err = write(self.new_url)
                if ok:
                    self.after += 1
                else:
                    self.errors.append(err.strip().splitlines()[-1] if err.strip() else "?")
            self._stop.wait(0.02)

    def start(self) -> "Writer":
        self._thread.start()
        return self

    def stop(self, timeout: float = 60) -> None:
        """Waits (bounded) for the writes after the move, then stops."""
        deadline = time.monotonic() + timeout
        while self.after < AFTER and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.05)
        self._stop.set()
        self._thread.join()

    def window(self) -> float | None:
        """From the first write refused to the new site answering."""
        if self.refused_at is None or self.watcher.new_at is None:
            return None
        return self.watcher.new_at - self.refused_at
