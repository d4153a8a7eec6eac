"""webapp/backward.py and webapp/optimizer.py against TensorFlow: the ground truth is GradientTape.

On every layer of every served network, of the small networks the API tests
use, and of a network built here for the geometry the served ones lack
(stride 2, "same" padding with an odd total, average pooling, overlapping
max pooling over negative values): the numpy forward equals the network's,
the numpy gradients of the loss w.r.t. every weight and every layer's output
equal GradientTape's within 1e-4 relative, one SGD step gives TensorFlow's
weights and probabilities, each optimizer's first steps give Keras's, every
gradient cell's terms add up, and backpropagation agrees with the numerical
gradient (勾配確認) as in the book's ch05/gradient_check.py.

"Within 1e-4 relative" is per array: |numpy - tensorflow| <= 1e-4 * max |tensorflow|
for every entry (a gradient's small entries are sums of large terms that cancel,
so an entry's own relative error says nothing about the method).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from train.drawings import random_drawing, render
from webapp import backward, optimizer
from webapp.model import LayerInfo

RELATIVE = 1e-4
LABELS = [3, 8]  # two images: the first labelled what it shows, the second a wrong label (a large gradient)


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str, relative: float = RELATIVE) -> None:
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    scale = np.abs(expected).max()
    worst = np.abs(actual - expected).max()
    assert worst <= relative * scale + 1e-12, f"{what}: differs by {worst:.3g}, max |expected| {scale:.3g}"


# --- The networks ----------------------------------------------------------------------------


def build_geometry_network():
    """A small untrained network with the geometry the served ones lack."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(28, 28, 1), name="input")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = layers.Conv2D(4, 3, strides=2, padding="same", name="conv_stride")(x)  # 14x14, pads 0 before, 1 after
    x = layers.ReLU(name="relu1")(x)
    x = layers.AveragePooling2D(3, strides=2, padding="same", name="average")(x)  # 7x7, edge windows count fewer
    x = layers.Conv2D(6, 2, padding="same", name="conv_even")(x)  # an even kernel: the extra row after
    x = layers.Conv2D(5, 3, strides=2, name="conv_valid")(x)  # 3x3, stride 2, valid
    x = layers.MaxPooling2D(2, strides=1, padding="same", name="overlap")(x)  # overlapping windows, negative values
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(12, name="dense")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    x = layers.ReLU(name="relu2")(x)
    x = layers.Dense(10, name="logits")(x)
    outputs = layers.Softmax(name="softmax")(x)
    return keras.Model(inputs, outputs, name="geometry")


def build_tiles_network():
    """A small untrained network for the fast paths: pooling windows that tile the input (some cropping
    the last rows, as "valid" does), and convolutions computed one kernel position at a time."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(28, 28, 1), name="input")
    x = layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = layers.Conv2D(4, 3, padding="same", name="conv_a")(x)  # one channel in: im2col
    x = layers.ReLU(name="relu_a")(x)
    x = layers.AveragePooling2D(3, name="average_crop")(x)  # 28 -> 9, the last row and column left out
    x = layers.Conv2D(6, 4, padding="same", name="conv_b")(x)  # 4x4 over 4 channels: by position, pads 1 and 2
    x = layers.ReLU(name="relu_b")(x)
    x = layers.MaxPooling2D(2, name="max_crop")(x)  # 9 -> 4, the last row and column left out
    x = layers.Conv2D(5, 5, padding="same", name="conv_c")(x)  # 5x5 over 6 channels: by position
    x = layers.ReLU(name="relu_c")(x)
    x = layers.AveragePooling2D(2, name="average_tile")(x)  # 4 -> 2
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(10, name="logits")(x)
    outputs = layers.Softmax(name="softmax")(x)
    return keras.Model(inputs, outputs, name="tiles")


@functools.cache
def keras_network(name: str):
    """(keras model, layers, weights) of a served network or of a test network, by name."""
    import keras

    from train.export import layer_records, layer_weights
    from tests.conftest import SERVED_ARTIFACTS
    from webapp.model import KERAS_FILE

    keras.utils.set_random_seed(0)
    if name == "fixture-digit-lens":
        from train.model import build_model

        model = build_model(conv1_filters=8, conv2_filters=8, dense_units=32)
    elif name == "fixture-small-32":
        from tests.conftest import build_small_32

        model = build_small_32()
    elif name == "fixture-geometry":
        model = build_geometry_network()
    elif name == "fixture-tiles":
        model = build_tiles_network()
    else:
        model = keras.saving.load_model(SERVED_ARTIFACTS / name / KERAS_FILE, compile=False)
    if name in FIXTURES:
        # Keras starts biases at 0, which puts every blank cell exactly on ReLU's kink, where the
        # numerical gradient averages the two sides: small random biases, as after some training.
        rng = np.random.default_rng(0)
        for layer in model.layers:
            for variable in layer.weights:
                if variable.path.endswith("/bias"):
                    variable.assign(rng.normal(scale=0.05, size=variable.shape).astype(np.float32))
    layers = [
        LayerInfo(record["name"], record["kind"], tuple(record["output_shape"]), record["parameters"], record["settings"])
        for record in layer_records(model)
    ]
    weights: dict[str, dict[str, np.ndarray]] = {}
    for key, value in layer_weights(model).items():
        layer, _, variable = key.rpartition("/")
        weights.setdefault(layer, {})[variable] = value
    return model, layers, weights


def served_names() -> list[str]:
    """Every network the app serves (imported ones too, in $DIGIT_LENS_ARTIFACTS_DIR)."""
    from tests.conftest import SERVED_NETWORKS

    return SERVED_NETWORKS


FIXTURES = ["fixture-digit-lens", "fixture-small-32", "fixture-geometry", "fixture-tiles"]
ALL_NETWORKS = served_names() + FIXTURES


@functools.cache
def drawings(size: int) -> np.ndarray:
    """A drawn 3 and a drawn 8 as the networks see them, uint8 (2, size, size)."""
    from webapp.preprocess import fit_to_input, prepare

    images = [prepare(render(random_drawing(np.random.default_rng(digit), digit))).image for digit in LABELS]
    return np.stack([fit_to_input(image, size) for image in images])


def input_size(layers) -> int:
    return layers[0].shape[0]


def tensorflow_gradients(model, images: np.ndarray, labels) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
    """TensorFlow's every-layer outputs, d loss / d each layer's output and d loss / d each weight.

    The loss is the summed cross-entropy -log p[label], taken from the logits
    (sparse_softmax_cross_entropy_with_logits, whose gradient at the logits
    is softmax - one_hot, as the book's SoftmaxWithLoss's).
    """
    import tensorflow as tf

    with tf.GradientTape(persistent=True) as tape:
        x = tf.constant(images[..., None], tf.float32)
        tape.watch(x)
        outputs = [x]
        for layer in model.layers[1:]:
            x = layer(x, training=False)
            outputs.append(x)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(labels), outputs[-2]))
    output_gradients = tape.gradient(loss, outputs[:-1])
    variables = model.trainable_variables
    weight_gradients = dict(zip([variable.path for variable in variables], tape.gradient(loss, variables), strict=True))
    del tape
    return [o.numpy() for o in outputs], [g.numpy() for g in output_gradients], {k: v.numpy() for k, v in weight_gradients.items()}


def numpy_gradients(layers, weights, images, labels):
    outputs = backward.forward(layers, weights, images)
    delta = backward.softmax_loss_gradient(outputs[-1], labels)
    return outputs, backward.backward(layers, weights, outputs, delta, backward.logits_layer(layers))


# --- Forward and backward against TensorFlow ------------------------------------------------


@pytest.mark.parametrize("name", ALL_NETWORKS)
def test_gradients_equal_gradient_tape_on_every_layer(name):
    model, layers, weights = keras_network(name)
    images = drawings(input_size(layers))
    outputs, gradients = numpy_gradients(layers, weights, images, LABELS)
    tf_outputs, tf_output_gradients, tf_weight_gradients = tensorflow_gradients(model, images.astype(np.float32), LABELS)

    for layer, mine, theirs in zip(layers, outputs, tf_outputs, strict=True):
        assert_close(mine, theirs, f"{name} {layer.name} output")
    # Every layer below the softmax: d loss / d its output (the input image's in 0..255 units).
    assert gradients.outputs[-1] is None
    for layer, mine, theirs in zip(layers[:-1], gradients.outputs[:-1], tf_output_gradients, strict=True):
        assert_close(mine, theirs, f"{name} d loss / d {layer.name}")
    # Without the weights' gradients (attribution's pass): the same output gradients, no weight gradient.
    delta = backward.softmax_loss_gradient(outputs[-1], LABELS)
    lean = backward.backward(layers, weights, outputs, delta, backward.logits_layer(layers), weight_gradients=False)
    assert lean.weights == {}
    for layer, mine, theirs in zip(layers[:-1], lean.outputs[:-1], tf_output_gradients, strict=True):
        assert_close(mine, theirs, f"{name} d loss / d {layer.name}, weight_gradients=False")
    # Every weight.
    assert sorted(f"{layer}/{variable}" for layer, variables in gradients.weights.items() for variable in variables) == sorted(
        tf_weight_gradients
    )
    for layer, variables in gradients.weights.items():
        for variable, mine in variables.items():
            assert_close(mine, tf_weight_gradients[f"{layer}/{variable}"], f"{name} d loss / d {layer}/{variable}")


@pytest.mark.parametrize("name", served_names())
def test_numpy_forward_equals_the_served_network(name):
    from tests.conftest import SERVED_ARTIFACTS
    from webapp.model import Network

    network = Network.load(SERVED_ARTIFACTS / name)
    image = drawings(28)[1]
    outputs = backward.forward(network.layers, network.kernels(), network.input_image(image)[None])
    for layer, mine, served in zip(network.layers, outputs, network.features(image), strict=True):
        assert_close(mine[0], served, f"{name} {layer.name}", relative=1e-5)


def test_softmax_backward_equals_gradient_tape():
    """The general softmax backward (from d loss / d probabilities), beside the book's (y - t) shortcut."""
    import tensorflow as tf

    model, layers, weights = keras_network("fixture-geometry")
    images = drawings(28)
    outputs = backward.forward(layers, weights, images)
    probabilities = outputs[-1]
    teacher = backward.one_hot(LABELS, 10)
    gradients = backward.backward(layers, weights, outputs, -teacher / probabilities, "softmax")
    logits = tf.constant(outputs[-2])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = -tf.reduce_sum(tf.math.log(tf.reduce_sum(tf.nn.softmax(logits) * teacher, axis=1)))
    assert_close(gradients.outputs[-2], tape.gradient(loss, logits).numpy(), "softmax backward")
    assert_close(gradients.outputs[-2], backward.softmax_loss_gradient(probabilities, LABELS), "y - t", relative=1e-5)


def test_cross_entropy_is_minus_log_of_the_labels_probability():
    probabilities = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]], np.float32)
    np.testing.assert_allclose(backward.cross_entropy_error(probabilities, [1, 2]), [-np.log(0.7), -np.log(0.25)], rtol=1e-6)
    np.testing.assert_allclose(backward.softmax_loss_gradient(probabilities, [1, 2]), [[0.1, -0.3, 0.2], [0.5, 0.25, -0.75]])


def test_im2col_and_col2im_are_the_books_on_channels_last():
    x = np.arange(2 * 5 * 5 * 3, dtype=np.float32).reshape(2, 5, 5, 3)
    col = backward.im2col(x, (3, 3), (2, 2), (1, 1, 1, 1))
    assert col.shape == (2 * 3 * 3, 3 * 3 * 3)
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    np.testing.assert_array_equal(col[4].reshape(3, 3, 3), padded[0, 2:5, 2:5, :])  # image 0, window (1, 1)
    # col2im adds every window back: each cell counts how many windows held it.
    counts = backward.col2im(np.ones_like(col), x.shape, (3, 3), (2, 2), (1, 1, 1, 1))
    assert counts[0, :, :, 0].tolist() == [[1, 2, 1, 2, 1], [2, 4, 2, 4, 2], [1, 2, 1, 2, 1], [2, 4, 2, 4, 2], [1, 2, 1, 2, 1]]


# --- Optimizers against Keras -----------------------------------------------------------------


def keras_optimizer(kind: str, rate: float):
    import keras

    return {
        "sgd": lambda: keras.optimizers.SGD(learning_rate=rate),
        "momentum": lambda: keras.optimizers.SGD(learning_rate=rate, momentum=optimizer.Momentum.MOMENTUM),
        "adagrad": lambda: keras.optimizers.Adagrad(learning_rate=rate),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=rate),
        "adam": lambda: keras.optimizers.Adam(learning_rate=rate),
    }[kind]()


@pytest.mark.parametrize("kind", list(optimizer.OPTIMIZERS))
def test_each_optimizer_updates_as_keras_does_given_the_same_gradients(kind):
    """Three updates from the same gradients: Keras's variables and ours agree to float32 rounding."""
    import keras

    rng = np.random.default_rng(1)
    rate = optimizer.DEFAULT_RATES[kind] * 3
    start = {"a/kernel": rng.normal(size=(4, 3)).astype(np.float32), "a/bias": rng.normal(size=3).astype(np.float32)}
    steps = [{key: (rng.normal(size=value.shape) * scale).astype(np.float32) for key, value in start.items()}
             for scale in (1.0, 0.01, 3.0)]
    variables = [keras.Variable(value.copy(), name=key.replace("/", "_")) for key, value in start.items()]
    theirs = keras_optimizer(kind, rate)
    mine = optimizer.OPTIMIZERS[kind](rate)
    params = {key: value.copy() for key, value in start.items()}
    for grads in steps:
        theirs.apply_gradients([(grads[key], variable) for key, variable in zip(start, variables, strict=True)])
        mine.update(params, grads)
        for key, variable in zip(start, variables, strict=True):
            np.testing.assert_allclose(params[key], variable.numpy(), rtol=2e-6, atol=1e-7, err_msg=f"{kind} {key}")


def tensorflow_steps(model, images, labels, kind: str, rate: float, steps: int) -> tuple[list[float], np.ndarray]:
    """Keras's optimizer ``kind`` for ``steps`` steps on ``images``: the loss after each step, the final probabilities."""
    import tensorflow as tf

    model = clone(model)
    opt = keras_optimizer(kind, rate)
    losses = []
    x = tf.constant(images[..., None], tf.float32)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            logits = x
            for layer in model.layers[1:-1]:
                logits = layer(logits, training=False)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(labels), logits))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        probabilities = model(x, training=False).numpy()
        losses.append(float(backward.cross_entropy_error(probabilities, labels).sum()))
    return losses, probabilities, {variable.path: variable.numpy() for variable in model.trainable_variables}


def clone(model):
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


@pytest.mark.parametrize("name", served_names() + FIXTURES[:2])
def test_one_sgd_step_gives_tensorflows_weights_and_probabilities(name):
    model, layers, weights = keras_network(name)
    images = drawings(input_size(layers))
    rate = 0.05
    losses, probabilities, tf_weights = tensorflow_steps(model, images, LABELS, "sgd", rate, 1)
    result = optimizer.take_steps(layers, weights, images, LABELS, optimizer.SGD(rate), 1)
    for key, value in optimizer.flat(result.weights).items():
        old = optimizer.flat(weights)[key]
        if key not in tf_weights:  # not trainable (a batch normalization's moving mean and variance): it stays
            np.testing.assert_array_equal(value, old, err_msg=f"{name} {key}")
            continue
        change, expected = np.float64(value) - old, np.float64(tf_weights[key]) - old
        # Both changes are differences of float32 weights, each new weight rounded to the float32 grid
        # around it: they may differ by one step of that grid (np.spacing) however closely the gradients
        # agree, which for a confident network's tiny changes is more than 1e-4 of the largest change.
        grid = np.spacing(np.maximum(np.abs(old), np.abs(tf_weights[key])).astype(np.float32)).astype(np.float64)
        worst = (np.abs(change - expected) - grid).max()
        assert worst <= RELATIVE * np.abs(expected).max() + 1e-12, f"{name} {key} change: {worst:.3g} beyond the grid"
    np.testing.assert_allclose(result.trajectory[0].probabilities, probabilities, atol=1e-5)
    # A confident network's loss is -log of float32 probabilities near 1, which lie on a grid of 2^-24 there:
    # two losses of ~1e-5 can differ by a few of its steps (1%) however closely the arithmetic agrees (a
    # fresh machine's oneDNN put lenet's 8.46e-6 against 8.34e-6, two steps apart). A few steps per image.
    grid = float(np.spacing(np.float32(0.5))) * 4 * len(LABELS)
    assert result.trajectory[0].loss == pytest.approx(losses[0], rel=1e-4, abs=grid)
    first = next(layer.name for layer in layers if "kernel" in weights.get(layer.name, {}))
    assert weights[first]["kernel"] is not result.weights[first]["kernel"]  # the served weights stay


@pytest.mark.parametrize("kind", list(optimizer.OPTIMIZERS))
@pytest.mark.parametrize("name", ["digit-lens", "fixture-geometry"])
def test_each_optimizers_first_steps_match_keras(name, kind):
    """Three steps of each optimizer at its default rate on a drawing: the loss after each step and the final
    probabilities as Keras's optimizer of that name gives them."""
    model, layers, weights = keras_network(name)
    images = drawings(input_size(layers))
    rate = optimizer.DEFAULT_RATES[kind]
    losses, probabilities, _ = tensorflow_steps(model, images, LABELS, kind, rate, 3)
    result = optimizer.take_steps(layers, weights, images, LABELS, optimizer.OPTIMIZERS[kind](rate), 3)
    np.testing.assert_allclose([step.loss for step in result.trajectory], losses, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(result.trajectory[-1].probabilities, probabilities, atol=1e-4)


# --- Every cell's terms add up ------------------------------------------------------------------


def cells(shape, rng, values: np.ndarray) -> list[tuple[int, ...]]:
    """Corners, the largest gradient, and a few random cells."""
    picked = {tuple(0 for _ in shape), tuple(size - 1 for size in shape)}
    picked.add(tuple(int(i) for i in np.unravel_index(np.abs(values).argmax(), shape)))
    picked |= {tuple(int(rng.integers(size)) for size in shape) for _ in range(4)}
    return sorted(picked)


def check_terms(answer: dict, what: str, scale: float) -> None:
    terms = np.asarray(answer["terms"], np.float64)
    factors = np.asarray(answer["factors"], np.float64).reshape(-1, 2)
    assert len(terms) == len(factors) == len(answer["positions"])
    np.testing.assert_array_equal(terms, factors[:, 0] * factors[:, 1])
    assert answer["computed"] == pytest.approx(terms.sum(), rel=1e-12, abs=1e-15)
    magnitude = np.abs(terms).sum()
    assert abs(answer["computed"] - answer["value"]) <= 1e-5 * magnitude + 1e-7 * scale, (what, answer["computed"], answer["value"])


@pytest.mark.parametrize("name", ALL_NETWORKS)
def test_every_cells_terms_add_up_to_its_gradient(name):
    _, layers, weights = keras_network(name)
    images = drawings(input_size(layers))
    outputs, gradients = numpy_gradients(layers, weights, images, LABELS)
    rng = np.random.default_rng(0)
    top = len(layers) - 2
    for position, layer in enumerate(layers[:top]):
        grad = gradients.outputs[position][1]
        for at in cells(grad.shape, rng, grad):
            answer = backward.gradient_terms(layers, weights, outputs, gradients, position, "output", at, image=1)
            assert answer["value"] == float(grad[at])
            check_terms(answer, f"{name} {layer.name} {at}", np.abs(grad).max())
    # Weight gradients are summed over the batch; the terms are one image's: check them on a batch of one.
    outputs, gradients = numpy_gradients(layers, weights, images[1:], LABELS[1:])
    for layer in layers:
        for variable, grad in gradients.weights.get(layer.name, {}).items():
            position = [item.name for item in layers].index(layer.name)
            for at in cells(grad.shape, rng, grad):
                answer = backward.gradient_terms(layers, weights, outputs, gradients, position, variable, at)
                check_terms(answer, f"{name} {layer.name}/{variable} {at}", np.abs(grad).max())


def test_the_terms_say_what_each_operation_does():
    _, layers, weights = keras_network("fixture-digit-lens")
    images = drawings(28)[1:]
    outputs, gradients = numpy_gradients(layers, weights, images, LABELS[1:])
    names = [layer.name for layer in layers]
    # ReLU: delta * [x > 0], for a cell where the input was negative and one where it was positive.
    relu = names.index("relu1")
    before = outputs[relu - 1][0]
    negative = tuple(int(i) for i in np.argwhere(before < 0)[0])
    answer = backward.gradient_terms(layers, weights, outputs, gradients, relu - 1, "output", negative)
    assert answer["operation"] == "relu" and answer["factors"][0][1] == 0.0 and answer["value"] == 0.0
    # Max pooling: only the window's maximum receives the gradient.
    pool = names.index("pool1")
    answer = backward.gradient_terms(layers, weights, outputs, gradients, pool - 1, "output", (0, 0, 0))
    assert answer["operation"] == "max-pool" and len(answer["factors"]) == 1
    # A dense weight: input * delta, one term.
    dense = names.index("logits")
    answer = backward.gradient_terms(layers, weights, outputs, gradients, dense, "kernel", (5, 3))
    assert answer["factors"] == [[float(outputs[dense - 1][0][5]), float(gradients.outputs[dense][0][3])]]
    with pytest.raises(backward.BackwardError) as error:
        backward.gradient_terms(layers, weights, outputs, gradients, names.index("relu1"), "kernel", (0,))
    assert error.value.code == "no-weights"


# --- 勾配確認: backpropagation against the numerical gradient -------------------------------------


@pytest.mark.parametrize("name", ["fixture-geometry", "fixture-small-32", "digit-lens"])
def test_gradient_check_numerical_equals_backpropagation(name):
    """(L(w + h) - L(w - h)) / 2h in float64, h = 1e-4, beside the float32 backpropagated gradient."""
    _, layers, weights = keras_network(name)
    images = drawings(input_size(layers))[1:]
    labels = LABELS[1:]
    outputs, gradients = numpy_gradients(layers, weights, images, labels)
    checked, kinks = 0, 0

    def check(position: int, of: str, grad: np.ndarray) -> None:
        nonlocal checked, kinks
        at = tuple(int(i) for i in np.unravel_index(np.abs(grad).argmax(), grad.shape))
        numerical = backward.numerical_gradient(layers, weights, images, labels, position, of, at)
        if numerical["kink"]:
            # Equal cells in a max-pooling window (a blank area's conv outputs all equal the bias) or a
            # ReLU input at 0: no derivative; the central difference averages the two one-sided slopes.
            kinks += 1
            return
        assert numerical["value"] == pytest.approx(float(grad[at]), rel=1e-3, abs=1e-6), (layers[position].name, of, at)
        checked += 1

    for position, layer in enumerate(layers):
        for variable, grad in gradients.weights.get(layer.name, {}).items():
            check(position, variable, grad)
        if position < len(layers) - 2:
            check(position, "output", gradients.outputs[position][0])
    assert checked >= 4 and checked >= kinks, (checked, kinks)
