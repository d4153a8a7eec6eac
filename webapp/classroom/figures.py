"""A class's figures from its stored readings: per digit, per network, the hardest digits; the fine-tuned card."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from webapp.artifacts import read_card

DIGITS = 10


def finetuned_name(code: str) -> str:
    """The served network fine-tuned on a class's drawings (``make finetune CLASS=<code>``)."""
    return f"class-{code.lower()}"


def class_figures(per_label: dict[int, int], cells, registry) -> dict:
    """``{"drawings", "per_digit", "models": {name: {"accuracy", "mnist_accuracy", "confusion",
    "per_digit_accuracy", "drawings"}}, "hardest": [...]}`` from the class's counts; ``hardest`` holds
    only the digits some network misread, least often read right first.

    ``per_label`` counts the class's drawings per label; ``cells`` are (model, label, most probable
    digit, count) rows: how many drawings of that label each network read as that digit.

    A network's accuracy and confusion matrix use its most probable digit
    (``best``), as MNIST's test accuracy on its card does, so the two figures
    compare; a drawing it declined to read (uncertain, not a digit) still
    counts where its top probability fell. Networks served now come first
    (the default first), then any that read older drawings only.
    """
    per_digit = [int(per_label.get(digit, 0)) for digit in range(DIGITS)]
    confusions: dict[str, np.ndarray] = {}
    for name, label, best, count in cells:
        matrix = confusions.setdefault(name, np.zeros((DIGITS, DIGITS), dtype=np.int64))
        matrix[label, best] += count
    served = list(registry.names)
    names = [name for name in served if name in confusions] + sorted(set(confusions) - set(served))
    models = {}
    right_per_digit = np.zeros(DIGITS)
    readings_per_digit = np.zeros(DIGITS)
    for name in names:
        matrix = confusions[name]
        total = int(matrix.sum())
        rows_sum = matrix.sum(axis=1)
        mnist = registry.get(name).summary()["accuracy"].get("mnist_test") if name in served else None
        models[name] = {
            "accuracy": round(float(np.trace(matrix) / total), 5) if total else None,
            "mnist_accuracy": mnist,
            "drawings": total,
            "per_digit_accuracy": [round(float(matrix[d, d] / rows_sum[d]), 5) if rows_sum[d] else None
                                   for d in range(DIGITS)],
            "confusion": matrix.tolist(),
        }
        right_per_digit += np.diag(matrix)
        readings_per_digit += rows_sum
    # The hardest digits: those the networks together read right least often. A digit no network misread
    # is not hard, nor is one never drawn: with no misreading at all the list is empty.
    hardest = sorted(
        ({"digit": d, "accuracy": round(float(right_per_digit[d] / readings_per_digit[d]), 5),
          "drawings": per_digit[d]} for d in range(DIGITS) if right_per_digit[d] < readings_per_digit[d]),
        key=lambda entry: (entry["accuracy"], -entry["drawings"]),
    )
    return {"drawings": sum(per_digit), "per_digit": per_digit, "models": models, "hardest": hardest}


def finetuned(artifacts: str | Path, code: str) -> dict | None:
    """The comparison ``train.finetune`` wrote into the class network's card, or None."""
    try:
        card = read_card(Path(artifacts) / finetuned_name(code))
        return {"model": finetuned_name(code), **card["classroom"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
