"""Shared helpers of the benchmarks under bench/.

Each benchmark measures cairn and its baseline interleaved in the same run
(round after round, the order rotated every round), after warm-up rounds
that are thrown away, and reports medians. Wall time is time.perf_counter
around the child; CPU time (user + system) and peak RSS come from the
child's own rusage (wait4), which includes the processes it waited for.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

BENCH = Path(__file__).resolve().parents[1]
ROOT = BENCH.parent
VENV = BENCH / ".venv"


def info(msg: str) -> None:
    """Progress, on stderr: stdout is the report."""
    print(msg, file=sys.stderr, flush=True)


def env_int(name: str, default: int) -> int:
    v = os.environ.get(name)
    return int(v) if v else default


# --- what the benchmarks need ---------------------------------------------


def lab_up(*parts: str, env: Optional[dict[str, str]] = None) -> dict[str, str]:
    """`tests/lab/up PARTS...`: the variables it exports (`export K='V'`
    lines), read as a shell would."""
    import shlex

    out = subprocess.run(
        [str(ROOT / "tests/lab/up"), *parts],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    got: dict[str, str] = {}
    for line in out.splitlines():
        if line.startswith("export "):
            k, _, v = line[len("export "):].partition("=")
            got[k] = shlex.split(v)[0] if v else ""
    return got


def cairn_bin() -> Path:
    """The release `cairn` binary, built first (`CAIRN_BIN` skips the build)."""
    given = os.environ.get("CAIRN_BIN")
    if given:
        return Path(given).resolve()
    info("building cairn: cargo build --release -p cairn")
    subprocess.run(
        ["cargo", "build", "--release", "-p", "cairn"],
        cwd=ROOT,
        check=True,
        stdout=sys.stderr,
    )
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    target = Path(json.loads(meta.stdout)["target_directory"])
    return target / "release" / "cairn"


def ansible_bin(tool: str = "ansible-playbook") -> Path:
    """A tool of ansible-core, installed from PyPI into bench/.venv on first use."""
    exe = VENV / "bin" / tool
    if exe.exists():
        ok = subprocess.run([str(exe), "--version"], capture_output=True).returncode == 0
        if ok:
            return exe
        info(f"{VENV} is broken (another python?): recreating it")
    info(f"installing ansible-core into {VENV.relative_to(ROOT)}")
    subprocess.run(
        [sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, stdout=sys.stderr
    )
    subprocess.run(
        [str(VENV / "bin" / "pip"), "install", "--quiet", "ansible-core"],
        check=True,
        stdout=sys.stderr,
    )
    return exe


def ansible_env(work: Path) -> dict[str, str]:
    """Ansible at its quickest for local runs, with its temp files in `work`."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_PYTHON_INTERPRETER": str(VENV / "bin" / "python3"),
            "ANSIBLE_LOCAL_TEMP": str(work / "ansible-tmp"),
            "ANSIBLE_REMOTE_TEMP": str(work / "ansible-tmp"),
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
        }
    )
    return env


def cairn_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NO_COLOR"] = "1"
    env.pop("CAIRN_LOG", None)
    return env


def ansible_version() -> str:
    out = subprocess.run(
        [str(ansible_bin()), "--version"], capture_output=True, text=True
    ).stdout
    return out.splitlines()[0].strip() if out else "?"


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        mem = f", {kb / (1 << 20):.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{mem}, load {os.getloadavg()[0]:.2f}"


# --- measuring -------------------------------------------------------------


@dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # seconds, user + system of the child and what it waited for
    # KiB: the largest resident set of the child or of any process it waited for
    maxrss: int = 0


@dataclass
class Contender:
    name: str
    cmd: list[str]
    cwd: Path
    env: dict[str, str]
    # Runs before each measured run, outside the timing (e.g. empty a cache).
    setup: Optional[Callable[[], None]] = None
    # Runs per round: more for the cheap ones, so their medians are steadier.
    reps: int = 1
    samples: list[Sample] = field(default_factory=list)

    def once(self) -> Sample:
        if self.setup:
            self.setup()
        with tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            p = subprocess.Popen(
                self.cmd,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            # wait4: this child's own rusage (with what it waited for), so
            # the peak RSS is of this run, not of every run so far.
            _, status, ru = os.wait4(p.pid, 0)
            t1 = time.perf_counter()
            p.returncode = os.waitstatus_to_exitcode(status)
            if p.returncode != 0:
                err.seek(0)
                text = err.read().decode(errors="replace")[-2000:]
                raise SystemExit(f"{self.name}: `{' '.join(self.cmd)}` exited {p.returncode}\n{text}")
        return Sample(t1 - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss)

    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    def maxrss_mb(self) -> float:
        """The highest peak RSS of any run, in MB (10^6 bytes)."""
        return max(s.maxrss for s in self.samples) * 1024 / 1e6


def interleaved(contenders: list[Contender], rounds: int, warmup: int) -> None:
    """Round after round, every contender runs `reps` times; the first
    `warmup` rounds are not kept. The order rotates every round, so none
    always runs right after the same other one."""
    total = warmup + rounds
    for r in range(total):
        k = r % len(contenders)
        order = contenders[k:] + contenders[:k]
        info(f"round {r + 1}/{total}{' (warm-up)' if r < warmup else ''}")
        for c in order:
            for _ in range(c.reps):
                s = c.once()
                if r >= warmup:
                    c.samples.append(s)


def ms(seconds: float) -> str:
    v = seconds * 1000
    return f"{v:.1f}ms" if v < 1000 else f"{v:.0f}ms"


def table(contenders: list[Contender]) -> None:
    """Medians (and the spread of wall times) of every contender."""
    w = max(len(c.name) for c in contenders)
    print(f"{'':{w}}  {'runs':>4}  {'wall median':>11}  {'cpu median':>10}  {'wall min..max':>19}")
    for c in contenders:
        walls = [s.wall for s in c.samples]
        spread = f"{ms(min(walls))}..{ms(max(walls))}"
        print(
            f"{c.name:{w}}  {len(c.samples):>4}  {ms(c.wall()):>11}  {ms(c.cpu()):>10}  {spread:>19}"
        )


def result(name: str, baseline: str, cairn: str, ratio: float) -> None:
    r = f"{ratio:.2f}" if ratio < 10 else f"{ratio:.1f}"
    print(f"RESULT {name} baseline={baseline} cairn={cairn} ratio={r}", flush=True)


def journal_steps(project: Path) -> dict[str, float]:
    """Seconds per main or finally step of the runs in a project's
    `.cairn/runs`, from the journals' `step-finished` records."""
    out: dict[str, float] = {}
    for journal in (project / ".cairn" / "runs").glob("*/journal.jsonl"):
        for line in journal.read_text().splitlines():
            e = json.loads(line)
            if e.get("event") == "step-finished" and e.get("phase") in ("main", "finally"):
                out[e["step"]] = e.get("duration_ms", 0) / 1000
    return out


def step_table(rows: list[dict[str, float]], kept: int) -> None:
    """Median seconds per step over the last `kept` runs."""
    names = list(rows[-1]) if rows else []
    print(f"{'cairn step (median s)':<24}  {'seconds':>7}")
    for n in names:
        print(f"{n:<24}  {statistics.median(r.get(n, 0.0) for r in rows[-kept:]):>7.3f}")


def rmtree(p: Path) -> None:
    shutil.rmtree(p, ignore_errors=True)
