"""The HTML pages: the drawing pad, the layers view and each network's record."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import format_number, format_percent, gettext

from webapp import record
from webapp.registry import UnknownModel, network_card, network_cards, network_names

bp = Blueprint("pages", __name__)


def networks() -> tuple[dict, ...]:
    """Name, parameters and input size of each served network, the default first (as /api/models), from the cards."""
    return tuple(
        {"name": name, "parameters": card["parameters"]["total"], "input_size": card["input_shape"][0]}
        for name, card in network_cards().items()
    )


def chosen_network() -> str:
    """The network the page shows: ``?model=<name>`` when it is served, else the default."""
    name = request.args.get("model")
    return name if name in network_names() else current_app.config["DEFAULT_MODEL"]


def linked_model() -> str | None:
    """What links to the other page carry as ?model=: the chosen network, when the URL names one."""
    return chosen_network() if "model" in request.args else None


def network_summary() -> str:
    """One line about the chosen network, in the page's language."""
    try:
        accuracy = float(network_card(chosen_network())["test"]["accuracy"])
    except (UnknownModel, KeyError, TypeError, ValueError):
        accuracy = None
    if accuracy is None:
        return gettext("model card missing")
    return gettext(
        "%(accuracy)s on the 10,000 MNIST test digits", accuracy=format_percent(accuracy, "#,##0.00%")
    )


@bp.app_context_processor
def inject_page_helpers() -> dict:
    return {
        "network_summary": network_summary,
        "networks": networks,
        "chosen_network": chosen_network,
        "linked_model": linked_model,
        "format_number": format_number,
        "current_model": chosen_network(),
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
    name = request.args.get("model") or current_app.config["DEFAULT_MODEL"]
    try:
        view = record.view(name)
    except UnknownModel:
        return render_template("record.html", record=None, missing=name, networks=network_names()), 404
    return render_template("record.html", record=view, networks=network_names())
