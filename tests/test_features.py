"""/api/features and /api/kernels: one entry per layer, values that decode to what the model computes."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from train.drawings import random_drawing, render
from webapp.features import dequantize_channels, encode_values, quantize_channels


def test_quantization_round_trip_is_within_half_a_step():
    values = np.random.default_rng(0).normal(size=(6, 5, 3)).astype(np.float32)
    encoded = encode_values(values)
    decoded = dequantize_channels(base64.b64decode(encoded["data"]), values.shape, encoded["min"], encoded["max"])
    steps = (np.array(encoded["max"]) - np.array(encoded["min"])) / 255
    assert decoded.shape == values.shape
    assert np.all(np.abs(decoded - values) <= steps / 2 + 1e-6)


def test_constant_channels_and_vectors():
    planes, low, high = quantize_channels(np.zeros((4, 4, 2), np.float32))
    assert planes.shape == (2, 4, 4) and not planes.any() and list(low) == list(high) == [0, 0]
    vector = np.linspace(-1, 1, 7, dtype=np.float32)
    encoded = encode_values(vector)
    decoded = dequantize_channels(base64.b64decode(encoded["data"]), vector.shape, encoded["min"], encoded["max"])
    np.testing.assert_allclose(decoded, vector, atol=1 / 255 + 1e-6)


@pytest.mark.parametrize("shape", [(1568, 256), (3, 70000), (14, 14, 32), (5, 5, 32, 16), (256,), (1, 1)])
def test_quantization_is_the_formula_byte_for_byte(shape):
    """The blocked, in-place arithmetic gives exactly round((value - min) / span * 255) per channel."""
    rng = np.random.default_rng(sum(shape))
    values = rng.normal(size=shape).astype(np.float32) * np.float32(3.0)
    values[rng.random(shape) < 0.5] = 0.0  # rows of zeros, as after a ReLU; some channels constant
    planes, low, high = quantize_channels(values if values.ndim > 1 else values[:, None])
    reference = np.moveaxis(values if values.ndim > 1 else values[:, None], -1, 0)
    reference = reference.reshape(reference.shape[0], -1)
    ref_low, ref_high = reference.min(axis=1), reference.max(axis=1)
    span = np.where(ref_high > ref_low, ref_high - ref_low, np.float32(1.0))
    expected = np.round((reference - ref_low[:, None]) / span[:, None] * np.float32(255.0)).astype(np.uint8)
    assert planes.dtype == np.uint8 and planes.reshape(expected.shape).tobytes() == expected.tobytes()
    assert np.array_equal(low, ref_low) and np.array_equal(high, ref_high)


@pytest.fixture(scope="module")
def answer(client_module):
    png = render(random_drawing(np.random.default_rng(4), 4))
    response = client_module.post("/api/features", data=png, content_type="image/png")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture(scope="module")
def client_module(app):
    return app.test_client()


def test_one_entry_per_layer_in_model_order(app, answer):
    from webapp.registry import get_holder

    model = get_holder(app).get(timeout=60).get()
    assert [layer["name"] for layer in answer["layers"]] == [info.name for info in model.layers]
    assert answer["layers"][0]["kind"] == "InputLayer" and answer["layers"][-1]["name"] == "softmax"
    for layer, info in zip(answer["layers"], model.layers, strict=True):
        assert tuple(layer["shape"]) == info.shape
        channels = layer["shape"][-1] if len(layer["shape"]) > 1 else 1
        assert len(layer["min"]) == len(layer["max"]) == channels
        assert len(base64.b64decode(layer["data"])) == int(np.prod(layer["shape"]))


def test_values_decode_to_what_the_model_computes(app, answer):
    from webapp.registry import get_holder

    model = get_holder(app).get(timeout=60).get()
    image = np.array(answer["input"], dtype=np.uint8)
    outputs = model.features(image)
    for layer, expected in zip(answer["layers"], outputs, strict=True):
        decoded = dequantize_channels(base64.b64decode(layer["data"]), layer["shape"], layer["min"], layer["max"])
        step = (np.array(layer["max"]) - np.array(layer["min"])).max() / 255
        np.testing.assert_allclose(decoded, expected, atol=step / 2 + 1e-5, err_msg=layer["name"])
    softmax = answer["layers"][-1]
    decoded = dequantize_channels(base64.b64decode(softmax["data"]), softmax["shape"], softmax["min"], softmax["max"])
    np.testing.assert_allclose(decoded, answer["probabilities"], atol=1 / 255)


def test_layer_settings_for_the_page(answer):
    by_name = {layer["name"]: layer for layer in answer["layers"]}
    assert by_name["conv1"]["settings"]["kernel_size"] == [5, 5]
    assert by_name["conv1"]["settings"]["padding"] == "same"
    assert by_name["pool1"]["settings"]["pool_size"] == [2, 2]
    assert by_name["conv1"]["parameters"] == 5 * 5 * 1 * by_name["conv1"]["shape"][-1] + by_name["conv1"]["shape"][-1]


def test_kernels_are_exact_and_cacheable(small_artifacts, client_module):
    import keras

    trained = keras.saving.load_model(small_artifacts / "digit-lens.keras", compile=False)
    response = client_module.get("/api/kernels")
    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"] and response.headers["ETag"]
    layers = response.get_json()["layers"]
    assert [layer["name"] for layer in layers] == ["conv1", "conv2"]
    expected = trained.get_layer("conv2").get_weights()[0]
    kernel = np.frombuffer(base64.b64decode(layers[1]["kernel"]), "<f4").reshape(layers[1]["kernel_shape"])
    np.testing.assert_array_equal(kernel, expected)
    again = client_module.get("/api/kernels", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
