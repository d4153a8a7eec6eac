"""The model committed in the repo: loads, has the named layers, and meets the accuracy target on MNIST."""

from __future__ import annotations

import json

import numpy as np
import pytest

from webapp.model import ARTIFACTS, DEFAULT_MODEL_PATH, DigitModel

LAYER_NAMES = [
    "input", "rescale", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2",
    "flatten", "dense1", "relu3", "dropout", "logits", "softmax",
]


@pytest.fixture(scope="module")
def shipped() -> DigitModel:
    return DigitModel(DEFAULT_MODEL_PATH)


def test_shipped_model_has_the_named_layers(shipped):
    assert [info.name for info in shipped.layers] == LAYER_NAMES
    shapes = {info.name: info.shape for info in shipped.layers}
    assert shapes["conv1"][:2] == (28, 28) and shapes["pool1"][:2] == (14, 14) and shapes["pool2"][:2] == (7, 7)
    assert 8 <= shapes["conv1"][-1] <= 32 and 8 <= shapes["conv2"][-1] <= 32
    assert shapes["softmax"] == (10,)


def test_shipped_model_scores_at_least_99_5_percent_on_mnist_test(shipped, mnist):
    correct = 0
    for start in range(0, 10000, 1000):
        batch = mnist.test_images[start : start + 1000, :, :, None].astype(np.float32)
        probabilities = np.asarray(shipped.model(batch, training=False))
        correct += int((probabilities.argmax(axis=1) == mnist.test_labels[start : start + 1000]).sum())
    accuracy = correct / 10000
    card = json.loads((ARTIFACTS / "model_card.json").read_text())
    assert accuracy >= 0.995
    # The card tells the truth about the shipped weights.
    assert accuracy == pytest.approx(card["test"]["accuracy"], abs=2e-4)
