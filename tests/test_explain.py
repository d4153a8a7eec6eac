"""/api/explain and webapp/explain.py: the terms of a cell add up to what the network computed.

First the seeds' own worked examples (they must come out exactly), then every
layer of every served network on a real drawing, then the HTTP answer against
/api/features and the errors.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tests.conftest import SHIPPED_NETWORKS
from train.drawings import random_drawing, render
from webapp import explain
from webapp.features import dequantize_channels

# --- The seeds' examples --------------------------------------------------------------------

# Seed 002: a 4x4 image and the 2x2 kernel [[1, 0], [0, 1]] give [[3, 4, 2], [3, 2, 2], [1, 2, 2]].
SEED_002_IMAGE = [[2, 2, 1, 2], [1, 1, 2, 1], [1, 2, 1, 0], [1, 0, 0, 1]]
SEED_002_KERNEL = [[1, 0], [0, 1]]
SEED_002_RESULT = [[3, 4, 2], [3, 2, 2], [1, 2, 2]]
# Seed 000: convolution_2d of [[1..9]] with [[1, 0], [0, -1]] prints [[-4, -4], [-4, -4]];
# max_pooling of [[1..16]] with 2x2, stride 2 prints [[6, 8], [14, 16]].
SEED_000_IMAGE = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
SEED_000_KERNEL = [[1, 0], [0, -1]]
SEED_000_POOL_INPUT = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]


def as_layer_input(rows) -> np.ndarray:
    """A 2-D list as a one-channel (H, W, 1) float32 input."""
    return np.asarray(rows, np.float32)[:, :, None]


def as_kernel(rows) -> np.ndarray:
    """A 2-D list as one filter over one channel, Keras layout (KH, KW, 1, 1)."""
    return np.asarray(rows, np.float32)[:, :, None, None]


def convolve(image, kernel, strides=(1, 1), padding="valid") -> np.ndarray:
    """Every output cell through conv_cell: the whole feature map."""
    inputs, weights = as_layer_input(image), as_kernel(kernel)
    height = explain.output_size(inputs.shape[0], weights.shape[0], strides[0], 0) if padding == "valid" else -(
        -inputs.shape[0] // strides[0]
    )
    width = explain.output_size(inputs.shape[1], weights.shape[1], strides[1], 0) if padding == "valid" else -(
        -inputs.shape[1] // strides[1]
    )
    return np.array(
        [
            [explain.conv_cell(inputs, weights, np.zeros(1), (y, x, 0), strides, padding)["computed"] for x in range(width)]
            for y in range(height)
        ]
    )


def test_seed_002_worked_example_product_by_product():
    terms = explain.conv_cell(as_layer_input(SEED_002_IMAGE), as_kernel(SEED_002_KERNEL), np.zeros(1), (0, 0, 0))
    # 2x1 + 2x0 + 1x0 + 1x1 = 3, as the seed writes it.
    assert terms["inputs"] == [2, 2, 1, 1]
    assert terms["weights"] == [1, 0, 0, 1]
    assert terms["positions"] == [[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0]]
    assert terms["computed"] == 3 and terms["channel_sums"] == [3] and terms["bias"] == 0
    second = explain.conv_cell(as_layer_input(SEED_002_IMAGE), as_kernel(SEED_002_KERNEL), np.zeros(1), (0, 1, 0))
    assert second["inputs"] == [2, 1, 1, 2] and second["computed"] == 4  # 2x1 + 1x0 + 1x0 + 2x1 = 4


def test_seed_results_come_out_exactly():
    assert convolve(SEED_002_IMAGE, SEED_002_KERNEL).tolist() == SEED_002_RESULT
    assert convolve(SEED_000_IMAGE, SEED_000_KERNEL).tolist() == [[-4, -4], [-4, -4]]
    pool_input = as_layer_input(SEED_000_POOL_INPUT)
    pooled = [[explain.max_pool_cell(pool_input, (y, x, 0))["computed"] for x in range(2)] for y in range(2)]
    assert pooled == [[6, 8], [14, 16]]


def test_max_pool_marks_the_chosen_cell_and_average_pool_takes_the_mean():
    pool_input = as_layer_input(SEED_000_POOL_INPUT)
    terms = explain.max_pool_cell(pool_input, (1, 0, 0))
    assert terms["inputs"] == [9, 10, 13, 14] and terms["chosen"] == 3
    assert terms["positions"][terms["chosen"]] == [3, 1, 0]
    assert terms["window"] == {"top": 2, "left": 0, "height": 2, "width": 2}
    average = explain.average_pool_cell(pool_input, (1, 0, 0))
    assert average["computed"] == (9 + 10 + 13 + 14) / 4


def test_same_padding_lists_the_zeros_it_adds():
    # Seed 002's edge kernel [[0, 0, 0], [0, 1, -1], [0, 0, 0]] with "same" padding on the 4x4 image.
    kernel = [[0, 0, 0], [0, 1, -1], [0, 0, 0]]
    terms = explain.conv_cell(as_layer_input(SEED_002_IMAGE), as_kernel(kernel), np.zeros(1), (0, 3, 0), padding="same")
    assert terms["window"] == {"top": -1, "left": 2, "height": 3, "width": 3}
    # The window's top row and right column lie outside the image: five zeros of padding.
    assert sum(terms["padding"]) == 5
    assert all(value == 0 for value, pad in zip(terms["inputs"], terms["padding"]) if pad)
    assert terms["computed"] == 2 - 0  # the pixel itself minus the padding to its right
    expected = np.pad(np.asarray(SEED_002_IMAGE, float), 1)
    full = convolve(SEED_002_IMAGE, kernel, padding="same")
    assert full.tolist() == (expected[1:5, 1:5] - expected[1:5, 2:6]).tolist()


def test_stride_moves_the_window_by_its_step():
    image = np.arange(36, dtype=np.float32).reshape(6, 6)
    out = convolve(image, [[1, 0], [0, 0]], strides=(2, 2))
    assert out.tolist() == image[0::2, 0::2].tolist()
    out = convolve(image, [[1, 0, 0], [0, 0, 0], [0, 0, 0]], strides=(3, 3), padding="same")
    # "same" with stride 3 on 6 keeps ceil(6/3) = 2 cells; TensorFlow pads 0 before, 0 after (total 0).
    assert out.tolist() == image[0::3, 0::3].tolist()


def test_dense_softmax_flatten_relu_rescale():
    inputs = np.array([0.5, -1.0, 2.0], np.float32)
    kernel = np.array([[1.0, 0.0], [2.0, 1.0], [0.5, -1.0]], np.float32)
    terms = explain.dense_cell(inputs, kernel, np.array([0.25, 0.0], np.float32), 0)
    assert terms["weights"] == [1.0, 2.0, 0.5] and terms["computed"] == 0.5 - 2.0 + 1.0 + 0.25
    softmax = explain.softmax_cell(np.array([1.0, 2.0, 3.0], np.float32), 2)
    assert softmax["computed"] == pytest.approx(np.exp(3) / np.exp([1, 2, 3]).sum(), rel=1e-12)
    assert softmax["inputs"] == [1.0, 2.0, 3.0]
    maps = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    flat = maps.reshape(-1)
    for index in (0, 5, 13, 23):
        source = explain.flatten_cell(maps, index)
        assert source["computed"] == flat[index] and maps[tuple(source["source"])] == flat[index]
    assert explain.relu_cell(np.array([-2.0, 3.0]), (0,))["computed"] == 0
    assert explain.relu_cell(np.array([-2.0, 3.0]), (1,))["computed"] == 3
    assert explain.rescale_cell(np.full((2, 2, 1), 255.0), (1, 1, 0), 1 / 255, 0.0)["computed"] == 1


# --- Every layer of every served network ----------------------------------------------------


def served_networks():
    """(name, network) for every network the app serves (imported ones too, in $DIGIT_LENS_ARTIFACTS_DIR)."""
    from tests.conftest import SERVED_ARTIFACTS, SERVED_NETWORKS
    from webapp.model import Network

    return [(name, Network.load(SERVED_ARTIFACTS / name)) for name in SERVED_NETWORKS]


@pytest.fixture(scope="module")
def networks():
    return served_networks()


@pytest.fixture(scope="module")
def drawing_image():
    """A drawn 3 as the model sees it (28x28 uint8)."""
    from webapp.preprocess import prepare

    return prepare(render(random_drawing(np.random.default_rng(3), 3))).image


def cells_to_check(shape, output, rng) -> list[tuple[int, ...]]:
    """Corners (the padding), the centre, the strongest cell and a few random ones."""
    if len(shape) == 1:
        cells = {(0,), (shape[0] - 1,), (int(np.argmax(output)),), (int(np.argmin(output)),)}
        cells |= {(int(index),) for index in rng.integers(0, shape[0], 6)}
        return sorted(cells)
    height, width, channels = shape
    cells = {(0, 0, 0), (0, width - 1, channels - 1), (height - 1, 0, 0), (height - 1, width - 1, channels - 1)}
    cells.add((height // 2, width // 2, channels // 2))
    cells.add(tuple(int(index) for index in np.unravel_index(np.argmax(output), shape)))
    cells |= {(int(rng.integers(height)), int(rng.integers(width)), int(rng.integers(channels))) for _ in range(5)}
    return sorted(cells)


def check_terms_add_up(terms: dict, network_output: float) -> None:
    """The operation's rule applied to the terms gives the network's value (float32 tolerance)."""
    operation, inputs, value = terms["operation"], np.asarray(terms["inputs"], np.float64), terms["value"]
    assert value == pytest.approx(network_output, abs=0)
    if operation in ("conv", "dense"):
        weights = np.asarray(terms["weights"], np.float64)
        assert len(weights) == len(inputs)
        products = inputs * weights
        total = products.sum() + terms["bias"]
        scale = np.abs(products).sum() + abs(terms["bias"])
        assert abs(total - value) <= 2e-6 * scale + 1e-6, (terms["layer"], terms["at"], total, value)
        assert terms["computed"] == pytest.approx(total, rel=1e-9, abs=1e-12)
        if operation == "conv":
            channels = len(terms["channel_sums"])
            per_channel = products.reshape(channels, -1).sum(axis=1)
            np.testing.assert_allclose(per_channel, terms["channel_sums"], rtol=1e-9, atol=1e-12)
            assert all(value == 0 for value, pad in zip(terms["inputs"], terms["padding"]) if pad)
    elif operation == "relu":
        assert value == max(0.0, inputs[0])
    elif operation == "max-pool":
        assert value == inputs.max() == inputs[terms["chosen"]]
    elif operation == "average-pool":
        assert value == pytest.approx(inputs.mean(), rel=1e-6)
    elif operation == "softmax":
        exponentials = np.exp(inputs - inputs.max())
        assert value == pytest.approx(exponentials[terms["at"][0]] / exponentials.sum(), rel=1e-5, abs=1e-7)
    elif operation in ("flatten", "dropout"):
        assert value == inputs[0]
    elif operation == "rescale":
        assert value == pytest.approx(inputs[0] * terms["scale"] + terms["offset"], rel=1e-6)
    elif operation == "sigmoid":
        assert value == pytest.approx(1 / (1 + np.exp(-inputs[0])), rel=1e-6, abs=1e-7)
    elif operation == "tanh":
        assert value == pytest.approx(np.tanh(inputs[0]), rel=1e-6, abs=1e-7)
    elif operation == "linear":
        assert value == inputs[0]
    elif operation == "global-average-pool":
        assert len(inputs) == terms["count"] == terms["window"]["height"] * terms["window"]["width"]
        assert value == pytest.approx(inputs.mean(), rel=1e-5, abs=1e-6 * np.abs(inputs).max())
    elif operation == "batch-norm":
        normalised = (inputs[0] - terms["mean"]) / np.sqrt(terms["variance"] + terms["epsilon"])
        assert terms["normalised"] == pytest.approx(normalised, rel=1e-12)
        expected = normalised * terms["gamma"] + terms["beta"]
        scale = abs(normalised * terms["gamma"]) + abs(terms["beta"])
        assert abs(value - expected) <= 2e-6 * scale + 1e-7, (terms["layer"], terms["at"], expected, value)
    elif operation == "zero-padding":
        assert value == (inputs[0] if len(inputs) else 0.0)
    elif operation == "input":
        assert inputs.size == 0 and value == terms["computed"]
    else:
        pytest.fail(f"unexpected operation {operation} for {terms['layer']}")


def test_every_layer_of_every_network_adds_up(networks, drawing_image):
    rng = np.random.default_rng(0)
    for name, model in networks:
        outputs = model.features(drawing_image)
        weights = model.kernels()
        operations = set()
        for position, (layer, output) in enumerate(zip(model.layers, outputs, strict=True)):
            for cell in cells_to_check(layer.shape, output, rng):
                terms = explain.explain_cell(model.layers, outputs, weights, position, cell)
                assert terms["layer"] == layer.name and terms["at"] == list(cell), name
                check_terms_add_up(terms, float(output[cell]))
                # Each input the terms name is the value the previous layer holds there.
                if "positions" in terms and position > 0:
                    previous = outputs[position - 1]
                    for value, where, pad in zip(
                        terms["inputs"], terms["positions"], terms.get("padding", [False] * len(terms["inputs"]))
                    ):
                        if not pad:
                            assert value == previous[tuple(where)]
                operations.add(terms["operation"])
        # Every kind of layer in the network was explained by its own rule.
        if name in SHIPPED_NETWORKS:
            assert {"conv", "relu", "max-pool", "flatten", "dense", "softmax"} <= operations, name


# --- Over HTTP ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_png() -> bytes:
    return render(random_drawing(np.random.default_rng(3), 3))


@pytest.fixture(scope="module")
def features_answer(app, three_png):
    response = app.test_client().post("/api/features", data=three_png, content_type="image/png")
    assert response.status_code == 200
    return response.get_json()


def reported_cell(layer: dict, cell: tuple[int, ...]) -> tuple[float, float]:
    """The value /api/features reports for ``cell`` and the half-step of its 8-bit encoding."""
    decoded = dequantize_channels(base64.b64decode(layer["data"]), layer["shape"], layer["min"], layer["max"])
    channel = cell[-1] if len(layer["shape"]) > 1 else 0
    half_step = (layer["max"][channel] - layer["min"][channel]) / 255 / 2
    return float(decoded[cell]), half_step


def test_explain_matches_what_features_reports_for_every_layer(client, three_png, features_answer):
    rng = np.random.default_rng(1)
    for layer in features_answer["layers"]:
        shape = layer["shape"]
        cell = tuple(int(rng.integers(size)) for size in shape)
        at = ",".join(str(index) for index in cell)
        response = client.post(f"/api/explain?layer={layer['name']}&at={at}", data=three_png, content_type="image/png")
        assert response.status_code == 200, response.get_json()
        terms = response.get_json()
        assert terms["layer"] == layer["name"] and terms["kind"] == layer["kind"] and terms["at"] == list(cell)
        reported, half_step = reported_cell(layer, cell)
        assert abs(terms["value"] - reported) <= half_step + 1e-6, layer["name"]
        check_terms_add_up(terms, terms["value"])


def test_conv_answer_names_the_window_channels_and_padding(client, three_png, features_answer):
    conv2 = next(layer for layer in features_answer["layers"] if layer["name"] == "conv2")
    channels_in = features_answer["layers"][features_answer["layers"].index(conv2) - 1]["shape"][-1]
    response = client.post("/api/explain?layer=conv2&at=0,0,1", data=three_png, content_type="image/png")
    terms = response.get_json()
    kernel = conv2["settings"]["kernel_size"]
    assert terms["operation"] == "conv" and terms["input_layer"] == "pool1"
    assert len(terms["inputs"]) == len(terms["weights"]) == kernel[0] * kernel[1] * channels_in
    assert len(terms["channel_sums"]) == channels_in
    # A corner cell of a "same" 5x5 convolution reads two rows and two columns of padding.
    assert terms["window"] == {"top": -2, "left": -2, "height": 5, "width": 5}
    assert sum(terms["padding"]) == channels_in * (25 - 9)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("at=1,2,3", "missing-layer"),
        ("layer=conv9&at=1,2,3", "unknown-layer"),
        ("layer=conv1", "missing-cell"),
        ("layer=conv1&at=", "missing-cell"),
        ("layer=conv1&at=a,b,c", "invalid-cell"),
        ("layer=conv1&at=1,2", "invalid-cell"),
        ("layer=conv1&at=1.5,2,0", "invalid-cell"),
        ("layer=conv1&at=28,0,0", "cell-out-of-range"),
        ("layer=conv1&at=0,0,-1", "cell-out-of-range"),
        ("layer=softmax&at=10", "cell-out-of-range"),
        ("layer=softmax&at=1,2,3", "invalid-cell"),
        ("layer=dense1&at=99999999999999999999999", "cell-out-of-range"),
    ],
)
def test_bad_layer_or_cell_is_a_clear_400(client, three_png, query, code):
    response = client.post(f"/api/explain?{query}", data=three_png, content_type="image/png")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == code
    assert "conv1" in error["message"] or "softmax" in error["message"] or "dense1" in error["message"]


def test_explain_takes_the_image_forms_and_their_errors(client, three_png):
    encoded = base64.b64encode(three_png).decode()
    response = client.post("/api/explain?layer=logits&at=3", json={"image": f"data:image/png;base64,{encoded}"})
    assert response.status_code == 200 and response.get_json()["operation"] == "dense"
    response = client.post("/api/explain?layer=logits&at=3", data=b"not a png", content_type="image/png")
    assert response.status_code == 415 and response.get_json()["error"]["code"] == "unsupported-image-format"
    response = client.get("/api/explain?layer=logits&at=3")
    assert response.status_code == 405
