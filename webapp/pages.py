"""The HTML pages: the drawing pad, the layers view and each network's record."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, current_app, render_template, request
from flask_babel import format_number, format_percent, gettext

from webapp import record
from webapp.model import CARD_FILE, discover

bp = Blueprint("pages", __name__)


@cache
def test_accuracy(card_path: Path) -> float | None:
    """A network's accuracy on the MNIST test set, from its card."""
    try:
        card = json.loads(card_path.read_text())
        return float(card["test"]["accuracy"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@cache
def served_networks(artifacts: Path, default: str) -> tuple[dict, ...]:
    """Name, parameters and input size of each network in ``artifacts``, the default first (as /api/models)."""
    names = discover(artifacts)
    ordered = [default, *sorted(name for name in names if name != default)] if default in names else names
    networks = []
    for name in ordered:
        card = json.loads((artifacts / name / CARD_FILE).read_text())
        networks.append({"name": name, "parameters": card["parameters"]["total"], "input_size": card["input_shape"][0]})
    return tuple(networks)


def networks() -> tuple[dict, ...]:
    config = current_app.config
    return served_networks(Path(config["ARTIFACTS_DIR"]), config["DEFAULT_MODEL"])


def chosen_model() -> str:
    """The network the page shows: ``?model=<name>`` when it is served, else the default."""
    name = request.args.get("model")
    return name if name in {network["name"] for network in networks()} else current_app.config["DEFAULT_MODEL"]


def linked_model() -> str | None:
    """What links to the other page carry as ?model=: the chosen network, when the URL names one."""
    return chosen_model() if "model" in request.args else None


def model_summary() -> str:
    """One line about the chosen network, in the page's language."""
    config = current_app.config
    accuracy = test_accuracy(Path(config["ARTIFACTS_DIR"]) / chosen_model() / CARD_FILE)
    if accuracy is None:
        return gettext("model card missing")
    return gettext(
        "%(accuracy)s on the 10,000 MNIST test digits", accuracy=format_percent(accuracy, "#,##0.00%")
    )


@bp.app_context_processor
def inject_model_summary() -> dict:
    return {
        "model_summary": model_summary,
        "networks": networks,
        "chosen_model": chosen_model,
        "linked_model": linked_model,
        "format_number": format_number,
        "current_model": chosen_model(),
    }


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


@bp.get("/record")
def record_page() -> tuple[str, int] | str:
    """Show a network's record: accuracy per digit, confusion matrix, learning curves, layers."""
    name = request.args.get("model") or record.default_network()
    try:
        view = record.view(name)
    except record.UnknownNetwork:
        return render_template("record.html", record=None, missing=name, networks=record.network_names()), 404
    return render_template("record.html", record=view, networks=record.network_names())
