"""Each served network's record, from its model card: what the record page and its digits show.

A network's card is ``card.json`` in its folder of the artifacts
(``webapp/artifacts/<name>/``), read by ``webapp.registry.network_card``.
The record page needs nothing loaded: it reads the cards. The test set's
per-image predictions are the card's ``test.predictions`` (written by the
exporter: one character per MNIST test image, the digit the served network
reads); accuracy on drawn digits is its ``drawn`` (``train/drawn.py``). A
card without predictions shows its matrix but cannot list a cell's digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webapp.mnist import SIZE, shipped_test_set
from webapp.registry import network_card

def test_predictions(name: str) -> np.ndarray | None:
    """The digit network ``name`` reads for each MNIST test image, in test-set order, or None if unrecorded."""
    predictions = network_card(name).get("test", {}).get("predictions")
    if isinstance(predictions, str):  # the exporter's form: one character a digit
        predictions = [int(character) for character in predictions if character.isdigit()]
    if not isinstance(predictions, list) or len(predictions) != SIZE:
        return None
    return np.asarray(predictions, dtype=np.int64)


def drawn_accuracy(name: str) -> dict | None:
    """Accuracy on the project's own drawn digits (``images``, ``accuracy``, ``per_digit_accuracy``), if recorded."""
    return network_card(name).get("drawn")


def cell_indices(name: str, label: int, predicted: int) -> np.ndarray | None:
    """Indices of the test digits labelled ``label`` that network ``name`` read as ``predicted``."""
    predictions = test_predictions(name)
    if predictions is None:
        return None
    return np.flatnonzero((shipped_test_set().labels == label) & (predictions == predicted))


@dataclass(frozen=True)
class Curve:
    """One learning curve as an SVG polyline in a ``width`` x ``height`` plot."""

    name: str
    points: str  # "x,y x,y ..." for <polyline points>
    last: float


@dataclass(frozen=True)
class Chart:
    title: str
    curves: list[Curve]
    low: float
    high: float
    epochs: int
    best_epoch: int | None
    ticks: list[tuple[float, str]]  # (y in the plot, label)


PLOT_WIDTH = 320
PLOT_HEIGHT = 180


def _chart(
    title: str, series: dict[str, list[float]], low: float, high: float, best_epoch: int | None, fmt: str, step: float
) -> Chart:
    epochs = max(len(values) for values in series.values())
    span = (high - low) or 1.0

    def x(epoch: int) -> float:
        return round(epoch / max(1, epochs - 1) * PLOT_WIDTH, 1)

    def y(value: float) -> float:
        return round((1 - (value - low) / span) * PLOT_HEIGHT, 1)

    curves = [
        Curve(name, " ".join(f"{x(epoch)},{y(value)}" for epoch, value in enumerate(values)), values[-1])
        for name, values in series.items()
        if values
    ]
    count = round((high - low) / step)
    ticks = [(y(low + index * step), format(low + index * step, fmt)) for index in range(count + 1)]
    return Chart(title, curves, low, high, epochs, best_epoch, ticks)


def _nice_step(span: float, steps: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) of about ``span / steps``."""
    raw = span / steps
    power = 10.0 ** np.floor(np.log10(raw))
    return float(next(power * factor for factor in (1, 2, 2.5, 5, 10) if power * factor >= raw))


def learning_charts(history: dict[str, list[float]], best_epoch: int | None) -> list[Chart]:
    """Loss and accuracy per epoch, training and validation, from the card's history; round ticks."""
    charts = []
    for title, keys, fmt, floor in (("loss", ("loss", "val_loss"), ".2f", 0.0), ("accuracy", ("accuracy", "val_accuracy"), ".0%", None)):
        series = {key: history[key] for key in keys if history.get(key)}
        if not series:
            continue
        low = min(min(values) for values in series.values()) if floor is None else floor
        high = max(max(values) for values in series.values())
        step = _nice_step(max(high - low, 1e-6))
        low, high = np.floor(low / step + 1e-9) * step, np.ceil(high / step - 1e-9) * step
        charts.append(_chart(title, series, float(low), float(high), best_epoch, fmt, step))
    return charts


def _heat(count: int, row_total: int) -> int:
    """A colour step 0-5 for a confusion-matrix cell: 0 empty, 5 the whole row."""
    if count == 0 or row_total == 0:
        return 0
    share = count / row_total
    for step, bound in enumerate((0.002, 0.01, 0.05, 0.5), start=1):
        if share < bound:
            return step
    return 5


def view(name: str) -> dict:
    """Everything the record page shows for network ``name``, from its card.

    Raises:
        UnknownModel: no network of that name.
    """
    info = network_card(name)
    test = info.get("test", {})
    matrix = test.get("confusion_matrix") or []
    drawn = drawn_accuracy(name)
    drawn_per_digit = (drawn or {}).get("per_digit_accuracy") or [None] * 10
    digits = []
    for digit, row in enumerate(matrix):
        total = sum(row)
        digits.append(
            {
                "digit": digit,
                "images": total,
                "right": row[digit],
                "errors": total - row[digit],
                "accuracy": row[digit] / total if total else None,
                "drawn": drawn_per_digit[digit] if digit < len(drawn_per_digit) else None,
            }
        )
    rows = [
        [{"count": count, "heat": _heat(count, sum(row)), "right": label == predicted} for predicted, count in enumerate(row)]
        for label, row in enumerate(matrix)
    ]
    column_totals = [sum(row[column] for row in matrix) for column in range(len(matrix))]
    total_parameters = info.get("parameters", {}).get("total") or sum(
        layer.get("parameters", 0) for layer in info.get("architecture", [])
    )
    training = info.get("training", {})
    return {
        "name": name,
        "title": info.get("title") or name,
        "source": info.get("source"),
        "lesson": info.get("lesson"),  # the book or article, as its readers know it (train/networks.py)
        "accuracy": test.get("accuracy"),
        "images": test.get("images") or sum(sum(row) for row in matrix),
        "errors": sum(item["errors"] for item in digits),
        "digits": digits,
        "matrix": rows,
        "column_totals": column_totals,
        "has_predictions": test_predictions(name) is not None,
        "charts": learning_charts(training.get("history", {}), training.get("best_epoch")),
        # The seeds' recipes hold no validation split out: their val_* curves are the test set, as the seeds report.
        "validation_is_test": "validation_images" not in training and "none held out" in str(training.get("validation", "")),
        "layers": info.get("architecture", []),
        "parameters": total_parameters,
        "drawn": drawn,
        "training": training,
    }
