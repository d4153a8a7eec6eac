"""The classroom tests' databases: a SQLite file, and a real throwaway PostgreSQL cluster.

``database_url`` is parametrized over both, so every classroom test runs on
each. The PostgreSQL cluster is Debian's ``postgresql`` package (installed
with apt-get when missing, as ``make test`` installs Chromium), initialised in
a temporary folder and started on a free loopback port, as an unprivileged
user (``nobody`` when the tests run as root, as CI does, since PostgreSQL
refuses to run as root), and removed at the end of the session. Each test
gets a database of its own.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from webapp import create_app

UNPRIVILEGED_USER = "nobody"
_numbers = itertools.count()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin() -> Path:
    """Debian's PostgreSQL server programs, installed first when missing."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "update", "-q"], check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "postgresql"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent


@dataclass
class PostgresCluster:
    port: int
    folder: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(statement)

    def new_database(self) -> str:
        name = f"classroom_{os.getpid()}_{next(_numbers)}"
        self.admin(f'CREATE DATABASE "{name}"')
        return name


def _as_user(command: list[str]) -> list[str]:
    """Run as the unprivileged user when we are root (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", UNPRIVILEGED_USER, "--", *command]


def start_postgres() -> PostgresCluster:
    binaries = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="digit-lens-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        os.chown(folder, user.pw_uid, user.pw_gid)
    data = folder / "data"
    port = free_port()
    environment = {**os.environ, "LC_ALL": "C.UTF-8"}
    subprocess.run(_as_user([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                             "--no-sync", "-E", "UTF8"]), check=True, capture_output=True, env=environment)
    # fsync off: a test cluster's speed; the durability tested here is the app's (commit before 201),
    # and a killed app worker never touches the server's own crash safety.
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(_as_user([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
                             "-w", "-t", "60", "start"]), check=True, capture_output=True, env=environment)
    return PostgresCluster(port, folder)


def stop_postgres(cluster: PostgresCluster) -> None:
    binaries = postgres_bin()
    subprocess.run(_as_user([str(binaries / "pg_ctl"), "-D", str(cluster.folder / "data"), "-m", "immediate",
                             "-w", "stop"]), capture_output=True)
    shutil.rmtree(cluster.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster for the session."""
    cluster = start_postgres()
    try:
        yield cluster
    finally:
        stop_postgres(cluster)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a new database on the throwaway PostgreSQL cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'classroom.sqlite3'}"
    cluster = request.getfixturevalue("postgres")
    return cluster.url(cluster.new_database())


def classroom_app(artifacts, database_url: str, **config):
    return create_app({"TESTING": True, "ARTIFACTS_DIR": str(artifacts), "DATABASE_URL": database_url,
                       "CLASSROOM_RETENTION_DAYS": 30, **config})
