"""Alembic's environment for the classroom's tables.

The URL is the app's own: the one ``migrate()`` passes (with its connection,
under the migration lock), else ``DATABASE_URL`` as the app reads it (the
default SQLite file in the instance folder when unset). So, by hand:

    DATABASE_URL=postgresql+psycopg://... alembic -c migrations/alembic.ini upgrade head
    python -m webapp.classroom migrate        # the same, under the lock the app uses
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from webapp.classroom.models import Base

config = context.config
target_metadata = Base.metadata


def configured_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from webapp import create_app
    from webapp.classroom.store import database_url

    return database_url(create_app())


def run_migrations_offline() -> None:
    context.configure(url=configured_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # render_as_batch: SQLite alters a table by copying it, which later revisions may need.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(configured_url())
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
