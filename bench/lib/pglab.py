"""What bench/backup-stream and bench/restore share: the lab's PostgreSQL
and S3 server, a generated database of a chosen size, the aws CLI (the
baseline's uploader) in its own venv, and a cairn project pointing at the
lab.

The lab is the one the tests use (tests/lab/up): when its variables are in
the environment it is used as it is; otherwise `tests/lab/up postgres s3`
starts those services and they are stopped again at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import benchlib as b

AWS_VENV = b.BENCH / ".venv-aws"
BENCH_DB = "cairn_bench"
# Bump when the generated schema or data changes: an older database is remade.
SCHEMA_VERSION = 1


class Lab:
    def __init__(self) -> None:
        self.started = False
        self.env: dict[str, str] = {}

    def __enter__(self) -> "Lab":
        if os.environ.get("CAIRN_LAB_PG_PRIMARY_ADMIN") and os.environ.get("CAIRN_LAB_S3_ENDPOINT"):
            self.env = {k: v for k, v in os.environ.items() if k.startswith(("CAIRN_LAB_", "AWS_"))}
        else:
            b.info("starting the lab's postgres and s3: tests/lab/up postgres s3")
            self.env.update(b.lab_up("postgres", "s3"))
            self.started = True
        return self

    def __exit__(self, *exc) -> None:
        if self.started:
            b.info("stopping the lab: tests/lab/down")
            subprocess.run([str(b.ROOT / "tests/lab/down")], stdout=sys.stderr, check=False)

    def __getitem__(self, k: str) -> str:
        return self.env[k]

    def process_env(self) -> dict[str, str]:
        env = b.cairn_env()
        env.update(self.env)
        return env


def with_db(url: str, db: str) -> str:
    u = urlsplit(url)
    return urlunsplit((u.scheme, u.netloc, "/" + db, u.query, u.fragment))


def psql(url: str, sql: str) -> str:
    p = subprocess.run(
        ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        raise SystemExit(f"psql failed: {p.stderr.strip()}\n{sql.strip()[:500]}")
    return p.stdout.strip()


def ensure_tools() -> None:
    missing = [t for t in ("psql", "pg_dump", "pg_restore", "zstd") if not shutil.which(t)]
    if missing:
        if os.geteuid() != 0:
            raise SystemExit(f"missing {' '.join(missing)}: apt-get install postgresql-client zstd")
        b.info("installing postgresql-client and zstd")
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql-client", "zstd"],
                       check=True, stdout=sys.stderr)


def aws_bin() -> Path:
    """The aws CLI from PyPI in bench/.venv-aws (its own venv: its pins of
    botocore and PyYAML do not mix with ansible-core's)."""
    exe = AWS_VENV / "bin" / "aws"
    if exe.exists() and subprocess.run([str(exe), "--version"], capture_output=True).returncode == 0:
        return exe
    b.info(f"installing awscli into {AWS_VENV.relative_to(b.ROOT)}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(AWS_VENV)], check=True,
                   stdout=sys.stderr)
    subprocess.run([str(AWS_VENV / "bin" / "pip"), "install", "--quiet", "awscli"], check=True,
                   stdout=sys.stderr)
    return exe


def ensure_database(lab: Lab, mb: int) -> tuple[str, int]:
    """The bench database of about `mb` MB on the lab's primary cluster,
    made once and reused while its size and schema match. Returns its URL
    (as the superuser) and its size in bytes."""
    admin = lab["CAIRN_LAB_PG_PRIMARY_ADMIN"]
    url = with_db(admin, BENCH_DB)
    stamp = f"cairn bench {mb} MB v{SCHEMA_VERSION}"
    have = psql(admin, f"select shobj_description(oid, 'pg_database') from pg_database "
                       f"where datname = '{BENCH_DB}'")
    if have != stamp:
        # ~250 bytes a row with its three indexes.
        rows = mb * 1_000_000 // 250
        b.info(f"generating {BENCH_DB}: ~{mb} MB, {rows} rows (once; reused by later runs)")
        psql(admin, f"drop database if exists {BENCH_DB}")
        psql(admin, f"create database {BENCH_DB}")
        psql(url, """
            create table accounts (id int primary key, email text not null unique,
                                   created timestamptz not null, plan text not null);
            create table events (id bigint primary key, account int not null references accounts,
                                 at timestamptz not null, kind text not null, addr inet,
                                 payload text not null);
        """)
        accounts = max(rows // 100, 1)
        psql(url, f"""
            insert into accounts
            select i, 'user' || i || '@example.test', now() - i * interval '1 minute',
                   (array['free', 'pro', 'team'])[1 + i % 3]
            from generate_series(1, {accounts}) i;
        """)
        # In slices, so one statement does not hold the whole set in memory.
        step = 1_000_000
        for lo in range(1, rows + 1, step):
            hi = min(lo + step - 1, rows)
            psql(url, f"""
                insert into events
                select i, 1 + (i * 7919) % {accounts}, now() - i * interval '1 second',
                       (array['login', 'view', 'search', 'buy', 'logout'])[1 + i % 5],
                       ('10.' || (i % 250) || '.' || (i / 250 % 250) || '.' || (i % 199))::inet,
                       md5(i::text) || ' ' || md5((i % 1000)::text) || ' '
                         || repeat(chr((97 + i % 26)::int), (20 + i % 40)::int)
                from generate_series({lo}::bigint, {hi}) i;
            """)
            b.info(f"  {hi}/{rows} rows")
        psql(url, "create index on events (at); create index on events (account, kind)")
        psql(url, "vacuum analyze")
        psql(admin, f"comment on database {BENCH_DB} is '{stamp}'")
    size = int(psql(admin, f"select pg_database_size('{BENCH_DB}')"))
    return url, size


def project(dir: Path, lab: Lab, prefix: str, runbooks: dict[str, str]) -> Path:
    """A cairn project with the lab's S3 bucket as storage `lab` (keys under
    `prefix`) and the given runbooks."""
    (dir / "runbooks").mkdir(parents=True, exist_ok=True)
    (dir / "cairn.kdl").write_text(
        "project bench {\n"
        f'    storage lab {{ s3 bucket="{lab["CAIRN_LAB_S3_BUCKET"]}" '
        f'endpoint="{lab["CAIRN_LAB_S3_ENDPOINT"]}" region="us-east-1" path-style=#true '
        f'prefix="{prefix}" }}\n'
        "}\n"
    )
    for name, text in runbooks.items():
        (dir / "runbooks" / f"{name}.kdl").write_text(text)
    return dir


def s3_rm(lab: Lab, prefix: str) -> None:
    """Deletes every object under `prefix` of the lab's bucket (the S3
    server keeps objects in memory)."""
    subprocess.run(
        [str(aws_bin()), "s3", "rm", "--quiet", "--recursive",
         f"s3://{lab['CAIRN_LAB_S3_BUCKET']}/{prefix}",
         "--endpoint-url", lab["CAIRN_LAB_S3_ENDPOINT"]],
        env=lab.process_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def s3_keys(lab: Lab, prefix: str) -> list[str]:
    """The keys under `prefix` of the lab's bucket."""
    out = subprocess.run(
        [str(aws_bin()), "s3", "ls", "--recursive",
         f"s3://{lab['CAIRN_LAB_S3_BUCKET']}/{prefix}",
         "--endpoint-url", lab["CAIRN_LAB_S3_ENDPOINT"]],
        env=lab.process_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted(line.split(None, 3)[3] for line in out.splitlines() if line.strip())


def mb(n: float) -> str:
    return f"{n / 1e6:.0f} MB"
