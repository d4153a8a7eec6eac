"""The classroom's database: one engine per process, one session per request, migrations, the purge.

As flaskr's ``db.py``: ``get_session()`` per request, ``init_app(app)``
registers the teardown and the CLI commands, and nothing connects at import
time (nor is this module imported before the first class request: see
``wiring``). ``DATABASE_URL`` chooses the store:

- unset: a SQLite file in the instance folder, in WAL mode with
  ``synchronous=FULL``, so a committed drawing survives a killed process
  (and the machine losing power);
- ``postgresql+psycopg://user:password@host/db``: PostgreSQL through psycopg 3,
  for several servers sharing one store.

The engine is made in the process that uses it (after gunicorn's fork): a
pooled connection inherited from a parent must never be used by a child.
The first use in a process brings the schema up to date with Alembic
(``migrations/``), under a lock that keeps two workers or two servers from
migrating at once; ``python -m webapp.classroom migrate`` does it by hand.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, case, create_engine, delete, event, insert, or_, select, text, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from webapp.classroom.models import Classroom, Drawing, Reading
from webapp.process_local import per_process

log = logging.getLogger(__name__)

SQLITE_FILE = "classroom.sqlite3"
# Any number, the same in every process: PostgreSQL's advisory lock for migrations.
MIGRATION_LOCK_KEY = 2207_2026
# Seconds a SQLite writer waits for another's lock before giving up.
SQLITE_BUSY_SECONDS = 15


def migrations_dir() -> Path:
    """``migrations/`` at the top of a checkout, ``webapp/_migrations`` in an installed package."""
    package = Path(__file__).resolve().parent.parent
    for folder in (package.parent / "migrations", package / "_migrations"):
        if (folder / "env.py").is_file():
            return folder
    raise RuntimeError(f"digit-lens is incompletely installed: no migrations/ folder beside {package}")


def database_url(app: Flask) -> str:
    """The configured URL, or the default SQLite file in the instance folder."""
    url = app.config.get("DATABASE_URL")
    if url:
        return str(url)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(app.instance_path) / SQLITE_FILE}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, full sync, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre_ping: a server restarted between requests costs a reconnect, not an error.
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _sqlite_settings(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: every commit's WAL frames are fsynced before COMMIT returns (NORMAL may
        # lose the last commits on power loss), so a 201 means the drawing is on disk.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


@contextlib.contextmanager
def _migration_lock(engine: Engine):
    """Hold a lock that only one migrating process at a time can have, across servers."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:":
            yield None
            return
        with open(f"{database}.migrate-lock", "a+") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                with engine.connect() as connection:
                    # Foreign keys off while migrating (the pragma works outside a transaction only):
                    # a batch migration copies a table and drops the old one, and SQLite's DROP TABLE
                    # deletes its rows first, which would cascade to every row that refers to them.
                    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                    connection.commit()
                    try:
                        with connection.begin():
                            yield connection
                    finally:
                        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                        connection.commit()
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    from sqlalchemy import text

    with engine.begin() as connection:
        # Released when this transaction ends; a second server waits here until the first has migrated.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        yield connection


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (from empty, or from any earlier revision), one process at a time."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with _migration_lock(engine) as connection:
        if connection is None:
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
            return
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


class Store:
    """This process's engine (made after the fork) and the time of its last purge."""

    def __init__(self, app: Flask):
        self.url = database_url(app)
        self.engine = make_engine(self.url)
        self.migrated = not app.config["CLASSROOM_MIGRATE"]
        self.last_purge = 0.0
        self.lock = threading.Lock()

    def ready(self) -> Engine:
        """The engine, the schema brought up to date first if this process has not yet."""
        if not self.migrated:
            with self.lock:
                if not self.migrated:
                    migrate(self.engine)
                    self.migrated = True
        return self.engine


def get_store(app: Flask | None = None) -> Store:
    app = app or current_app._get_current_object()
    return per_process(app, "digit_lens_classroom", lambda: Store(app))


def get_session() -> Session:
    """This request's session (closed at the request's end)."""
    if "classroom_session" not in g:
        g.classroom_session = Session(get_store().ready(), expire_on_commit=False)
    return g.classroom_session


def now() -> datetime:
    return datetime.now(timezone.utc)


def purge(session: Session, retention_days: float, at: datetime | None = None) -> tuple[int, int]:
    """Delete drawings older than the retention period, and classes that old with no drawing left.

    Returns (drawings deleted, classes deleted).
    """
    cutoff = (at or now()) - timedelta(days=float(retention_days))
    drawings = delete_drawings(session, Drawing.created_at < cutoff)
    empty_and_old = (
        select(Classroom.id)
        .where(Classroom.created_at < cutoff)
        .where(~select(Drawing.id).where(Drawing.class_id == Classroom.id).exists())
    )
    classes = session.execute(delete(Classroom).where(Classroom.id.in_(empty_and_old))).rowcount
    session.commit()
    return drawings, classes


def purge_when_due() -> None:
    """Purge at most every CLASSROOM_PURGE_INTERVAL_SECONDS in this process (cheap: an indexed delete)."""
    store = get_store()
    interval = float(current_app.config["CLASSROOM_PURGE_INTERVAL_SECONDS"])
    if time.monotonic() - store.last_purge < interval:
        return
    store.last_purge = time.monotonic()
    drawings, classes = purge(get_session(), current_app.config["CLASSROOM_RETENTION_DAYS"])
    if drawings or classes:
        log.info("classroom purge: %d drawings and %d classes past retention deleted", drawings, classes)


@dataclass(frozen=True)
class NewDrawing:
    """A drawing to keep: its class's code, label, 784-byte image, readings ``{model: {"digit", "best",
    "confidence", "reason"}}``, its public id, the hash of its delete token and the time."""

    code: str
    label: int
    image: bytes
    readings: dict[str, dict]
    public_id: str
    delete_token_hash: str
    moment: datetime


@dataclass(frozen=True)
class Limits:
    """A class's limits: drawings kept, and drawings posted per rate window."""

    max_drawings: int
    rate_limit: int
    window_seconds: float


class NotStored(Exception):
    """The drawing was not stored: ``reason`` is unknown-class, rate-limited or class-full."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _admit(drawing: NewDrawing, limits: Limits):
    """The UPDATE that admits a drawing into its class: within the class's limits, it counts the
    drawing in the rate window and in the class's total and returns the class's id; else no row."""
    window_began = drawing.moment - timedelta(seconds=limits.window_seconds)
    expired = Classroom.window_start <= window_began
    return (
        update(Classroom)
        .where(Classroom.code == drawing.code, Classroom.drawings_count < limits.max_drawings,
               or_(expired, Classroom.window_count < limits.rate_limit))
        .values(window_start=case((expired, drawing.moment), else_=Classroom.window_start),
                window_count=case((expired, 1), else_=Classroom.window_count + 1),
                drawings_count=Classroom.drawings_count + 1)
        .returning(Classroom.id)
    )


# PostgreSQL: the class's row is updated (as _admit does), the drawing and its readings inserted, in ONE
# statement run in autocommit, so it is its own transaction: the row lock that orders a class's drawings
# is taken and released inside the server, never held across a round trip to this process. (Held across
# four of them, it had made a class's drawings wait on one another's event loops: 7.5 stored per second
# against 62 read.) The answer comes back once the commit is durable (synchronous_commit on).
_POSTGRESQL_STORE = text("""
WITH admitted AS (
    UPDATE classes SET
        window_start = CASE WHEN window_start <= :window_began THEN :moment ELSE window_start END,
        window_count = CASE WHEN window_start <= :window_began THEN 1 ELSE window_count + 1 END,
        drawings_count = drawings_count + 1
    WHERE code = :code AND drawings_count < :max_drawings
        AND (window_start <= :window_began OR window_count < :rate_limit)
    RETURNING id
),
drawing AS (
    INSERT INTO drawings (public_id, class_id, label, image, delete_token_hash, created_at)
    SELECT :public_id, admitted.id, :label, :image, :delete_token_hash, :moment FROM admitted
    RETURNING id, class_id
),
kept_readings AS (
    INSERT INTO readings (drawing_id, model, class_id, label, digit, best, confidence, reason)
    SELECT drawing.id, reading.model, drawing.class_id, :label, reading.digit, reading.best,
           reading.confidence, reading.reason
    FROM drawing, jsonb_to_recordset(CAST(:readings AS jsonb))
        AS reading(model text, digit smallint, best smallint, confidence double precision, reason text)
)
SELECT id FROM drawing
""")


def store_drawing(engine: Engine, drawing: NewDrawing, limits: Limits) -> None:
    """Commit one drawing and its readings, counted in its class's rate window and total; durable on return.

    Raises:
        NotStored: the class is gone, over its rate limit or full; nothing was stored.
    """
    if engine.dialect.name == "postgresql":
        parameters = {
            "code": drawing.code, "moment": drawing.moment, "max_drawings": limits.max_drawings,
            "rate_limit": limits.rate_limit,
            "window_began": drawing.moment - timedelta(seconds=limits.window_seconds),
            "public_id": drawing.public_id, "label": drawing.label, "image": drawing.image,
            "delete_token_hash": drawing.delete_token_hash,
            "readings": json.dumps([{"model": name, **reading} for name, reading in drawing.readings.items()]),
        }
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            if connection.execute(_POSTGRESQL_STORE, parameters).first() is None:
                raise NotStored(_why_not_stored(connection, drawing, limits))
        return
    # SQLite: the UPDATE takes the database's write lock at once, and the rest follows in-process.
    with engine.begin() as connection:
        class_id = connection.scalar(_admit(drawing, limits))
        if class_id is None:
            raise NotStored(_why_not_stored(connection, drawing, limits))
        drawing_id = connection.scalar(insert(Drawing).values(
            public_id=drawing.public_id, class_id=class_id, label=drawing.label, image=drawing.image,
            delete_token_hash=drawing.delete_token_hash, created_at=drawing.moment).returning(Drawing.id))
        connection.execute(insert(Reading), [
            {"drawing_id": drawing_id, "model": name, "class_id": class_id, "label": drawing.label, **reading}
            for name, reading in drawing.readings.items()])


def _why_not_stored(connection: Connection, drawing: NewDrawing, limits: Limits) -> str:
    row = connection.execute(
        select(Classroom.drawings_count).where(Classroom.code == drawing.code)
    ).first()
    if row is None:
        return "unknown-class"
    return "class-full" if row.drawings_count >= limits.max_drawings else "rate-limited"


def delete_drawings(session: Session, *conditions) -> int:
    """Delete the drawings that match (their readings go with them) and take them off their classes'
    counts, in the session's transaction; returns how many were deleted."""
    deleted = Counter(session.scalars(
        delete(Drawing).where(*conditions).returning(Drawing.class_id),
        execution_options={"synchronize_session": False},
    ).all())
    for class_id, count in deleted.items():
        session.execute(update(Classroom).where(Classroom.id == class_id)
                        .values(drawings_count=Classroom.drawings_count - count))
    return sum(deleted.values())

