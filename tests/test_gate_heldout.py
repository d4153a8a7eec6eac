"""The shipped gate's held-out figures are true: its card's record against what the shipped LiteRT gate answers.

The held-out generator (train/heldout.py) types characters in the DejaVu fonts, a family the gate
never trained on, and draws train/drawings.py's strokes, which it never trained on either. Its items
are seeded one by one, so the first items of the card's set can be made again here, quickly. The
fonts come from Debian's packages (`make fonts`, run by `make test`).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from train.fonts import HELD_OUT_FAMILIES, font_files
from train.heldout import figures, held_out_set
from webapp.artifacts import ARTIFACTS, CARD_FILE, GATE_FOLDER
from webapp.gate import Gate


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads((ARTIFACTS / GATE_FOLDER / CARD_FILE).read_text())


@pytest.fixture(scope="module")
def sample(card):
    """The first items of the card's held-out set and the shipped gate's decisions on them."""
    recorded = card["held_out"]
    held_out = held_out_set(recorded["sample"]["count"], recorded["seed"])
    gate = Gate.load(ARTIFACTS / GATE_FOLDER)
    rejected = np.array([gate.rejects(gate.not_a_digit(image)) for image in held_out.images])
    return held_out, rejected


def test_the_held_out_fonts_are_installed_and_never_trained_on(card):
    held_out = font_files(held_out=True)
    assert len(held_out) >= 10, "make fonts installs the DejaVu family the held-out set is typed in"
    trained = card["fonts"]["training_files"]  # empty for a gate trained before train/fonts.py
    assert card["fonts"]["held_out_families"] == list(HELD_OUT_FAMILIES)
    assert not [name for name in trained if name.startswith(HELD_OUT_FAMILIES)]
    assert {path.name for path in held_out}.isdisjoint(trained)


def test_the_sample_answers_as_the_card_records(card, sample):
    held_out, rejected = sample
    answered = figures(held_out, rejected)
    recorded = card["held_out"]["sample"]
    assert answered["digits_rejected"] == recorded["digits_rejected"]
    assert answered["not_digits_rejected"] == recorded["not_digits_rejected"]
    assert set(held_out.source) == {"typed", "drawn"} and held_out.is_digit.mean() == 0.5


@pytest.mark.parametrize("key", ["digits_rejected", "not_digits_rejected"])
def test_the_sample_agrees_with_the_whole_set(card, sample, key):
    """The whole set's rate lies within four standard errors of the sample's (the sample is its first items)."""
    held_out, rejected = sample
    whole = card["held_out"][key]
    assert whole["count"] >= 2000
    part = figures(held_out, rejected)[key]
    rate = whole["rate"]
    error = math.sqrt(max(rate * (1 - rate), 0.01 * 0.99) / part["count"])
    assert abs(part["rate"] - rate) <= 4 * error
