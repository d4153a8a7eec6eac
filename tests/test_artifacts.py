"""A network folder's geometry: each conv and pooling layer's padding, written once into layers.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from webapp.artifacts import ARTIFACTS, GATE_FOLDER, LAYERS_JSON, WINDOWED_KINDS, discover, layer_padding, same_padding


@pytest.mark.parametrize(
    ("size", "window", "stride", "expected"),
    [
        (28, 5, 1, (2, 2)),
        (28, 3, 1, (1, 1)),
        (28, 4, 1, (1, 2)),  # an even kernel: the extra zero goes after
        (28, 3, 2, (0, 1)),  # stride 2: 14 outputs need one zero, after
        (7, 2, 2, (0, 1)),
        (8, 2, 2, (0, 0)),
        (5, 7, 1, (3, 3)),  # a window wider than the input
    ],
)
def test_same_padding_follows_tensorflows_rule(size, window, stride, expected):
    assert same_padding(size, window, stride) == expected
    before, after = expected
    assert (size + before + after - window) // stride + 1 == -(-size // stride)


@pytest.mark.parametrize(("kernel", "stride", "size"), [(4, 2, 6), (3, 2, 7), (2, 1, 5), (5, 3, 9)])
def test_same_padding_is_where_tensorflow_puts_the_zeros(kernel, stride, size):
    """A kernel that picks its top-left input shows where the padded input starts: (-top, -left)."""
    import keras

    model = keras.Sequential([keras.Input((size, size, 1)), keras.layers.Conv2D(1, kernel, strides=stride, padding="same", use_bias=False)])
    weights = np.zeros((kernel, kernel, 1, 1), np.float32)
    weights[0, 0] = 1.0
    model.layers[0].set_weights([weights])
    image = np.arange(1, size * size + 1, dtype=np.float32).reshape(1, size, size, 1)
    output = np.asarray(model(image))[0, :, :, 0]
    top, bottom, left, right = layer_padding("Conv2D", {"kernel_size": [kernel] * 2, "strides": [stride] * 2, "padding": "same"}, [size, size, 1])
    padded = np.pad(image[0, :, :, 0], [(top, bottom), (left, right)])
    assert output.shape[0] == (size + top + bottom - kernel) // stride + 1
    np.testing.assert_array_equal(output, padded[: output.shape[0] * stride : stride, : output.shape[1] * stride : stride])


@pytest.mark.parametrize("name", [*discover(ARTIFACTS), GATE_FOLDER])
def test_every_shipped_windowed_layer_has_its_padding_and_output_size(name):
    layers = json.loads((ARTIFACTS / name / LAYERS_JSON).read_text())["layers"]
    windowed = 0
    for previous, layer in zip(layers, layers[1:]):
        if layer["kind"] not in WINDOWED_KINDS:
            assert "padding" not in layer, layer["name"]
            continue
        windowed += 1
        settings = layer["settings"]
        assert layer["padding"] == layer_padding(layer["kind"], settings, previous["output_shape"]), layer["name"]
        window = settings.get("kernel_size") or settings["pool_size"]
        strides = settings.get("strides") or window
        top, bottom, left, right = layer["padding"]
        assert layer["output_shape"][0] == (previous["output_shape"][0] + top + bottom - window[0]) // strides[0] + 1
        assert layer["output_shape"][1] == (previous["output_shape"][1] + left + right - window[1]) // strides[1] + 1
    assert windowed >= 2


def test_the_api_sends_each_layers_padding(shipped_layers):
    for layer in shipped_layers:
        assert ("padding" in layer) == (layer["kind"] in WINDOWED_KINDS), layer["name"]
    conv1 = next(layer for layer in shipped_layers if layer["name"] == "conv1")
    assert conv1["padding"] == [2, 2, 2, 2]  # digit-lens: 5x5, "same"


@pytest.fixture(scope="module")
def shipped_layers():
    from tests.conftest import png_bytes
    from webapp import create_app

    client = create_app({"TESTING": True}).test_client()
    image = np.full((280, 280), 255, np.uint8)
    image[60:220, 130:150] = 0
    return client.post("/api/features", data=png_bytes(image), content_type="image/png").get_json()["layers"]
