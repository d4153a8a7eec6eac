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

import pytest

from bench.postgres import PostgresCluster, start_postgres, stop_postgres  # noqa: F401
from webapp import create_app


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
