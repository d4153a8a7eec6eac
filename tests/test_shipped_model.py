"""The networks served: their LiteRT files compute what their Keras models compute on all 10,000 MNIST test
images, their cards say so truthfully, and the default network meets its accuracy target.

Every network folder the server serves is checked (the operator's $DIGIT_LENS_ARTIFACTS_DIR when set:
imported networks too, python -m train.import); the default network's own tests use the project's folder."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tests.conftest import SERVED_ARTIFACTS, SERVED_NETWORKS
from webapp.artifacts import ARTIFACTS, DEFAULT_MODEL, KERAS_FILE
from webapp.model import Network

SHIPPED = SERVED_NETWORKS

LAYER_NAMES = [
    "input", "rescale", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2",
    "flatten", "dense1", "relu3", "dropout", "logits", "softmax",
]


def test_the_default_network_is_shipped_and_every_trained_network_exported():
    from train.export import exportable

    assert DEFAULT_MODEL in SHIPPED
    # A network trained but never exported would silently not be served.
    assert exportable(SERVED_ARTIFACTS) == SHIPPED


@pytest.fixture(scope="module", params=SHIPPED)
def shipped(request, mnist):
    """(network as served, its Keras model, the parity of the two on MNIST's test set)."""
    import keras

    from train.export import check_parity

    network = Network.load(SERVED_ARTIFACTS / request.param)
    model = keras.saving.load_model(SERVED_ARTIFACTS / request.param / KERAS_FILE, compile=False)
    return network, model, check_parity(model, network, mnist.test_images)


def test_litert_computes_what_keras_computes_on_every_test_image(shipped):
    network, _, parity = shipped
    assert parity.images == 10000
    assert parity.max_probability_difference <= 1e-5
    assert parity.same_digit == 10000
    # Every layer, not only the answer (the layers page shows them all).
    assert set(parity.layer_max_abs_difference) == {info.name for info in network.layers}
    assert parity.problems() == []


def test_the_card_tells_the_truth_about_the_shipped_files(shipped):
    network, model, parity = shipped
    card = network.card
    assert card["name"] == network.name and card["title"] and card["source"]
    assert card["litert"]["images"] == 10000 and card["litert"]["same_digit"] == 10000
    assert card["litert"]["max_probability_difference"] <= 1e-5
    for name, described in card["litert"]["files"].items():
        data = (network.folder / name).read_bytes()
        assert described == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}, name
    # The stored predictions are what the served network reads, test image by test image.
    assert card["test"]["predictions"] == "".join(str(digit) for digit in parity.predictions)
    assert network.parameters == model.count_params() == card["parameters"]["total"]
    assert list(network.input_shape) == list(model.inputs[0].shape[1:])


def test_the_exported_weights_are_the_keras_weights(shipped):
    network, model, _ = shipped
    kernels = network.kernels()
    for layer in model.layers:
        if layer.weights:
            names = [variable.name.split("/")[-1] for variable in layer.weights]
            assert sorted(kernels[layer.name]) == sorted(names)
            for name, variable in zip(names, layer.weights, strict=True):
                np.testing.assert_array_equal(kernels[layer.name][name], variable.numpy())


def test_default_network_has_the_named_layers():
    network = Network.load(ARTIFACTS / DEFAULT_MODEL)
    assert [info.name for info in network.layers] == LAYER_NAMES
    shapes = {info.name: info.shape for info in network.layers}
    assert shapes["conv1"][:2] == (28, 28) and shapes["pool1"][:2] == (14, 14) and shapes["pool2"][:2] == (7, 7)
    assert 8 <= shapes["conv1"][-1] <= 32 and 8 <= shapes["conv2"][-1] <= 32
    assert shapes["softmax"] == (10,)


def test_default_network_scores_at_least_99_5_percent_on_mnist_test(mnist):
    network = Network.load(ARTIFACTS / DEFAULT_MODEL)
    predictions = np.array([network.predict(image).argmax() for image in mnist.test_images])
    accuracy = float((predictions == mnist.test_labels).mean())
    assert accuracy >= 0.995
    # The card tells the truth about the shipped weights.
    assert accuracy == pytest.approx(network.card["test"]["accuracy"], abs=2e-4)
