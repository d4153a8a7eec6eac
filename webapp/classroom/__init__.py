"""The classroom: a class collects its own digits, with consent, and sees how the networks read them.

``init_app(app)`` wires it: settings, the API and page blueprints, the
session teardown and the ``flask classroom`` commands, none of which imports
SQLAlchemy: the store and the API's views are imported by the first class
request (``wiring``). See docs/classroom.md.
"""

from __future__ import annotations

import click
from flask import Flask


def init_app(app: Flask) -> None:
    from webapp.classroom import pages, wiring

    wiring.configure(app)
    app.register_blueprint(wiring.api_blueprint())
    app.register_blueprint(pages.bp)
    app.teardown_appcontext(wiring.close_session)
    app.cli.add_command(classroom_cli)


@click.group("classroom", help="The classroom's database.")
def classroom_cli() -> None:
    pass


@classroom_cli.command("migrate", help="Bring the schema up to date (the app also does it on first use).")
def migrate_command() -> None:
    from flask import current_app

    from webapp.classroom import store

    store.migrate(store.get_store(current_app).engine)
    click.echo(f"classroom schema up to date in {store.get_store(current_app).engine.url!r}")


@classroom_cli.command("purge", help="Delete drawings past CLASSROOM_RETENTION_DAYS now.")
def purge_command() -> None:
    from flask import current_app

    from webapp.classroom import store

    with current_app.app_context():
        drawings, classes = store.purge(store.get_session(), current_app.config["CLASSROOM_RETENTION_DAYS"])
    click.echo(f"deleted {drawings} drawings and {classes} empty classes past retention")
