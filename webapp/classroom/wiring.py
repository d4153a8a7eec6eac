"""What ``create_app`` wires for the classroom, without importing SQLAlchemy: settings, URLs, teardown.

A worker that never answers a class request never loads the store: SQLAlchemy
and the classroom's views cost every worker ~20 MiB and ~0.25 s of CPU at
start (docs/figures.md). So the API's URLs are registered here with their
endpoint names (``classroom_api.create_class``, ... : ``url_for`` builds them
from the start), each view a ``LazyView`` that imports ``webapp.classroom.api``
on its first call (Flask's "lazily loading views" pattern); the engine is made
on first use (``store.get_store``), and the teardown closes a session only
when a request opened one.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint, Flask, g
from werkzeug.utils import cached_property, import_string

DEFAULTS = {
    "DATABASE_URL": None,  # None: sqlite:///<instance folder>/classroom.sqlite3
    "CLASSROOM_ADMIN_TOKEN": None,  # set: creating a class needs "Authorization: Bearer <it>"
    "CLASSROOM_RETENTION_DAYS": 30,
    "CLASSROOM_MAX_DRAWINGS": 10_000,  # per class
    "CLASSROOM_RATE_LIMIT": 600,  # drawings per class per window
    "CLASSROOM_RATE_WINDOW_SECONDS": 60,
    "CLASSROOM_PURGE_INTERVAL_SECONDS": 600,  # how often a process deletes expired drawings
    "CLASSROOM_MIGRATE": True,  # bring the schema up to date on first use
}

API_VIEWS = "webapp.classroom.api"
# (rule under /api/classes, method, view function in API_VIEWS); the endpoint is classroom_api.<view>.
API_ROUTES = (
    ("", "POST", "create_class"),
    ("/<code>/join", "GET", "join"),
    ("/<code>/drawings", "POST", "add_drawing"),
    ("/<code>", "GET", "class_figures"),
    ("/<code>/drawings", "GET", "list_drawings"),
    ("/<code>/export", "GET", "export"),
    ("/<code>/drawings/<drawing_id>", "DELETE", "delete_drawing"),
    ("/<code>", "DELETE", "delete_class"),
)


class LazyView:
    """A view function imported on its first call, named by its module and name (``"package.module.view"``)."""

    def __init__(self, import_name: str):
        self.__module__, self.__name__ = import_name.rsplit(".", 1)
        self.import_name = import_name

    @cached_property
    def view(self):
        return import_string(self.import_name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.view(*args, **kwargs)


def api_blueprint() -> Blueprint:
    """The classroom API's blueprint: every URL and endpoint, no view imported yet."""
    bp = Blueprint("classroom_api", __name__, url_prefix="/api/classes")
    for rule, method, view in API_ROUTES:
        bp.add_url_rule(rule, view, LazyView(f"{API_VIEWS}.{view}"), methods=[method])
    # Expired drawings are deleted by the class requests themselves, at most every purge interval.
    bp.before_request(LazyView("webapp.classroom.store.purge_when_due"))
    return bp


def close_session(_error: BaseException | None = None) -> None:
    """End this request's classroom session, if it opened one (``store.get_session``)."""
    session = g.pop("classroom_session", None)
    if session is not None:
        session.close()


def configure(app: Flask) -> None:
    """Fill in the classroom's settings: test config and ``DIGIT_LENS_*`` first, then the bare
    environment variables the docs name (``DATABASE_URL``, ``CLASSROOM_*``), then the defaults."""
    for key, default in DEFAULTS.items():
        if key in app.config:
            continue
        value = os.environ.get(key)
        app.config[key] = default if value is None or value == "" else value
    for key in ("CLASSROOM_MAX_DRAWINGS", "CLASSROOM_RATE_LIMIT"):
        app.config[key] = int(app.config[key])
    for key in ("CLASSROOM_RETENTION_DAYS", "CLASSROOM_RATE_WINDOW_SECONDS", "CLASSROOM_PURGE_INTERVAL_SECONDS"):
        app.config[key] = float(app.config[key])
    if isinstance(app.config["CLASSROOM_MIGRATE"], str):
        app.config["CLASSROOM_MIGRATE"] = app.config["CLASSROOM_MIGRATE"].lower() not in ("0", "false", "no")
