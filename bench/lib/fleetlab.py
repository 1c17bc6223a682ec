"""What bench/fleet needs: the lab's app hosts, a cairn project and an
Ansible inventory and playbooks over them doing the same five tasks per
host, and the check that a run did its work on every host.

The hosts are the tests' ones (`tests/lab/up hosts`, tests/README.md): when
the lab's variables are in the environment they are used as they are (with
at least HOSTS hosts); otherwise `CAIRN_LAB_HOSTS=10 tests/lab/up hosts`
starts them and `tests/lab/down hosts` stops them at the end.

Both contenders reach the hosts through the lab's OpenSSH client
configuration (`CAIRN_LAB_SSH_CONFIG`): Ansible with `-F FILE` in
`ansible_ssh_common_args`; cairn, whose ssh targets read only the user's
`~/.ssh/config`, with that file's `Host appN` entries written out as the
targets' `option=` values (HostName, Port, User, IdentityFile, the known
hosts, ...), so both use the same settings.

Every run works in a directory of its own on each host,
`HOSTS_DIR/appN/site/bench-fleet-TAG` (TAG: the bench's pid, the round and
the contender): the first task makes it, the second writes TAG into its
file `round`. After the run the bench checks every host's directory (the
release's VERSION behind the `current` link, the marker) and removes the
directory only when its marker holds the run's TAG.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

import benchlib as b

HOSTS = 10
RELEASE = "r1"
STEPS = ["unpack", "mark", "version", "switch", "check"]


class Lab:
    """The lab's app hosts: started here only when the environment has none."""

    def __init__(self, count: int = HOSTS) -> None:
        self.count = count
        self.started = False
        self.env: dict[str, str] = {}

    def __enter__(self) -> "Lab":
        given = os.environ.get("CAIRN_LAB_HOSTS", "")
        if os.environ.get("CAIRN_LAB_SSH_CONFIG") and given:
            self.env = {k: v for k, v in os.environ.items() if k.startswith("CAIRN_LAB_")}
        else:
            b.info(f"starting the lab's app hosts: CAIRN_LAB_HOSTS={self.count} tests/lab/up hosts")
            env = dict(os.environ, CAIRN_LAB_HOSTS=str(self.count))
            self.env.update(b.lab_up("hosts", env=env))
            self.started = True
        have = len(self.hosts())
        if have < self.count:
            raise SystemExit(
                f"the lab has {have} app hosts, the bench needs {self.count}: "
                f"CAIRN_LAB_HOSTS={self.count} tests/lab/up hosts")
        return self

    def __exit__(self, *exc) -> None:
        if self.started:
            b.info("stopping the lab's app hosts: tests/lab/down hosts")
            subprocess.run([str(b.ROOT / "tests/lab/down"), "hosts"],
                           env=dict(os.environ, **self.env), stdout=sys.stderr, check=False)

    def hosts(self) -> list[str]:
        """The first `count` hosts, app1 first (CAIRN_LAB_HOSTS: `app1=ADDR ...`)."""
        names = [h.split("=")[0] for h in self.env.get("CAIRN_LAB_HOSTS", "").split()]
        names.sort(key=lambda n: int(n[3:]) if n[3:].isdigit() else 0)
        return names[: self.count]

    @property
    def ssh_config(self) -> Path:
        return Path(self.env["CAIRN_LAB_SSH_CONFIG"])

    @property
    def hosts_dir(self) -> Path:
        return Path(self.env["CAIRN_LAB_HOSTS_DIR"])

    def host_options(self) -> dict[str, list[tuple[str, str]]]:
        """The `Host NAME` entries of the lab's ssh config, as (key, value) lists."""
        out: dict[str, list[tuple[str, str]]] = {}
        cur: list[tuple[str, str]] | None = None
        for raw in self.ssh_config.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(" ")
            if key.lower() == "host":
                cur = out.setdefault(value.strip(), [])
            elif cur is not None:
                cur.append((key, value.strip()))
        return out

    def workdir(self, host: str, tag: str) -> Path:
        return self.hosts_dir / host / "site" / f"bench-fleet-{tag}"

    def check(self, who: str, tag: str) -> None:
        """Every host holds the run's work."""
        for h in self.hosts():
            d = self.workdir(h, tag)
            marker = d / "round"
            if not marker.is_file() or marker.read_text().strip() != tag:
                raise SystemExit(f"{who}: {h}: no marker `{tag}` in {marker}")
            link = d / "current"
            if not link.is_symlink() or os.readlink(link) != f"releases/{RELEASE}":
                raise SystemExit(f"{who}: {h}: {link} is not a link to releases/{RELEASE}")
            version = d / "releases" / RELEASE / "VERSION"
            if not version.is_file() or version.read_text().strip() != RELEASE:
                raise SystemExit(f"{who}: {h}: {version} does not hold {RELEASE}")

    def clean(self, tag: str) -> None:
        """Removes the run's directory on each host when its marker proves
        the run made it; says which ones stay (a run that failed early)."""
        for h in self.hosts():
            d = self.workdir(h, tag)
            marker = d / "round"
            if marker.is_file() and marker.read_text().strip() == tag:
                b.rmtree(d)
            elif d.exists():
                b.info(f"{d} left in place: its marker does not hold `{tag}`")


def kdl(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- cairn -----------------------------------------------------------------


def cairn_project(dir: Path, lab: Lab, expanded: bool, keep_in: Path | None = None) -> None:
    """cairn.kdl (one ssh target per host, the group `app`) and the runbooks
    `fleet-b1` (one host at a time) and `fleet-b10` (all at once).

    `keep_in`: the targets keep their masters between runs as Ansible's
    defaults do (`ControlMaster=auto`, `ControlPersist=60`), their control
    sockets in that directory (the target's own `option=`s, which cairn
    leaves multiplexing to).

    `expanded`: without groups and `rolling` (before they landed), the same
    work written out per host: fleet-b1 as 5 steps for app1, then 5 for
    app2, ...; fleet-b10 as 5 `parallel` blocks of one step per host (what
    Ansible's linear strategy does with forks=10).
    """
    (dir / "runbooks").mkdir(parents=True)
    opts = lab.host_options()
    lines = ["project bench-fleet {"]
    for h in lab.hosts():
        kv = list(opts[h])
        if keep_in is not None:
            kv += [("ControlMaster", "auto"), ("ControlPath", f"{keep_in}/%C"),
                   ("ControlPersist", "60")]
        o = " ".join(f"option={kdl(f'{k}={v}')}" for k, v in kv)
        lines.append(f"    target {h} {{ ssh {kdl(h)} {o}; }}")
    if not expanded:
        members = "; ".join(f"target {h}" for h in lab.hosts())
        lines.append(f"    group app {{ {members} }}")
    lines.append("}")
    (dir / "cairn.kdl").write_text("\n".join(lines) + "\n")
    for batch in (1, len(lab.hosts())):
        name = f"fleet-b{batch}"
        body = expanded_body(lab, batch) if expanded else rolling_body(batch)
        (dir / "runbooks" / f"{name}.kdl").write_text(
            f"runbook {name} version=1 {{\n"
            f'    description "5 small deploy steps on every app host, {batch} at a time"\n'
            f'    param release default="{RELEASE}"\n'
            "    param tag required=#true\n"
            "    param root required=#true\n"
            f"{body}}}\n")


def steps(host: str, suffix: str = "", indent: str = "        ") -> list[str]:
    """The five steps on `host` (a name, or `{{ target.name }}` in a rolling block)."""
    d = f"{{{{ params.root }}}}/{host}/site/bench-fleet-{{{{ params.tag }}}}"
    rel = f"{d}/releases/{{{{ params.release }}}}"
    t = "" if host.startswith("{{") else f" target={host}"
    cmds = {
        "unpack": f'run mkdir "-p" "{rel}"',
        "mark": f'run sh "-c" "echo {{{{ params.tag }}}} > {d}/round"',
        "version": f'run sh "-c" "echo {{{{ params.release }}}} > {rel}/VERSION"',
        "switch": f'run ln "-sfn" "releases/{{{{ params.release }}}}" "{d}/current"',
        "check": (f'run sh "-c" "test \\"$(cat {d}/current/VERSION)\\" = '
                  f'{{{{ params.release }}}}"; effect read'),
    }
    return [f"{indent}step {s}{suffix} uses=exec{t} {{ {cmds[s]}; }}" for s in STEPS]


def rolling_body(batch: int) -> str:
    inner = "\n".join(steps("{{ target.name }}"))
    return (f"    rolling group=app batch={batch} max-failures=0 min-healthy=0 {{\n"
            f"{inner}\n    }}\n")


def expanded_body(lab: Lab, batch: int) -> str:
    if batch == 1:
        return "".join(
            "\n".join(steps(h, f"-{h}", "    ")) + "\n" for h in lab.hosts())
    out = []
    per_host = [steps(h, f"-{h}", "        ") for h in lab.hosts()]
    for i in range(len(STEPS)):
        out.append("    parallel {\n" + "\n".join(s[i] for s in per_host) + "\n    }\n")
    return "".join(out)


def cairn_step_ms(project: Path) -> dict[str, list[float]]:
    """Milliseconds of every main step of the project's runs, by step
    (`unpack-app3` counts as `unpack`), from the journals."""

    out: dict[str, list[float]] = {}
    for journal in (project / ".cairn" / "runs").glob("*/journal.jsonl"):
        for line in journal.read_text().splitlines():
            e = json.loads(line)
            if e.get("event") == "step-finished" and e.get("phase") == "main":
                # `unpack-app3` (written out), or the step of a rolling
                # block however a member's run is named (`unpack[app3]`).
                name = re.split(r"-app\d|[\[@:]", e["step"])[0]
                out.setdefault(name, []).append(float(e.get("duration_ms", 0)))
    return out


def step_ms_table(title: str, rows: dict[str, list[float]]) -> None:
    print(f"{title:<28}  {'steps':>5}  {'median':>8}  {'min..max':>15}")
    every: list[float] = []
    for s in STEPS:
        v = rows.get(s, [])
        every += v
        if v:
            print(f"  {s:<26}  {len(v):>5}  {statistics.median(v):>6.1f}ms  "
                  f"{min(v):>6.1f}..{max(v):.1f}ms")
    if every:
        print(f"  {'every step':<26}  {len(every):>5}  {statistics.median(every):>6.1f}ms")


# --- ansible ---------------------------------------------------------------


def inventory(dir: Path, lab: Lab) -> Path:
    p = dir / "inventory.ini"
    hosts = "\n".join(lab.hosts())
    p.write_text(
        f"[app]\n{hosts}\n\n[app:vars]\n"
        f"ansible_ssh_common_args='-F {lab.ssh_config}'\n"
        "ansible_python_interpreter=/usr/bin/python3\n")
    return p


def playbook(dir: Path, name: str, serial: bool) -> Path:
    d = "{{ root }}/{{ inventory_hostname }}/site/bench-fleet-{{ tag }}"
    rel = f"{d}/releases/{{{{ release }}}}"
    p = dir / f"{name}.yml"
    p.write_text(
        "- hosts: app\n"
        "  gather_facts: false\n"
        + ("  serial: 1\n" if serial else "")
        + f"  vars:\n    release: {RELEASE}\n"
        "  tasks:\n"
        "    - name: unpack\n"
        f'      file: {{ path: "{rel}", state: directory }}\n'
        "    - name: mark\n"
        f'      shell: "echo {{{{ tag }}}} > {d}/round"\n'
        "    - name: version\n"
        f'      shell: "echo {{{{ release }}}} > {rel}/VERSION"\n'
        "    - name: switch\n"
        f'      file: {{ src: "releases/{{{{ release }}}}", dest: "{d}/current", '
        "state: link, force: true }\n"
        "    - name: check\n"
        f'      shell: "test \\"$(cat {d}/current/VERSION)\\" = {{{{ release }}}}"\n'
        "      changed_when: false\n")
    return p


def ansible_env(work: Path) -> dict[str, str]:
    """benchlib's (pipelining on, no retry files), for remote hosts: their
    python, the default remote temp directory, the control sockets of
    Ansible's own multiplexing (its defaults: ControlMaster=auto,
    ControlPersist=60s) in the scratch directory so the bench can close them."""
    env = b.ansible_env(work)
    env["ANSIBLE_PYTHON_INTERPRETER"] = "/usr/bin/python3"
    env.pop("ANSIBLE_REMOTE_TEMP", None)
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(work / "cp")
    return env


def close_masters(sockets: Path, lab: Lab) -> int:
    """`ssh -O exit` on every control socket left in `sockets`, a directory
    of the bench's scratch space (Ansible's, or the kept cairn targets';
    their masters persist 60 s after a run): only those."""
    n = 0
    for sock in sorted(sockets.glob("*")):
        r = subprocess.run(
            ["ssh", "-F", str(lab.ssh_config), "-o", f"ControlPath={sock}", "-O", "exit", "app1"],
            capture_output=True)
        n += r.returncode == 0
    return n
