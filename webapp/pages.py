"""The HTML pages: the drawing pad and the layers view."""

from __future__ import annotations

import json
from functools import cache

from flask import Blueprint, render_template

from webapp.model import ARTIFACTS

bp = Blueprint("pages", __name__)


@cache
def model_summary() -> str:
    """One line about the shipped model, from its card."""
    try:
        card = json.loads((ARTIFACTS / "model_card.json").read_text())
        return f"{card['test']['accuracy']:.2%} on the 10,000 MNIST test digits"
    except (OSError, ValueError, KeyError):
        return "model card missing"


@bp.app_context_processor
def inject_model_summary() -> dict:
    return {"model_summary": model_summary()}


@bp.get("/")
def index() -> str:
    """Show the drawing pad."""
    return render_template("index.html")


@bp.get("/layers")
def layers() -> str:
    """Show every layer of the network on the current drawing."""
    return render_template("layers.html")
