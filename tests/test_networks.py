"""The seeds' networks: built exactly as their seeds define them, trained by their recipes, judged on drawings."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from train.networks import DEFAULT_NETWORK, NETWORKS, SEED_NETWORKS
from webapp.model import fit_to_input

# Each seed's own figures, layer by layer (trainable layers: output shape, parameters).
SEED_TABLES = {
    # Seed 000's model.summary(): conv2d 156, conv2d_1 2,416, dense 48,120, dense_1 10,164, dense_2 850.
    "lenet": {
        "conv1": ((28, 28, 6), 156),
        "pool1": ((14, 14, 6), 0),
        "conv2": ((10, 10, 16), 2416),
        "pool2": ((5, 5, 16), 0),
        "flatten": ((400,), 0),
        "dense1": ((120,), 48120),
        "dense2": ((84,), 10164),
        "logits": ((10,), 850),
    },
    # Seed 004's script: Conv 32@3x3, Conv 64@3x3, pool, dropout .25, Dense 128, dropout .5, Dense 10.
    "keras-mnist": {
        "conv1": ((26, 26, 32), 320),
        "conv2": ((24, 24, 64), 18496),
        "pool": ((12, 12, 64), 0),
        "dropout1": ((12, 12, 64), 0),
        "flatten": ((9216,), 0),
        "dense1": ((128,), 1179776),
        "dropout2": ((128,), 0),
        "logits": ((10,), 1290),
    },
    # Seed 002's Net on 1x32x32: 28x28 after conv1, 14 after the pool, 10 after conv2, 5 after the pool.
    "torch-net": {
        "conv1": ((28, 28, 8), 208),
        "pool1": ((14, 14, 8), 0),
        "conv2": ((10, 10, 16), 3216),
        "pool2": ((5, 5, 16), 0),
        "flatten": ((400,), 0),
        "fc1": ((256,), 102656),
        "dropout": ((256,), 0),
        "fc2": ((10,), 2570),
    },
    # The book's SimpleConvNet: (28 - 5 + 0) / 1 + 1 = 24; pooled to 12; 30 * 12 * 12 = 4,320 into Affine 100.
    "simple-convnet": {
        "conv1": ((24, 24, 30), 780),
        "pool1": ((12, 12, 30), 0),
        "flatten": ((4320,), 0),
        "affine1": ((100,), 432100),
        "affine2": ((10,), 1010),
    },
}
SEED_TOTALS = {"lenet": 61_706, "keras-mnist": 1_199_882, "torch-net": 108_650, "simple-convnet": 433_890}
INPUT_SIZES = {"lenet": 32, "keras-mnist": 28, "torch-net": 32, "simple-convnet": 28}


def test_the_contracts_names_with_digit_lens_the_default():
    assert list(NETWORKS) == ["digit-lens", "lenet", "keras-mnist", "torch-net", "simple-convnet"]
    assert DEFAULT_NETWORK == "digit-lens"
    assert set(SEED_NETWORKS) == set(SEED_TABLES)


@pytest.mark.parametrize("name", sorted(SEED_TABLES))
def test_each_network_has_its_seeds_shapes_and_parameters(name):
    from train.model import build

    model = build(name)
    assert model.input_shape == (None, INPUT_SIZES[name], INPUT_SIZES[name], 1)
    assert NETWORKS[name].input_size == INPUT_SIZES[name]
    layers = {layer.name: layer for layer in model.layers}
    for layer_name, (shape, parameters) in SEED_TABLES[name].items():
        assert tuple(layers[layer_name].output.shape[1:]) == shape, layer_name
        assert layers[layer_name].count_params() == parameters, layer_name
    assert model.count_params() == SEED_TOTALS[name] == NETWORKS[name].parameters
    # Every layer with weights is one of the seed's; ReLU, Rescaling, Softmax add none.
    weighted = {layer.name for layer in model.layers if layer.count_params()}
    assert weighted == {layer for layer, (_, parameters) in SEED_TABLES[name].items() if parameters}
    assert [layer.name for layer in model.layers][:2] == ["input", "rescale"]
    assert model.layers[-1].name == "softmax"


@pytest.mark.parametrize("name", sorted(SEED_TABLES))
def test_each_network_takes_raw_pixels_and_answers_probabilities(name):
    import keras

    from train.model import build

    keras.utils.set_random_seed(0)
    model = build(name)
    size = INPUT_SIZES[name]
    pixels = np.random.default_rng(0).integers(0, 256, size=(3, size, size, 1)).astype(np.float32)
    probabilities = np.asarray(model(pixels, training=False))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # Rescaling inside: the first convolution sees pixels / 255.
    rescaled = keras.Model(model.input, model.get_layer("rescale").output)(pixels)
    np.testing.assert_allclose(np.asarray(rescaled), pixels / 255, rtol=1e-6)


def test_simple_convnet_starts_from_the_books_weights():
    import keras

    from train.model import build

    keras.utils.set_random_seed(0)
    model = build("simple-convnet")
    for layer_name in ("conv1", "affine1", "affine2"):
        kernel, bias = model.get_layer(layer_name).get_weights()
        assert abs(kernel.std() - 0.01) < 0.002, layer_name  # weight_init_std = 0.01
        assert not bias.any()


def test_fit_to_input_centres_mnist_in_32x32():
    image = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    padded = fit_to_input(image, 32)
    assert padded.shape == (32, 32) and padded.dtype == np.uint8
    assert np.array_equal(padded[2:30, 2:30], image)
    assert not padded[:2].any() and not padded[30:].any() and not padded[:, :2].any() and not padded[:, 30:].any()
    batch = np.stack([image, image[::-1]])
    assert np.array_equal(fit_to_input(batch, 32)[1, 2:30, 2:30], image[::-1])
    assert fit_to_input(image, 28) is image
    with pytest.raises(ValueError):
        fit_to_input(image, 31)


def test_import_train_does_not_load_tensorflow():
    code = "import sys, train, train.networks, train.drawn; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["False", "False"]


def test_seed_recipe_trains_and_writes_a_card(tmp_path, mnist, monkeypatch):
    import keras

    from train import __main__ as command
    from train import data

    monkeypatch.setattr(data, "load", lambda folder=None: mnist)
    status = command.main(
        ["--model", "torch-net", "--epochs", "2", "--limit", "1500", "--out", str(tmp_path), "--verbose", "0"]
    )
    assert status == 0
    folder = tmp_path / "torch-net"
    card = json.loads((folder / "card.json").read_text())
    assert card["name"] == "torch-net" and card["input_size"] == 32
    assert card["parameters"]["total"] == 108_650
    assert sum(layer["parameters"] for layer in card["architecture"]) == 108_650
    training = card["training"]
    assert training["optimizer"] == "Adadelta" and training["batch_size"] == 64 and training["epochs"] == 2
    assert len(training["history"]["val_accuracy"]) == len(training["epoch_seconds"]) == 2
    assert np.array(card["test"]["confusion_matrix"]).sum() == card["test"]["images"] == 1500
    assert any("self.fc" in note for note in card["notes"])
    # Exported for serving, checked against Keras on the images it was tested on.
    assert card["litert"]["same_digit"] == card["litert"]["images"] == 1500
    assert (folder / "layers.tflite").is_file() and len(card["test"]["predictions"]) == 1500

    model = keras.saving.load_model(folder / "model.keras")
    inputs = fit_to_input(mnist.test_images[:300], 32)[..., None].astype(np.float32)
    predicted = np.asarray(model(inputs, training=False)).argmax(axis=1)
    # Two epochs on 1,500 images already read most digits; the card says how many of its 1,500.
    assert (predicted == mnist.test_labels[:300]).mean() > 0.6


def test_drawn_figures_count_the_top_digit_and_no_digit_as_wrong():
    from train.drawn import DrawnSet, drawn_figures

    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 7])
    empty = np.zeros(len(labels), dtype=bool)
    empty[10] = True  # preprocessing found nothing: wrong whatever the network says
    probabilities = np.eye(10)[labels] * 0.9 + 0.01
    probabilities[11] = np.eye(10)[1] * 0.9 + 0.01  # a 7 read as 1
    drawn = DrawnSet(images=np.zeros((12, 28, 28), np.uint8), labels=labels, empty=empty, description="test")
    figures = drawn_figures(probabilities, drawn)
    assert figures["images"] == 12
    assert figures["accuracy"] == pytest.approx(10 / 12, abs=1e-5)
    assert figures["per_digit_accuracy"][1] == 0.5 and figures["per_digit_accuracy"][7] == 0.5
    assert figures["per_digit_accuracy"][0] == 1.0
    assert figures["no_digit_found"] == 1
    assert figures["confusion_matrix"][7][1] == 1


@pytest.mark.parametrize("name", sorted(SEED_TABLES))
def test_each_shipped_network_reads_mnist_at_its_recorded_accuracy(name, mnist):
    from webapp.artifacts import ARTIFACTS
    from webapp.model import Network

    network = Network.load(ARTIFACTS / name)  # the served LiteRT files, as a worker loads them
    assert network.input_size == INPUT_SIZES[name] and network.parameters == SEED_TOTALS[name]
    predicted = np.array([network.predict(image).argmax() for image in mnist.test_images])
    accuracy = float((predicted == mnist.test_labels).mean())
    card = network.card
    assert accuracy >= 0.985
    assert accuracy == pytest.approx(card["test"]["accuracy"], abs=1e-4)
    assert card["test"]["images"] == 10000 and np.array(card["test"]["confusion_matrix"]).trace() == round(accuracy * 10000)
    assert len(card["training"]["history"]["val_accuracy"]) == card["training"]["epochs"] == NETWORKS[name].recipe.epochs
    assert card["drawn"]["images"] >= 2000 and 0 < card["drawn"]["accuracy"] <= 1
