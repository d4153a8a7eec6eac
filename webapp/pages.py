"""The HTML pages: the drawing pad and the layers view."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, current_app, render_template
from flask_babel import format_percent, gettext

from webapp.model import CARD_FILE

bp = Blueprint("pages", __name__)


@cache
def test_accuracy(card_path: Path) -> float | None:
    """A network's accuracy on the MNIST test set, from its card."""
    try:
        card = json.loads(card_path.read_text())
        return float(card["test"]["accuracy"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def model_summary() -> str:
    """One line about the default network, in the page's language."""
    config = current_app.config
    accuracy = test_accuracy(Path(config["ARTIFACTS_DIR"]) / config["DEFAULT_MODEL"] / CARD_FILE)
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


@bp.get("/playground")
def playground() -> str:
    """Show the convolution and pooling playground: the seeds' examples, any kernel, stride, padding."""
    return render_template("playground.html")
