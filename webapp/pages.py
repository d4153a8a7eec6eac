"""The HTML pages: the drawing pad and the layers view."""

from __future__ import annotations

import json
from functools import cache

from flask import Blueprint, render_template
from flask_babel import format_percent, gettext

from webapp.model import ARTIFACTS

bp = Blueprint("pages", __name__)


@cache
def test_accuracy() -> float | None:
    """The shipped model's accuracy on the MNIST test set, from its card."""
    try:
        card = json.loads((ARTIFACTS / "model_card.json").read_text())
        return float(card["test"]["accuracy"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def model_summary() -> str:
    """One line about the shipped model, in the page's language."""
    accuracy = test_accuracy()
    if accuracy is None:
        return gettext("model card missing")
    return gettext(
        "%(accuracy)s on the 10,000 MNIST test digits", accuracy=format_percent(accuracy, "#,##0.00%")
    )


@bp.app_context_processor
def inject_model_summary() -> dict:
    return {"model_summary": model_summary}


@bp.get("/")
def index() -> str:
    """Show the drawing pad."""
    return render_template("index.html")


@bp.get("/layers")
def layers() -> str:
    """Show every layer of the network on the current drawing."""
    return render_template("layers.html")
