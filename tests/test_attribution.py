"""webapp/attribution.py on every served network and the gate, checked against TensorFlow.

Saliency is TensorFlow's own gradient of the target's logit (GradientTape on
the Keras model the network was exported from), to 1e-4 relative; Grad-CAM is
the same definition computed by TensorFlow (its channel weights and coarse
map); Integrated Gradients adds up to score(drawing) - score(blank) within 1%;
occlusion's drop is a forward pass with the patch blanked; the path back from
the score to a pixel follows the chain rule's terms down to the saliency value.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import SERVED_ARTIFACTS, SERVED_NETWORKS
from train.drawings import NON_DIGITS, random_drawing, render, shaped_drawing
from webapp import attribution, backward
from webapp.model import KERAS_FILE, Network
from webapp.preprocess import prepare

RELATIVE = 1e-4


def subjects() -> list[str]:
    """Every served network (imported ones too, in $DIGIT_LENS_ARTIFACTS_DIR) and the not-a-digit gate (a "_" folder)."""
    return [*SERVED_NETWORKS, "_gate"]


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    """A drawn 3, a drawn 7, an MNIST test 4 and the letter A, 28x28 as the server prepares them."""
    from webapp.mnist import shipped_test_set

    test_set = shipped_test_set()
    four = int(np.flatnonzero(test_set.labels == 4)[0])
    letter = shaped_drawing(np.random.default_rng(5), NON_DIGITS["A"][1])
    return {
        "drawn 3": prepare(render(random_drawing(np.random.default_rng(3), 3))).image,
        "drawn 7": prepare(render(random_drawing(np.random.default_rng(11), 7))).image,
        "mnist 4": test_set.images[four],
        "letter A": prepare(render(letter)).image,
    }


_loaded: dict[str, tuple] = {}


def subject(name: str):
    """(Network, Keras model) of a served network or the gate, loaded once."""
    if name not in _loaded:
        import keras

        network = Network.load(SERVED_ARTIFACTS / name)
        _loaded[name] = (network, keras.saving.load_model(network.folder / KERAS_FILE, compile=False))
    return _loaded[name]


def tensorflow_gradients(model, layers, image: np.ndarray, target: int, layer_name: str | None = None):
    """TensorFlow's d logit[target] / d input (0..255 units); with ``layer_name``, that layer's output and
    d logit[target] / d it too (as keras.io's Grad-CAM example: one model to [the layer, the logits])."""
    import keras
    import tensorflow as tf

    top = layers[attribution.score_layer(layers)].name
    names = [top] + ([layer_name] if layer_name else [])
    extractor = keras.Model(model.inputs, [model.get_layer(name).output for name in names])
    x = tf.constant(image.reshape(1, *image.shape, 1).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        outputs = extractor(x, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        score = outputs[0][:, target]
    input_gradient = tape.gradient(score, x).numpy()[0, :, :, 0]
    if not layer_name:
        return input_gradient, None, None
    maps = outputs[1]
    return input_gradient, maps.numpy()[0], tape.gradient(score, maps).numpy()[0]


def close(ours: np.ndarray, theirs: np.ndarray, relative: float = RELATIVE) -> None:
    """Equal within ``relative`` of the largest magnitude (float32 sums in another order differ by that)."""
    scale = max(float(np.abs(theirs).max()), 1e-12)
    assert np.abs(np.asarray(ours) - theirs).max() <= relative * scale


def target_of(network: Network, image: np.ndarray) -> int:
    if network.name == "_gate":
        return attribution.classes(network.layers) - 1
    return int(np.argmax(network.predict(image)))


@pytest.mark.parametrize("name", subjects())
def test_saliency_is_tensorflows_gradient_of_the_logit(name, images):
    network, model = subject(name)
    for label, image in images.items():
        image = network.input_image(image)
        for target in {target_of(network, image), 1}:
            ours = attribution.saliency(network.layers, network.kernels(), image, target)
            theirs, _, _ = tensorflow_gradients(model, network.layers, image, target)
            close(ours.map, theirs)
            # gradient x input is the same gradient times the pixel
            product = attribution.gradient_x_input(network.layers, network.kernels(), image, target)
            close(product.map, theirs * image)


@pytest.mark.parametrize("name", subjects())
def test_grad_cam_is_tensorflows_computation_of_the_same_definition(name, images):
    network, model = subject(name)
    if "Conv2D" not in {layer.kind for layer in network.layers}:  # an imported dense-only network: no maps to weigh
        with pytest.raises(attribution.AttributionError) as refused:
            attribution.grad_cam(network.layers, network.kernels(), network.input_image(images["drawn 3"]), 3)
        assert refused.value.code == "no-convolution"
        return
    layer = network.layers[attribution.cam_layer(network.layers)]
    for image in images.values():
        image = network.input_image(image)
        target = target_of(network, image)
        ours = attribution.grad_cam(network.layers, network.kernels(), image, target)
        _, maps, gradient = tensorflow_gradients(model, network.layers, image, target, layer.name)
        weights = gradient.mean(axis=(0, 1))
        cam = np.maximum(np.tensordot(maps, weights, axes=([2], [0])), 0.0)
        details = ours.details["grad_cam"]
        assert details["layer"] == layer.name
        close(np.array(details["weights"]), weights)
        close(np.array(details["cam"]), cam)
        # Spread over the input by the cells' centres: the same interpolation of TensorFlow's map.
        (row_scale, row_offset), (column_scale, column_offset) = attribution.centres(network.layers, attribution.cam_layer(network.layers))
        rows = attribution.interpolation(cam.shape[0], image.shape[0], row_scale, row_offset)
        columns = attribution.interpolation(cam.shape[1], image.shape[1], column_scale, column_offset)
        close(ours.map, rows @ cam @ columns.T)


@pytest.mark.parametrize("name", subjects())
def test_integrated_gradients_add_up_to_the_score_difference_within_one_percent(name, images):
    network, _ = subject(name)
    for image in images.values():
        image = network.input_image(image)
        target = target_of(network, image)
        ours = attribution.integrated_gradients(network.layers, network.kernels(), image, target)
        completeness = ours.details["completeness"]
        blank = network.features(np.zeros_like(image))[attribution.score_layer(network.layers)][target]
        drawn = network.features(image)[attribution.score_layer(network.layers)][target]
        # score(drawing) - score(blank), as the served (LiteRT) network computes them
        assert completeness["difference"] == pytest.approx(float(drawn - blank), rel=1e-4, abs=1e-4)
        assert completeness["sum"] == pytest.approx(float(ours.map.sum()))
        assert abs(completeness["sum"] - completeness["difference"]) <= 0.01 * abs(completeness["difference"])
        assert completeness["baseline"] == "blank" and completeness["steps"] >= attribution.DEFAULT_STEPS


@pytest.mark.parametrize("name", subjects())
def test_integrated_gradients_is_the_plain_trapezoid_of_the_backward_passes_gradients(name, images):
    """The shortcuts (start after the affine layers, take the mean there, ReLU after a max pool on the
    pooled cells) change no number: the map is pixel x the trapezoid mean of the whole network's
    d score / d pixel at the 65 points alpha * image, each a plain forward and backward pass."""
    network, _ = subject(name)
    layers, weights = network.layers, network.kernels()
    image = network.input_image(images["drawn 7"]).astype(np.float32)
    target = target_of(network, image)
    alphas = np.arange(65) / 64
    path = backward.forward(layers, weights, alphas.astype(np.float32)[:, None, None] * image)
    top = attribution.score_layer(layers)
    seed = np.zeros_like(path[top])
    seed[:, target] = 1.0
    gradients = backward.backward(layers, weights, path, seed, layers[top].name, weight_gradients=False).outputs[0]
    factors = np.where((alphas == 0) | (alphas == 1), 0.5, 1.0)
    plain = image * np.tensordot(factors, gradients[..., 0].astype(np.float64), axes=1) / 64
    ours = attribution.integrated_gradients(layers, weights, image, target, steps=64, max_steps=64)
    assert ours.details["completeness"]["steps"] == 64
    close(ours.map, plain, 1e-5)


def test_integrated_gradients_steps_double_until_complete():
    """Too few steps for 1% on a real drawing: the steps double (keeping the points) until the sum is within it."""
    network, _ = subject("digit-lens")
    image = prepare(render(random_drawing(np.random.default_rng(3), 3))).image
    loose = attribution.integrated_gradients(network.layers, network.kernels(), image, 3, steps=8, max_steps=8)
    tight = attribution.integrated_gradients(network.layers, network.kernels(), image, 3, steps=8)
    assert loose.details["completeness"]["steps"] == 8
    assert tight.details["completeness"]["relative_error"] <= 0.01
    if loose.details["completeness"]["relative_error"] > 0.01:
        assert tight.details["completeness"]["steps"] > 8


@pytest.mark.parametrize("name", ["digit-lens", "lenet", "_gate"])
def test_occlusion_drop_is_a_forward_pass_with_the_patch_blanked(name, images):
    network, _ = subject(name)
    image = network.input_image(images["drawn 7"])
    target = target_of(network, image)
    top = attribution.score_layer(network.layers)
    ours = attribution.attribute("occlusion", network.layers, network.kernels(), image, target)
    ys, xs = np.nonzero(image)
    row, column = int(ys[len(ys) // 2]), int(xs[len(xs) // 2])
    cell = ours.cell(row, column)
    patch = cell["patch"]
    blanked = image.astype(np.float32).copy()
    blanked[patch["top"] : patch["top"] + patch["height"], patch["left"] : patch["left"] + patch["width"]] = 0
    scores = backward.forward(network.layers, network.kernels(), np.stack([image, blanked]).astype(np.float32))[top]
    assert cell["logit"] == pytest.approx(float(scores[0, target]), rel=1e-5)
    assert cell["logit_without"] == pytest.approx(float(scores[1, target]), rel=1e-5)
    assert cell["value"] == pytest.approx(cell["logit"] - cell["logit_without"], rel=1e-5, abs=1e-6)
    probabilities = attribution.softmax(scores)[:, target]
    assert cell["probability_without"] == pytest.approx(float(probabilities[1]), rel=1e-5)
    # A patch without ink is not run: blanking it changes nothing.
    assert (ours.map[image.reshape(image.shape[0], image.shape[1]) == 0].size > 0)
    empty_rows, empty_columns = np.nonzero(ours.map == 0)
    assert len(empty_rows) > 0
    assert ours.details["occlusion"]["passes"] < (image.shape[0] // attribution.DEFAULT_PATCH) ** 2 + 1


@pytest.mark.parametrize("name", subjects())
def test_the_path_back_follows_the_chain_rule_from_the_score_to_the_pixel(name, images):
    network, _ = subject(name)
    image = network.input_image(images["drawn 3"])
    target = target_of(network, image)
    ours = attribution.saliency(network.layers, network.kernels(), image, target)
    ys, xs = np.nonzero(image > 128)
    row, column = int(ys[len(ys) // 3]), int(xs[len(xs) // 3])
    cell = ours.cell(row, column)
    path = cell["path"]
    top = network.layers[attribution.score_layer(network.layers)]
    assert path[0]["layer"] == top.name and path[0]["at"] == [target] and path[0]["gradient"] == 1.0
    assert path[-1]["layer"] == network.layers[0].name and path[-1]["at"] == [row, column, 0]
    assert path[-1]["gradient"] == pytest.approx(cell["value"], rel=1e-6, abs=1e-12)
    for upper, lower in zip(path, path[1:]):
        if lower.get("ends"):
            break
        assert lower["to"] == upper["at"]  # each step's strongest term comes from the cell above it
        assert lower["term"] == pytest.approx(lower["factors"][0] * lower["factors"][1])


def test_bad_method_target_and_patch_are_attribution_errors():
    network, _ = subject("digit-lens")
    image = np.zeros((28, 28), np.uint8)
    with pytest.raises(attribution.AttributionError) as error:
        attribution.attribute("lime", network.layers, network.kernels(), image, 3)
    assert error.value.code == "unknown-method"
    with pytest.raises(attribution.AttributionError) as error:
        attribution.attribute("saliency", network.layers, network.kernels(), image, 10)
    assert error.value.code == "invalid-target"
    with pytest.raises(attribution.AttributionError) as error:
        attribution.attribute("occlusion", network.layers, network.kernels(), image, 3, patch=1)
    assert error.value.code == "invalid-patch"


def test_the_json_numbers_are_seven_significant_digits_as_text_formatting_gives():
    """``_rows`` rounds a whole map at once; each number is the one float(f"{v:.7g}") gives, at every scale."""
    rng = np.random.default_rng(0)
    for exponent in range(-40, 41, 4):
        values = (rng.standard_normal((28, 28)) * 10.0**exponent).astype(np.float32).astype(np.float64)
        values[0, :4] = [0.0, -0.0, np.inf, 1234567.5]  # 1234567.5: an exact half, rounded to even by both
        expected = [[float(f"{value:.7g}") for value in row] for row in values]
        got = attribution._rows(values)
        assert [[repr(value) for value in row] for row in got] == [[repr(value) for value in row] for row in expected]
        assert all(type(value) is float for row in got for value in row)
        assert attribution._floats(values) == [value for row in expected for value in row]
