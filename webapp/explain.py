"""How one number of one layer was computed: the terms that make it. Pure numpy, no Flask.

One small function per kind of operation. Each is given the layer's input
values (the previous layer's float32 output), the layer's weights and the cell
asked about, and returns the terms that make that cell, so that a learner can
add them up:

    conv, dense     sum(inputs[i] * weights[i]) + bias      = value
    relu            max(0, inputs[0])                        = value
    max-pool        max(inputs)                              = value
    average-pool    mean(inputs)                             = value
    softmax         exp(inputs[k]) / sum(exp(inputs))        = value
    sigmoid         1 / (1 + exp(-inputs[0]))                = value
    tanh            tanh(inputs[0])                          = value
    global-average-pool   mean(inputs) over a whole map      = value
    batch-norm      (x - mean) / sqrt(var + eps) * gamma + beta = value
    zero-padding    the input cell it copies, or 0 in the border
    flatten, dropout, rescale: one input, passed on (or scaled)

They are written as plain loops on purpose, like seed 000's ``convolution_2d``
and ``max_pooling``: this code is the lesson, and the page shows the same
window, the same products and the same sum. Each function also returns its own
total (``computed``, added up in float64); ``explain_layer`` puts the
network's own float32 output beside it as ``value``.

Every answer is a JSON-ready dict. Positions are ``[row, column, channel]`` in
the layer's input; a convolution's window may reach outside the input (its
padding), and those positions are listed too, with input 0 and ``padding``
true, because the zeros take part in the sum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from webapp.artifacts import same_padding
from webapp.model import LayerInfo


class ExplainError(ValueError):
    """The layer or cell asked about does not exist: ``code`` is the API's error slug."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- Geometry: where a window sits ---------------------------------------------------------


def padding_before(size: int, window: int, stride: int, padding: str) -> int:
    """Rows (or columns) of padding Keras adds before the input for ``padding`` "same" or "valid".

    "same" pads so that the output has ceil(size / stride) cells; when the
    padding is odd, the extra row goes after the input (TensorFlow's rule).
    """
    return 0 if padding == "valid" else same_padding(size, window, stride)[0]


def output_size(size: int, window: int, stride: int, pad: int) -> int:
    """The seeds' formula: OH = (H + 2P - FH) // S + 1."""
    return (size + 2 * pad - window) // stride + 1


# --- One function per operation ------------------------------------------------------------


def conv_cell(
    inputs: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    at: Sequence[int],
    strides: Sequence[int] = (1, 1),
    padding: str = "valid",
) -> dict:
    """The terms of one output cell of a 2-D convolution.

    Args:
        inputs: the layer's input, shape (H, W, C).
        kernel: the filters, Keras layout (KH, KW, C, F).
        bias: one value per filter, shape (F,).
        at: (row, column, filter) of the output cell.
        strides: (vertical, horizontal) step of the window.
        padding: "valid" (no padding) or "same" (zeros around the input).

    Returns:
        inputs, weights and positions (channel by channel, each channel's window
        row by row), ``padding`` flags for the zeros outside the input, each
        channel's partial sum, the bias, and their total.
    """
    height, width, channels = inputs.shape
    kernel_height, kernel_width = kernel.shape[0], kernel.shape[1]
    row, column, filter_index = at
    pad_top = padding_before(height, kernel_height, strides[0], padding)
    pad_left = padding_before(width, kernel_width, strides[1], padding)
    # Top-left corner of the window in the input's coordinates (negative: in the padding).
    top = row * strides[0] - pad_top
    left = column * strides[1] - pad_left

    values, weights, positions, is_padding, channel_sums = [], [], [], [], []
    for channel in range(channels):
        channel_sum = 0.0
        for kernel_row in range(kernel_height):
            for kernel_column in range(kernel_width):
                y, x = top + kernel_row, left + kernel_column
                outside = not (0 <= y < height and 0 <= x < width)
                value = 0.0 if outside else float(inputs[y, x, channel])
                weight = float(kernel[kernel_row, kernel_column, channel, filter_index])
                channel_sum += value * weight
                values.append(value)
                weights.append(weight)
                positions.append([y, x, channel])
                is_padding.append(outside)
        channel_sums.append(channel_sum)

    bias_value = float(bias[filter_index])
    return {
        "operation": "conv",
        "inputs": values,
        "weights": weights,
        "bias": bias_value,
        "positions": positions,
        "padding": is_padding,
        "window": {"top": top, "left": left, "height": kernel_height, "width": kernel_width},
        "channel_sums": channel_sums,
        "computed": sum(channel_sums) + bias_value,
    }


def dense_cell(inputs: np.ndarray, kernel: np.ndarray, bias: np.ndarray, index: int) -> dict:
    """The terms of one unit of a dense (fully connected, "Affine") layer.

    Args:
        inputs: the layer's input vector, shape (N,).
        kernel: shape (N, units); column ``index`` holds this unit's weights.
        bias: shape (units,).
        index: the unit.

    Returns:
        inputs and weights (input ``i`` is position ``i``), the bias and the total.
    """
    values, weights = [], []
    total = 0.0
    for i in range(inputs.shape[0]):
        value, weight = float(inputs[i]), float(kernel[i, index])
        total += value * weight
        values.append(value)
        weights.append(weight)
    bias_value = float(bias[index])
    return {
        "operation": "dense",
        "inputs": values,
        "weights": weights,
        "bias": bias_value,
        "computed": total + bias_value,
    }


def relu_cell(inputs: np.ndarray, at: Sequence[int]) -> dict:
    """ReLU keeps a positive value and turns a negative one into 0: max(0, x)."""
    value = float(inputs[tuple(at)])
    return {"operation": "relu", "inputs": [value], "positions": [list(at)], "computed": max(0.0, value)}


def pool_window(
    shape: Sequence[int], at: Sequence[int], pool_size: Sequence[int], strides: Sequence[int], padding: str
) -> list[list[int]]:
    """The input positions a pooling cell reads, row by row (padding, which pooling ignores, left out)."""
    height, width = shape[0], shape[1]
    row, column, channel = at
    top = row * strides[0] - padding_before(height, pool_size[0], strides[0], padding)
    left = column * strides[1] - padding_before(width, pool_size[1], strides[1], padding)
    positions = []
    for pool_row in range(pool_size[0]):
        for pool_column in range(pool_size[1]):
            y, x = top + pool_row, left + pool_column
            if 0 <= y < height and 0 <= x < width:
                positions.append([y, x, channel])
    return positions


def max_pool_cell(
    inputs: np.ndarray,
    at: Sequence[int],
    pool_size: Sequence[int] = (2, 2),
    strides: Sequence[int] | None = None,
    padding: str = "valid",
) -> dict:
    """Max pooling keeps the largest value of its window; ``chosen`` is which one."""
    strides = strides or pool_size
    positions = pool_window(inputs.shape, at, pool_size, strides, padding)
    values = [float(inputs[y, x, c]) for y, x, c in positions]
    chosen = 0
    for i, value in enumerate(values):
        if value > values[chosen]:
            chosen = i
    return {
        "operation": "max-pool",
        "inputs": values,
        "positions": positions,
        "window": _window_of(positions),
        "chosen": chosen,
        "computed": values[chosen],
    }


def average_pool_cell(
    inputs: np.ndarray,
    at: Sequence[int],
    pool_size: Sequence[int] = (2, 2),
    strides: Sequence[int] | None = None,
    padding: str = "valid",
) -> dict:
    """Average pooling takes the mean of its window (padding is not counted, as in Keras)."""
    strides = strides or pool_size
    positions = pool_window(inputs.shape, at, pool_size, strides, padding)
    values = [float(inputs[y, x, c]) for y, x, c in positions]
    return {
        "operation": "average-pool",
        "inputs": values,
        "positions": positions,
        "window": _window_of(positions),
        "computed": sum(values) / len(values),
    }


def softmax_cell(logits: np.ndarray, index: int) -> dict:
    """Softmax: exp(z_k) / sum over j of exp(z_j), with all the scores z.

    ``exponentials`` are exp(z_j - max z): the same ratio, without overflow
    (what every framework computes); the page says so.
    """
    values = [float(value) for value in logits]
    largest = max(values)
    exponentials = [math.exp(value - largest) for value in values]
    return {
        "operation": "softmax",
        "inputs": values,
        "index": index,
        "shift": largest,
        "exponentials": exponentials,
        "computed": exponentials[index] / sum(exponentials),
    }


def flatten_cell(inputs: np.ndarray, index: int) -> dict:
    """Flatten only moves values: entry ``index`` is one cell of the input, read row by row,
    the channels of each cell together (Keras's channels-last order)."""
    source = [int(axis) for axis in np.unravel_index(index, inputs.shape)]
    value = float(inputs[tuple(source)])
    return {"operation": "flatten", "inputs": [value], "positions": [source], "source": source, "computed": value}


def identity_cell(inputs: np.ndarray, at: Sequence[int], operation: str) -> dict:
    """A layer that passes its input on unchanged when the network reads (dropout: it only acts in training)."""
    value = float(inputs[tuple(at)])
    return {"operation": operation, "inputs": [value], "positions": [list(at)], "computed": value}


def rescale_cell(inputs: np.ndarray, at: Sequence[int], scale: float, offset: float) -> dict:
    """Rescaling: the pixel times ``scale`` plus ``offset`` (1/255 and 0: 0..255 becomes 0..1)."""
    value = float(inputs[tuple(at)])
    return {
        "operation": "rescale",
        "inputs": [value],
        "positions": [list(at)],
        "scale": scale,
        "offset": offset,
        "computed": value * scale + offset,
    }


def sigmoid_cell(inputs: np.ndarray, at: Sequence[int]) -> dict:
    """The logistic sigmoid squeezes any number into 0..1: 1 / (1 + exp(-x))."""
    value = float(inputs[tuple(at)])
    exponential = math.exp(-value) if value > -700 else math.inf
    return {
        "operation": "sigmoid",
        "inputs": [value],
        "positions": [list(at)],
        "exponential": exponential,
        "computed": 1.0 / (1.0 + exponential),
    }


def tanh_cell(inputs: np.ndarray, at: Sequence[int]) -> dict:
    """tanh squeezes any number into -1..1: (exp(x) - exp(-x)) / (exp(x) + exp(-x))."""
    value = float(inputs[tuple(at)])
    return {"operation": "tanh", "inputs": [value], "positions": [list(at)], "computed": math.tanh(value)}


def global_average_pool_cell(inputs: np.ndarray, channel: int) -> dict:
    """Global average pooling: the mean of a whole map, every row and column of channel ``channel``."""
    height, width = inputs.shape[0], inputs.shape[1]
    values, positions = [], []
    total = 0.0
    for row in range(height):
        for column in range(width):
            value = float(inputs[row, column, channel])
            total += value
            values.append(value)
            positions.append([row, column, channel])
    return {
        "operation": "global-average-pool",
        "inputs": values,
        "positions": positions,
        "window": {"top": 0, "left": 0, "height": height, "width": width},
        "count": len(values),
        "computed": total / len(values),
    }


def batch_norm_cell(
    inputs: np.ndarray,
    at: Sequence[int],
    mean: np.ndarray,
    variance: np.ndarray,
    gamma: np.ndarray | None,
    beta: np.ndarray | None,
    epsilon: float,
) -> dict:
    """Batch normalisation as the network reads (with the statistics it learned while training):
    (x - mean) / sqrt(variance + epsilon) * gamma + beta, per channel (the last axis)."""
    value = float(inputs[tuple(at)])
    channel = at[-1]
    mean_value, variance_value = float(mean[channel]), float(variance[channel])
    gamma_value = float(gamma[channel]) if gamma is not None else 1.0
    beta_value = float(beta[channel]) if beta is not None else 0.0
    deviation = math.sqrt(variance_value + epsilon)
    normalised = (value - mean_value) / deviation
    return {
        "operation": "batch-norm",
        "inputs": [value],
        "positions": [list(at)],
        "channel": int(channel),
        "mean": mean_value,
        "variance": variance_value,
        "epsilon": epsilon,
        "gamma": gamma_value,
        "beta": beta_value,
        "deviation": deviation,
        "normalised": normalised,
        "computed": normalised * gamma_value + beta_value,
    }


def zero_padding_cell(inputs: np.ndarray, at: Sequence[int], padding: Sequence[Sequence[int]]) -> dict:
    """Zero padding adds rows and columns of zeros around each map: a cell inside copies one input cell,
    a cell in the border is 0 (``padding`` is ((top, bottom), (left, right)))."""
    row, column, channel = at
    y, x = row - int(padding[0][0]), column - int(padding[1][0])
    height, width = inputs.shape[0], inputs.shape[1]
    if 0 <= y < height and 0 <= x < width:
        value = float(inputs[y, x, channel])
        return {"operation": "zero-padding", "inputs": [value], "positions": [[y, x, channel]], "padding": [False],
                "source": [y, x, channel], "computed": value}
    return {"operation": "zero-padding", "inputs": [], "positions": [], "padding": [], "source": None, "computed": 0.0}


def input_cell(image: np.ndarray, at: Sequence[int]) -> dict:
    """The input layer computes nothing: its value is the pixel of the 28x28 (or 32x32) image."""
    value = float(image[tuple(at)])
    return {"operation": "input", "inputs": [], "computed": value}


def _window_of(positions: Sequence[Sequence[int]]) -> dict:
    rows = [position[0] for position in positions]
    columns = [position[1] for position in positions]
    return {
        "top": min(rows),
        "left": min(columns),
        "height": max(rows) - min(rows) + 1,
        "width": max(columns) - min(columns) + 1,
    }


# --- A layer of a network ------------------------------------------------------------------


def parse_cell(text: str | None, shape: Sequence[int], layer: str) -> tuple[int, ...]:
    """``"y,x,c"`` (or ``"i"`` for a 1-D layer) -> a cell inside ``shape``.

    Raises:
        ExplainError: ``missing-cell``, ``invalid-cell`` or ``cell-out-of-range``.
    """
    expected = "y,x,c (row, column, channel)" if len(shape) == 3 else "i (an index)"
    ranges = ", ".join(f"0..{size - 1}" for size in shape)
    if not text:
        raise ExplainError("missing-cell", f"say which cell of {layer} with at={expected}; {layer} has {ranges}")
    parts = text.split(",")
    try:
        cell = tuple(int(part.strip()) for part in parts)
    except ValueError:
        raise ExplainError(
            "invalid-cell", f"at={text!r} is not {len(shape)} whole number(s); {layer} takes at={expected}"
        ) from None
    if len(cell) != len(shape):
        raise ExplainError(
            "invalid-cell",
            f"at={text!r} has {len(cell)} number(s); {layer} has shape {list(shape)}, so at={expected}",
        )
    if any(not 0 <= index < size for index, size in zip(cell, shape, strict=True)):
        raise ExplainError(
            "cell-out-of-range", f"at={text!r} is outside {layer}, whose shape is {list(shape)} ({ranges})"
        )
    return cell


def find_layer(layers: Sequence[LayerInfo], name: str | None) -> int:
    """The position of the layer called ``name`` in the model.

    Raises:
        ExplainError: ``missing-layer`` or ``unknown-layer`` (the message lists the names).
    """
    names = [layer.name for layer in layers]
    if not name:
        raise ExplainError("missing-layer", f"say which layer with layer=<name>; this network has {', '.join(names)}")
    if name not in names:
        raise ExplainError("unknown-layer", f"there is no layer {name!r}; this network has {', '.join(names)}")
    return names.index(name)


def explain_cell(
    layers: Sequence[LayerInfo],
    outputs: Sequence[np.ndarray],
    weights: Mapping[str, Mapping[str, np.ndarray]],
    position: int,
    at: Sequence[int],
) -> dict:
    """How the network computed cell ``at`` of layer ``layers[position]``.

    Args:
        layers: every layer of the (sequential) network, input layer first.
        outputs: every layer's float32 output for one image, same order.
        weights: {layer name: {"kernel": ..., "bias": ...}} for the layers that have weights.
        position: which layer.
        at: the cell, already checked by ``parse_cell``.

    Returns:
        The operation's terms, plus ``layer``, ``kind``, ``at``, ``value`` (the
        network's own output for the cell) and ``input_layer`` (whose output the
        terms come from).
    """
    layer = layers[position]
    config = layer.config
    inputs = outputs[position - 1] if position > 0 else None
    at = tuple(int(index) for index in at)
    kind = layer.kind

    if kind == "InputLayer" or inputs is None:
        terms = input_cell(outputs[position], at)
    elif kind == "Conv2D":
        _linear_only(layer)
        terms = conv_cell(
            inputs,
            weights[layer.name]["kernel"],
            _bias(weights[layer.name], weights[layer.name]["kernel"].shape[-1]),
            at,
            strides=tuple(config.get("strides", (1, 1))),
            padding=config.get("padding", "valid"),
        )
    elif kind == "Dense":
        _linear_only(layer)
        kernel = weights[layer.name]["kernel"]
        terms = dense_cell(inputs, kernel, _bias(weights[layer.name], kernel.shape[-1]), at[0])
    elif kind == "ReLU" or (kind == "Activation" and config.get("activation") == "relu"):
        terms = relu_cell(inputs, at)
    elif kind == "Activation" and config.get("activation") == "sigmoid":
        terms = sigmoid_cell(inputs, at)
    elif kind == "Activation" and config.get("activation") == "tanh":
        terms = tanh_cell(inputs, at)
    elif kind == "Activation" and config.get("activation") == "linear":
        terms = identity_cell(inputs, at, "linear")
    elif kind == "GlobalAveragePooling2D":
        terms = global_average_pool_cell(inputs, at[0])
    elif kind == "BatchNormalization":
        variables = weights[layer.name]
        terms = batch_norm_cell(
            inputs, at, variables["moving_mean"], variables["moving_variance"], variables.get("gamma"),
            variables.get("beta"), float(config.get("epsilon", 1e-3)),
        )
    elif kind == "ZeroPadding2D":
        terms = zero_padding_cell(inputs, at, config["padding"])
    elif kind == "MaxPooling2D":
        terms = max_pool_cell(
            inputs, at, tuple(config["pool_size"]), _tuple(config.get("strides")), config.get("padding", "valid")
        )
    elif kind == "AveragePooling2D":
        terms = average_pool_cell(
            inputs, at, tuple(config["pool_size"]), _tuple(config.get("strides")), config.get("padding", "valid")
        )
    elif kind == "Softmax" or (kind == "Activation" and config.get("activation") == "softmax"):
        terms = softmax_cell(inputs, at[0])
    elif kind == "Flatten":
        terms = flatten_cell(inputs, at[0])
    elif kind == "Dropout":
        terms = identity_cell(inputs, at, "dropout")
    elif kind == "Rescaling":
        terms = rescale_cell(inputs, at, float(config.get("scale", 1.0)), float(config.get("offset", 0.0)))
    else:
        raise ExplainError("unexplained-layer", f"{layer.name} is a {kind}, which this server cannot explain yet")

    return {
        "layer": layer.name,
        "kind": kind,
        "at": list(at),
        "value": float(outputs[position][at]),
        "input_layer": layers[position - 1].name if position > 0 else None,
        **terms,
    }


def _bias(variables: Mapping[str, np.ndarray], units: int) -> np.ndarray:
    return variables["bias"] if "bias" in variables else np.zeros(units, np.float32)


def _tuple(value) -> tuple[int, ...] | None:
    return tuple(value) if value is not None else None


def _linear_only(layer: LayerInfo) -> None:
    # The served networks keep each activation a layer of its own, so that the
    # page can show a convolution before and after it; a fused one would make
    # this cell's value differ from the sum shown.
    activation = layer.config.get("activation", "linear")
    if activation not in (None, "linear"):
        raise ExplainError(
            "unexplained-layer", f"{layer.name} applies {activation} inside itself; only a separate activation layer is explained"
        )
