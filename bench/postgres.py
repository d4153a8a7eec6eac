"""A throwaway PostgreSQL cluster: Debian's server programs, a temporary folder, a free loopback port.

Used by the classroom's tests and by ``make loadtest``. Debian's ``postgresql``
package is installed with apt-get when missing (as ``make test`` installs
Chromium). PostgreSQL refuses to run as root, so when we are root (CI is) the
cluster runs as ``nobody`` in a folder it owns; it is removed at the end.
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


# The programs run in the cluster's own folder: the unprivileged user may not be allowed into ours
# (a checkout under /root, say), and initdb refuses to start where it cannot read the current folder.
def _as_user(command: list[str]) -> list[str]:
    """Run as the unprivileged user when we are root (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", UNPRIVILEGED_USER, "--", *command]


def start_postgres(durable: bool = False) -> PostgresCluster:
    """Start a cluster; ``durable`` keeps fsync on (measurements), tests turn it off for speed."""
    binaries = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="digit-lens-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED_USER)
        os.chown(folder, user.pw_uid, user.pw_gid)
    data = folder / "data"
    port = free_port()
    environment = {**os.environ, "LC_ALL": "C.UTF-8"}
    subprocess.run(_as_user([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                             "--no-sync", "-E", "UTF8"]), check=True, capture_output=True, env=environment, cwd=folder)
    # fsync off for tests: speed; the durability tested there is the app's (commit before 201), and a
    # killed app worker never touches the server's own crash safety. make loadtest measures with it on.
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if not durable:
        options += " -c fsync=off"
    subprocess.run(_as_user([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
                             "-w", "-t", "60", "start"]), check=True, capture_output=True, env=environment, cwd=folder)
    return PostgresCluster(port, folder)


def stop_postgres(cluster: PostgresCluster) -> None:
    binaries = postgres_bin()
    subprocess.run(_as_user([str(binaries / "pg_ctl"), "-D", str(cluster.folder / "data"), "-m", "immediate",
                             "-w", "stop"]), capture_output=True, cwd=cluster.folder)
    shutil.rmtree(cluster.folder, ignore_errors=True)
