"""The classroom's pages: open or join a class, a student's pad, the teacher's class page."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

import webapp.classroom.tokens as tokens

bp = Blueprint("classroom", __name__)


@bp.get("/classroom")
def start() -> str:
    """Show how to open a class (teachers) or join one (students)."""
    return render_template("classroom.html", needs_admin=bool(current_app.config.get("CLASSROOM_ADMIN_TOKEN")),
                           retention_days=current_app.config["CLASSROOM_RETENTION_DAYS"])


@bp.get("/classroom/<code>")
def student(code: str) -> str:
    """Show a student's pad for the class: draw, label, consent, see the readings."""
    return render_template("classroom_student.html", code=tokens.normalise_code(code),
                           retention_days=current_app.config["CLASSROOM_RETENTION_DAYS"])


@bp.get("/classroom/<code>/teacher")
def teacher(code: str) -> str:
    """Show the class page; the teacher token travels in the URL's fragment, never to the server."""
    return render_template("classroom_teacher.html", code=tokens.normalise_code(code),
                           retention_days=current_app.config["CLASSROOM_RETENTION_DAYS"])
