"""The HTML pages: the drawing pad and the layers view."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    """Show the drawing pad."""
    return render_template("index.html")


@bp.get("/layers")
def layers() -> str:
    """Show every layer of the network on the current drawing."""
    return render_template("layers.html")
