"""How a network learns from one drawing: the backward pass (誤差逆伝播法), per operation. Pure numpy, no Flask.

The shape is the book's (「ゼロから作るDeep Learning」, common/layers.py): each
kind of operation has a forward function and a backward function, vectorised
over a leading batch axis (convolution and pooling through ``im2col`` /
``col2im``), registered in ``OPERATIONS`` by the layer's Keras kind:

    forward(x, layer, variables)               -> out
    backward(dout, x, out, layer, variables)   -> (dx, {"kernel": dW, "bias": db})

``dout`` is d objective / d out, ``dx`` is d objective / d x: the chain rule
passes the gradient from a layer's output back to its input, and a layer with
weights also says how the objective changes with each weight, summed over the
batch. ReLU keeps the book's ``mask``, Dense (the book's Affine) its ``dW`` and
``db``, and the softmax with the cross-entropy error (交差エントロピー誤差)
gives the book's ``(y - t)`` at the logits.

Beside each vectorised backward, a plain loop lists the terms of ONE gradient
cell, as ``webapp/explain.py`` does for the forward pass: ``terms`` that add up
to the cell's value and ``factors`` [a, b] with term = a * b, so a learner can
follow the chain rule number by number:

    conv, d input     sum over every window that saw the cell of  weight * delta
    conv, d kernel    sum over the output positions of  input * delta
    conv, d bias      sum of delta over the output positions
    dense, d input    sum over the units of  weight * delta
    dense, d kernel   input * delta (one term);  d bias: delta
    relu              delta * [x > 0]
    max-pool          delta * [the cell was the window's maximum]
    average-pool      delta * 1/count, for each window holding the cell
    flatten, dropout  delta * 1;   rescaling: delta * scale
    sigmoid, tanh     delta * y(1 - y),  delta * (1 - y²)   (imported networks: python -m train.import)
    batch-norm        delta * gamma / sqrt(variance + eps);  d gamma: sum of x̂ * delta;  d beta: sum of delta
    global-average-pool   delta of the map * 1 / (H * W);   zero-padding: the delta of the cell it became

Dropout acts as at inference (the identity), so a step is deterministic.

Public functions (all arrays batch-first, float32 unless asked otherwise):
``forward(layers, weights, images)``, ``backward(layers, weights, outputs,
gradient, top)`` -> ``Gradients``, ``cross_entropy_error``,
``softmax_loss_gradient``, ``gradient_terms`` (one cell) and
``numerical_gradient`` (勾配確認, the book's ch05/gradient_check.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from webapp.model import LayerInfo

Variables = Mapping[str, np.ndarray]
Weights = Mapping[str, Variables]


class BackwardError(ValueError):
    """A layer, cell or variable that does not exist, or a kind without a backward pass: ``code`` is the API's slug."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- Geometry: padding and windows (TensorFlow's rule) --------------------------------------


def paddings(size: int, window: int, stride: int, padding: str) -> tuple[int, int]:
    """(before, after): rows (or columns) of zeros Keras adds for ``padding`` "same" or "valid".

    "same" keeps ceil(size / stride) cells; an odd total puts the extra row after.
    """
    if padding == "valid":
        return 0, 0
    output = math.ceil(size / stride)
    total = max((output - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def _geometry(layer: LayerInfo, x_shape: Sequence[int], window: Sequence[int]) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """Strides and paddings of a windowed layer whose input has shape (N, H, W, C)."""
    config = layer.config
    strides = tuple(int(step) for step in (config.get("strides") or window))
    padding = config.get("padding", "valid")
    top, bottom = paddings(x_shape[1], window[0], strides[0], padding)
    left, right = paddings(x_shape[2], window[1], strides[1], padding)
    return strides, (top, bottom, left, right)


def im2col(x: np.ndarray, window: Sequence[int], strides: Sequence[int], pads: Sequence[int], fill: float = 0.0) -> np.ndarray:
    """Every window of ``x`` (N, H, W, C) as a row: (N * OH * OW, KH * KW * C), the book's im2col, channels last.

    A row lists the window row by row, the channels of each cell together:
    the order of a Keras kernel (KH, KW, C, F) reshaped to (KH * KW * C, F).
    """
    batch, height, width, channels = x.shape
    kernel_height, kernel_width = window
    top, bottom, left, right = pads
    out_h = (height + top + bottom - kernel_height) // strides[0] + 1
    out_w = (width + left + right - kernel_width) // strides[1] + 1
    image = np.pad(x, [(0, 0), (top, bottom), (left, right), (0, 0)], constant_values=fill)
    col = np.empty((batch, out_h, out_w, kernel_height, kernel_width, channels), x.dtype)
    for y in range(kernel_height):
        y_max = y + strides[0] * out_h
        for x_ in range(kernel_width):
            x_max = x_ + strides[1] * out_w
            col[:, :, :, y, x_, :] = image[:, y:y_max:strides[0], x_:x_max:strides[1], :]
    return col.reshape(batch * out_h * out_w, -1)


def col2im(col: np.ndarray, x_shape: Sequence[int], window: Sequence[int], strides: Sequence[int], pads: Sequence[int]) -> np.ndarray:
    """The book's col2im: add each window's row of ``col`` back onto the cells it came from (the padding dropped)."""
    batch, height, width, channels = x_shape
    kernel_height, kernel_width = window
    top, bottom, left, right = pads
    out_h = (height + top + bottom - kernel_height) // strides[0] + 1
    out_w = (width + left + right - kernel_width) // strides[1] + 1
    col = col.reshape(batch, out_h, out_w, kernel_height, kernel_width, channels)
    image = np.zeros(
        (batch, height + top + bottom + strides[0] - 1, width + left + right + strides[1] - 1, channels), col.dtype
    )
    for y in range(kernel_height):
        y_max = y + strides[0] * out_h
        for x_ in range(kernel_width):
            x_max = x_ + strides[1] * out_w
            image[:, y:y_max:strides[0], x_:x_max:strides[1], :] += col[:, :, :, y, x_, :]
    return image[:, top : top + height, left : left + width, :]


# --- One forward and one backward per operation (vectorised over the batch) ------------------


def convolution_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """out = im2col(x) . W + b, reshaped to (N, OH, OW, F).

    For a window of 4x4 or more over 4 or more channels, the same sum one
    kernel position at a time (``_convolution_by_position``): im2col's matrix
    would be KH * KW times the input.
    """
    kernel = variables["kernel"]
    window = kernel.shape[:2]
    strides, pads = _geometry(layer, x.shape, window)
    out_h = (x.shape[1] + pads[0] + pads[1] - window[0]) // strides[0] + 1
    out_w = (x.shape[2] + pads[2] + pads[3] - window[1]) // strides[1] + 1
    if x.shape[-1] >= 4 and window[0] * window[1] >= 16:
        out = _convolution_by_position(x, kernel, strides, pads, out_h, out_w)
    else:
        out = im2col(x, window, strides, pads) @ kernel.reshape(-1, kernel.shape[-1])
    if "bias" in variables:
        out += variables["bias"]
    return out.reshape(x.shape[0], out_h, out_w, kernel.shape[-1])


def _convolution_by_position(x: np.ndarray, kernel: np.ndarray, strides, pads, out_h: int, out_w: int) -> np.ndarray:
    """sum over kernel positions (ky, kx) of the input cells under W[ky, kx] . W[ky, kx]: (N * OH * OW, F).

    The rows are put first, (H, N, W, C), so that for one kernel column the
    cells under each kernel row are one contiguous block: one copy per kernel
    column instead of one per position. The padding is laid in the same copy
    that puts the rows first, and the cells and products go through one
    buffer each (a worker's large arrays are each a fresh mapping of memory).
    """
    top, bottom, left, right = pads
    batch, height, width, channels = x.shape
    rows_first = np.zeros((height + top + bottom, batch, width + left + right, channels), x.dtype)
    rows_first[top : top + height, :, left : left + width] = x.transpose(1, 0, 2, 3)
    out = np.empty((out_h * batch * out_w, kernel.shape[-1]), np.result_type(x, kernel))
    product = np.empty_like(out)
    under = np.empty((rows_first.shape[0], batch, out_w, channels), x.dtype)  # (H + pads, N, OW, C)
    for column in range(kernel.shape[1]):
        columns = slice(column, column + strides[1] * (out_w - 1) + 1, strides[1])
        np.copyto(under, rows_first[:, :, columns, :])
        for row in range(kernel.shape[0]):
            rows = slice(row, row + strides[0] * (out_h - 1) + 1, strides[0])
            cells = under[rows].reshape(-1, channels)
            if row == column == 0:
                np.matmul(cells, kernel[row, column], out=out)
            else:
                np.matmul(cells, kernel[row, column], out=product)
                out += product
    # (OH, N, OW, F) back to (N, OH, OW, F), flat.
    return out.reshape(out_h, batch, out_w, -1).transpose(1, 0, 2, 3).reshape(-1, kernel.shape[-1])


def convolution_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """dW = im2col(x)^T . dout, db = sum of dout, dx = col2im(dout . W^T): the book's Convolution.backward.

    dx is computed one kernel position at a time (``convolution_input_gradient``):
    the same sum as col2im's, faster.
    """
    kernel = variables["kernel"]
    window = kernel.shape[:2]
    filters = kernel.shape[-1]
    strides, pads = _geometry(layer, x.shape, window)
    col = im2col(x, window, strides, pads)
    flat = dout.reshape(-1, filters)
    grads = {"kernel": (col.T @ flat).reshape(kernel.shape)}
    if "bias" in variables:
        grads["bias"] = flat.sum(axis=0)
    return convolution_input_gradient(dout, x, out, layer, variables), grads


def convolution_input_gradient(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """dx alone (no weight gradient), what attribution needs: the same numbers as col2im(dout . W^T).

    Kernel position (ky, kx) put weight W[ky, kx] on the input cells it
    covered, one per output cell: dout . W[ky, kx]^T, shaped like the output,
    goes back onto those cells in one slice. One small product per kernel
    position, so the (N * OH * OW, KH * KW * C) matrix col2im reads is
    never built.

    A stride-1 "same" convolution with a window of 4x4 or more, 4 or more
    channels and filters (as ``convolution_forward`` computes by kernel
    position) gets the same sum as a forward convolution instead
    (``_input_gradient_as_convolution``): its products add into one contiguous
    array rather than into strided slices.
    """
    kernel = variables["kernel"]
    kernel_height, kernel_width, channels, filters = kernel.shape
    strides, (top, bottom, left, right) = _geometry(layer, x.shape, (kernel_height, kernel_width))
    batch, out_h, out_w, _ = dout.shape
    if (tuple(strides) == (1, 1) and (out_h, out_w) == x.shape[1:3] and min(channels, filters) >= 4
            and kernel_height * kernel_width >= 16):
        return _input_gradient_as_convolution(dout, kernel, (top, bottom, left, right))
    flat = dout.reshape(-1, filters)
    padded = np.zeros((batch, x.shape[1] + top + bottom, x.shape[2] + left + right, channels), dout.dtype)
    for row in range(kernel_height):
        rows = slice(row, row + strides[0] * (out_h - 1) + 1, strides[0])
        for column in range(kernel_width):
            columns = slice(column, column + strides[1] * (out_w - 1) + 1, strides[1])
            padded[:, rows, columns, :] += (flat @ kernel[row, column].T).reshape(batch, out_h, out_w, channels)
    return padded[:, top : top + x.shape[1], left : left + x.shape[2], :]


def _input_gradient_as_convolution(dout: np.ndarray, kernel: np.ndarray, pads: Sequence[int]) -> np.ndarray:
    """dx of a stride-1 convolution whose output is the input's size: dout convolved with the kernel
    turned half a circle (W[KH - 1 - ky, KW - 1 - kx], filters and channels swapped).

    dx[y, x, c] = sum over ky, kx, f of dout[y + top - ky, x + left - kx, f] * W[ky, kx, c, f]:
    with a = KH - 1 - ky, b = KW - 1 - kx, that is a forward convolution of dout, padded by
    KH - 1 - top rows before (KW - 1 - left columns), with the turned kernel.
    """
    kernel_height, kernel_width = kernel.shape[:2]
    top, bottom, left, right = pads
    turned = np.ascontiguousarray(kernel[::-1, ::-1].transpose(0, 1, 3, 2))  # (KH, KW, F, C)
    turned_pads = (kernel_height - 1 - top, kernel_height - 1 - bottom, kernel_width - 1 - left, kernel_width - 1 - right)
    batch, height, width, _ = dout.shape
    dx = _convolution_by_position(dout, turned, (1, 1), turned_pads, height, width)
    return dx.reshape(batch, height, width, kernel.shape[2])


def affine_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """Dense (the book's Affine): out = x . W + b."""
    out = x @ variables["kernel"]
    return out + variables["bias"] if "bias" in variables else out


def affine_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """dx = dout . W^T, dW = x^T . dout, db = sum of dout over the batch."""
    grads = {"kernel": x.T @ dout}
    if "bias" in variables:
        grads["bias"] = dout.sum(axis=0)
    return dout @ variables["kernel"].T, grads


def affine_input_gradient(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """dx = dout . W^T alone."""
    return dout @ variables["kernel"].T


def relu_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """max(0, x)."""
    return np.maximum(x, x.dtype.type(0))


def relu_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """The gradient stops where the input was not positive (the book's ``mask``); elsewhere it passes unchanged."""
    return dout * (x > 0), {}


def _pool_window(layer: LayerInfo) -> tuple[int, int]:
    return tuple(int(size) for size in layer.config["pool_size"])


def _pool_columns(x: np.ndarray, layer: LayerInfo, fill: float):
    """(windows (N, OH, OW, C, KH * KW), strides, pads, output shape) of a pooling layer."""
    window = _pool_window(layer)
    strides, pads = _geometry(layer, x.shape, window)
    batch, _, _, channels = x.shape
    col = im2col(x, window, strides, pads, fill=fill)
    out_h = (x.shape[1] + pads[0] + pads[1] - window[0]) // strides[0] + 1
    out_w = (x.shape[2] + pads[2] + pads[3] - window[1]) // strides[1] + 1
    windows = col.reshape(batch, out_h, out_w, window[0] * window[1], channels).transpose(0, 1, 2, 4, 3)
    return windows, window, strides, pads


def _tiles(x: np.ndarray, layer: LayerInfo) -> np.ndarray | None:
    """The windows of a pooling layer as a view (N, OH, KH, OW, KW, C), when they tile the input.

    That is when the stride equals the window and there is no padding (rows
    or columns past the last whole window are left out, as "valid" does).
    Then pooling is a reshape: no im2col, no col2im. None otherwise.
    """
    window = _pool_window(layer)
    strides, pads = _geometry(layer, x.shape, window)
    if tuple(strides) != window or any(pads):
        return None
    batch, height, width, channels = x.shape
    out_h, out_w = height // window[0], width // window[1]
    used = x[:, : out_h * window[0], : out_w * window[1], :]
    return used.reshape(batch, out_h, window[0], out_w, window[1], channels)


def _untile(tiles: np.ndarray, x_shape: Sequence[int]) -> np.ndarray:
    """(N, OH, KH, OW, KW, C) back to the input's shape, zeros where no window reached."""
    batch, out_h, kernel_height, out_w, kernel_width, channels = tiles.shape
    dx = tiles.reshape(batch, out_h * kernel_height, out_w * kernel_width, channels)
    if dx.shape[1:3] == tuple(x_shape[1:3]):
        return dx
    full = np.zeros(x_shape, tiles.dtype)
    full[:, : dx.shape[1], : dx.shape[2], :] = dx
    return full


def _tile_maximum(tiles: np.ndarray) -> np.ndarray:
    """The largest cell of each window, (N, OH, OW, C): the window's cells compared one position at a time."""
    largest = tiles[:, :, 0, :, 0, :].copy()
    for row in range(tiles.shape[2]):
        for column in range(tiles.shape[4]):
            if row or column:
                np.maximum(largest, tiles[:, :, row, :, column, :], out=largest)
    return largest


def pooling_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """Max pooling (the book's Pooling): the largest value of each window ("same" padding never wins)."""
    tiles = _tiles(x, layer)
    if tiles is not None:
        return _tile_maximum(tiles)
    windows, *_ = _pool_columns(x, layer, -np.inf)
    return windows.max(axis=-1)


def pooling_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """Only the cell that was the maximum receives the gradient (the first of equal ones, as TensorFlow)."""
    tiles = _tiles(x, layer)
    if tiles is not None:
        # The window's cells in order, row by row: each takes the gradient if it holds the maximum
        # and no earlier cell did. The maxima are the forward pass's output, when it is given.
        largest = out if out is not None and out.shape == dout.shape else _tile_maximum(tiles)
        dtiles = np.empty(tiles.shape, dout.dtype)
        taken = np.zeros(largest.shape, bool)
        for row in range(tiles.shape[2]):
            for column in range(tiles.shape[4]):
                first = np.greater(tiles[:, :, row, :, column, :] == largest, taken)  # a maximum, none before it
                np.multiply(dout, first, out=dtiles[:, :, row, :, column, :])
                taken |= first
        return _untile(dtiles, x.shape), {}
    windows, window, strides, pads = _pool_columns(x, layer, -np.inf)
    arg_max = windows.argmax(axis=-1)
    dmax = np.zeros(windows.shape, dout.dtype)
    np.put_along_axis(dmax, arg_max[..., None], dout[..., None], axis=-1)
    dcol = dmax.transpose(0, 1, 2, 4, 3).reshape(-1, window[0] * window[1] * x.shape[-1])
    return col2im(dcol, x.shape, window, strides, pads), {}


def _pool_counts(x_shape: Sequence[int], layer: LayerInfo, dtype) -> np.ndarray:
    """How many cells of the input each average-pooling window holds (padding does not count, as in Keras)."""
    ones = np.ones((1, x_shape[1], x_shape[2], 1), dtype)
    windows, *_ = _pool_columns(ones, layer, 0.0)
    return windows.sum(axis=-1)  # (1, OH, OW, 1)


def average_pooling_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """The mean of each window's cells inside the input."""
    tiles = _tiles(x, layer)
    if tiles is not None:
        return tiles.mean(axis=(2, 4), dtype=x.dtype)
    windows, *_ = _pool_columns(x, layer, 0.0)
    return windows.sum(axis=-1) / _pool_counts(x.shape, layer, x.dtype)


def average_pooling_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """Each cell of a window receives the window's gradient divided by the window's count."""
    window = _pool_window(layer)
    tiles = _tiles(x, layer)
    if tiles is not None:
        share = dout / dout.dtype.type(window[0] * window[1])
        spread = np.broadcast_to(share[:, :, None, :, None, :], tiles.shape)
        return _untile(np.ascontiguousarray(spread), x.shape), {}
    strides, pads = _geometry(layer, x.shape, window)
    share = dout / _pool_counts(x.shape, layer, dout.dtype)  # (N, OH, OW, C)
    spread = np.broadcast_to(share[:, :, :, None, None, :], (*share.shape[:3], window[0], window[1], share.shape[3]))
    dx = col2im(spread.reshape(-1, window[0] * window[1] * x.shape[-1]), x.shape, window, strides, pads)
    return dx, {}


def flatten_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """Row by row, the channels of each cell together (Keras's channels-last order)."""
    return x.reshape(x.shape[0], -1)


def flatten_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    return dout.reshape(x.shape), {}


def identity_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """Dropout at inference, and the input layer: the values pass unchanged."""
    return x


def identity_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    return dout, {}


def _scale(layer: LayerInfo) -> tuple[float, float]:
    return float(layer.config.get("scale", 1.0)), float(layer.config.get("offset", 0.0))


def rescaling_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """x * scale + offset (1/255: pixels 0..255 become 0..1)."""
    scale, offset = _scale(layer)
    return (x * x.dtype.type(scale) + x.dtype.type(offset)).astype(x.dtype)


def rescaling_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    return (dout * dout.dtype.type(_scale(layer)[0])).astype(dout.dtype), {}


def softmax(x: np.ndarray) -> np.ndarray:
    """exp(x - max) / sum(exp(x - max)) along the last axis (the shift changes nothing but overflow)."""
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def softmax_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    return softmax(x)


def softmax_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """dx_k = sum over j of dout_j * y_j * ([j = k] - y_k) = y_k * (dout_k - sum_j dout_j * y_j)."""
    return out * (dout - (dout * out).sum(axis=-1, keepdims=True)), {}


def cross_entropy_error(probabilities: np.ndarray, labels: Sequence[int] | np.ndarray) -> np.ndarray:
    """The loss of each image, -log p[label] (交差エントロピー誤差 with a one-hot teacher), shape (N,)."""
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels).reshape(-1)
    return -np.log(probabilities[np.arange(len(labels)), labels].astype(np.float64))


def one_hot(labels: Sequence[int] | np.ndarray, classes: int, dtype=np.float32) -> np.ndarray:
    labels = np.asarray(labels).reshape(-1)
    t = np.zeros((len(labels), classes), dtype)
    t[np.arange(len(labels)), labels] = 1
    return t


def softmax_loss_gradient(probabilities: np.ndarray, labels: Sequence[int] | np.ndarray) -> np.ndarray:
    """d loss / d logits of the softmax with the cross-entropy error: the book's (y - t), per image."""
    probabilities = np.asarray(probabilities)
    return probabilities - one_hot(labels, probabilities.shape[-1], probabilities.dtype)


# --- One gradient cell as a loop a learner can read ------------------------------------------
# Each returns {"operation", "terms", "factors", "positions", "computed"}: terms[i] = factors[i][0] * factors[i][1],
# computed = sum(terms) added up in float64. ``dout`` and ``x`` are one image's (no batch axis).


def _answer(operation: str, factors: list[list[float]], positions: list, **extra) -> dict:
    terms = [a * b for a, b in factors]
    return {
        "operation": operation,
        "terms": terms,
        "factors": factors,
        "positions": positions,
        "computed": math.fsum(terms),
        **extra,
    }


def convolution_input_cell(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables,
                           at: Sequence[int]) -> dict:
    """d objective / d x[y, x, c]: every output window that saw the cell adds weight * delta.

    ``positions`` are the output cells [row, column, filter] whose delta is used;
    ``weights_at`` the kernel indices [ky, kx, c, filter] of the weight beside it.
    """
    kernel = variables["kernel"]
    kernel_height, kernel_width, _, filters = kernel.shape
    strides, (top, _, left, _) = _geometry(layer, (1, *x.shape), (kernel_height, kernel_width))
    out_h, out_w = dout.shape[0], dout.shape[1]
    row, column, channel = at
    factors, positions, weights_at = [], [], []
    for filter_index in range(filters):
        for kernel_row in range(kernel_height):
            for kernel_column in range(kernel_width):
                # The output cell whose window put this kernel weight on the input cell (row, column).
                out_row, rest_row = divmod(row + top - kernel_row, strides[0])
                out_column, rest_column = divmod(column + left - kernel_column, strides[1])
                if rest_row or rest_column or not (0 <= out_row < out_h and 0 <= out_column < out_w):
                    continue
                weight = float(kernel[kernel_row, kernel_column, channel, filter_index])
                delta = float(dout[out_row, out_column, filter_index])
                factors.append([weight, delta])
                positions.append([out_row, out_column, filter_index])
                weights_at.append([kernel_row, kernel_column, channel, filter_index])
    return _answer("conv", factors, positions, weights_at=weights_at)


def convolution_kernel_cell(dout: np.ndarray, x: np.ndarray, layer: LayerInfo, variables: Variables, at: Sequence[int]) -> dict:
    """d objective / d W[ky, kx, c, f]: sum over the output cells of the input under that weight * delta.

    Output cells whose window put the weight on the padding (input 0) add
    nothing and are left out. ``positions`` are the input cells; ``deltas_at``
    the output cells.
    """
    kernel = variables["kernel"]
    kernel_row, kernel_column, channel, filter_index = at
    strides, (top, _, left, _) = _geometry(layer, (1, *x.shape), kernel.shape[:2])
    height, width = x.shape[0], x.shape[1]
    factors, positions, deltas_at = [], [], []
    for out_row in range(dout.shape[0]):
        for out_column in range(dout.shape[1]):
            y = out_row * strides[0] - top + kernel_row
            x_ = out_column * strides[1] - left + kernel_column
            if not (0 <= y < height and 0 <= x_ < width):
                continue
            factors.append([float(x[y, x_, channel]), float(dout[out_row, out_column, filter_index])])
            positions.append([y, x_, channel])
            deltas_at.append([out_row, out_column, filter_index])
    return _answer("conv-kernel", factors, positions, deltas_at=deltas_at)


def bias_cell(dout: np.ndarray, at: Sequence[int]) -> dict:
    """d objective / d b[f]: the bias is added to every output cell of its filter (unit), so the sum of their deltas."""
    (filter_index,) = at
    factors, positions = [], []
    for index in np.ndindex(*dout.shape[:-1]):
        factors.append([float(dout[(*index, filter_index)]), 1.0])
        positions.append([*index, filter_index])
    return _answer("bias", factors, positions)


def affine_input_cell(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables,
                      at: Sequence[int]) -> dict:
    """d objective / d x[i]: input i feeds every unit j through W[i, j], so sum over j of W[i, j] * delta[j]."""
    kernel = variables["kernel"]
    (i,) = at
    factors, positions = [], []
    for j in range(kernel.shape[1]):
        factors.append([float(kernel[i, j]), float(dout[j])])
        positions.append([j])
    return _answer("dense", factors, positions)


def affine_kernel_cell(dout: np.ndarray, x: np.ndarray, layer: LayerInfo, variables: Variables, at: Sequence[int]) -> dict:
    """d objective / d W[i, j] = x[i] * delta[j]: the weight multiplies x[i] into unit j only."""
    i, j = at
    return _answer("dense-kernel", [[float(x[i]), float(dout[j])]], [[i]], deltas_at=[[j]])


def relu_input_cell(dout, x, out, layer, variables, at) -> dict:
    """delta * [x > 0]: the gradient passes where the input was positive and stops elsewhere."""
    at = tuple(at)
    passes = 1.0 if float(x[at]) > 0 else 0.0
    return _answer("relu", [[float(dout[at]), passes]], [list(at)], input=float(x[at]))


def pooling_input_cell(dout, x, out, layer, variables, at) -> dict:
    """Max pooling: for each window holding the cell, its delta if the cell was the window's maximum, else 0."""
    window = _pool_window(layer)
    strides, (top, _, left, _) = _geometry(layer, (1, *x.shape), window)
    row, column, channel = at
    factors, positions, chosen = [], [], []
    for out_row in range(dout.shape[0]):
        for out_column in range(dout.shape[1]):
            first_row, first_column = out_row * strides[0] - top, out_column * strides[1] - left
            if not (first_row <= row < first_row + window[0] and first_column <= column < first_column + window[1]):
                continue
            # Find the window's maximum the way the forward pass did: the first of equal values.
            best = None
            for y in range(max(first_row, 0), min(first_row + window[0], x.shape[0])):
                for x_ in range(max(first_column, 0), min(first_column + window[1], x.shape[1])):
                    if best is None or x[y, x_, channel] > x[best[0], best[1], channel]:
                        best = (y, x_)
            was_max = best == (row, column)
            factors.append([float(dout[out_row, out_column, channel]), 1.0 if was_max else 0.0])
            positions.append([out_row, out_column, channel])
            chosen.append([best[0], best[1], channel])
    return _answer("max-pool", factors, positions, maxima=chosen)


def average_pooling_input_cell(dout, x, out, layer, variables, at) -> dict:
    """Average pooling: for each window holding the cell, its delta times 1 / (the window's count)."""
    window = _pool_window(layer)
    strides, (top, _, left, _) = _geometry(layer, (1, *x.shape), window)
    row, column, channel = at
    factors, positions = [], []
    for out_row in range(dout.shape[0]):
        for out_column in range(dout.shape[1]):
            first_row, first_column = out_row * strides[0] - top, out_column * strides[1] - left
            if not (first_row <= row < first_row + window[0] and first_column <= column < first_column + window[1]):
                continue
            rows = min(first_row + window[0], x.shape[0]) - max(first_row, 0)
            columns = min(first_column + window[1], x.shape[1]) - max(first_column, 0)
            factors.append([float(dout[out_row, out_column, channel]), 1.0 / (rows * columns)])
            positions.append([out_row, out_column, channel])
    return _answer("average-pool", factors, positions)


def flatten_input_cell(dout, x, out, layer, variables, at) -> dict:
    """Flatten only moved the value: the gradient of entry i of the flat vector comes back unchanged."""
    index = int(np.ravel_multi_index(tuple(at), x.shape))
    return _answer("flatten", [[float(dout[index]), 1.0]], [[index]])


def identity_input_cell(dout, x, out, layer, variables, at) -> dict:
    """Dropout at inference (and the input layer) pass the value on, so the gradient too: delta * 1."""
    at = list(at)
    return _answer("dropout" if layer.kind == "Dropout" else "identity", [[float(dout[tuple(at)]), 1.0]], [at])


def rescaling_input_cell(dout, x, out, layer, variables, at) -> dict:
    """out = x * scale + offset, so d out / d x = scale: delta * scale."""
    at = list(at)
    return _answer("rescale", [[float(dout[tuple(at)]), _scale(layer)[0]]], [at])


def softmax_input_cell(dout, x, out, layer, variables, at) -> dict:
    """Softmax joins every score: d y_j / d x_k = y_j * ([j = k] - y_k), so sum over j of delta_j * that."""
    (k,) = at
    factors, positions = [], []
    for j in range(out.shape[0]):
        factors.append([float(dout[j]), float(out[j]) * ((1.0 if j == k else 0.0) - float(out[k]))])
        positions.append([j])
    return _answer("softmax", factors, positions)


def softmax_loss_cell(probabilities: np.ndarray, label: int, k: int) -> dict:
    """d loss / d logit k of the softmax with the cross-entropy error: y_k - t_k (the book's SoftmaxWithLoss)."""
    teacher = 1.0 if k == label else 0.0
    return _answer("softmax-cross-entropy", [[float(probabilities[k]), 1.0], [teacher, -1.0]], [[k], [k]])


def cross_entropy_cell(probabilities: np.ndarray, label: int, k: int) -> dict:
    """d loss / d y_k of L = -log y[label]: -t_k / y_k (0 for every k but the label)."""
    teacher = 1.0 if k == label else 0.0
    return _answer("cross-entropy", [[teacher, -1.0 / float(probabilities[k])]], [[k]])


# --- The kinds imported networks add (python -m train.import) -------------------------------
# Each as the ones above: a forward and a backward vectorised over the batch, and a loop for one cell.


def _activation(layer: LayerInfo) -> str:
    return layer.config.get("activation", "linear")


def sigmoid_forward(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), without overflow for large negative x."""
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1 / (1 + np.exp(-x[positive]))
    exponential = np.exp(x[~positive])
    out[~positive] = exponential / (1 + exponential)
    return out


def activation_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """An Activation layer: relu, sigmoid, tanh, softmax or linear, as its setting says."""
    activation = _activation(layer)
    if activation == "relu":
        return relu_forward(x, layer, variables)
    if activation == "sigmoid":
        return sigmoid_forward(x)
    if activation == "tanh":
        return np.tanh(x)
    if activation == "softmax":
        return softmax_forward(x, layer, variables)
    return x.copy()


def activation_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """The book's Sigmoid: dx = dout * y * (1 - y); tanh: dout * (1 - y²); relu and softmax as their layers."""
    activation = _activation(layer)
    if activation == "relu":
        return relu_backward(dout, x, out, layer, variables)
    if activation == "sigmoid":
        return dout * out * (1 - out), {}
    if activation == "tanh":
        return dout * (1 - out * out), {}
    if activation == "softmax":
        return softmax_backward(dout, x, out, layer, variables)
    return dout.copy(), {}


def activation_input_cell(dout, x, out, layer, variables, at) -> dict:
    """delta times the activation's slope at this cell: y(1 - y) for sigmoid, 1 - y² for tanh."""
    activation = _activation(layer)
    if activation == "relu":
        return relu_input_cell(dout, x, out, layer, variables, at)
    if activation == "softmax":
        return softmax_input_cell(dout, x, out, layer, variables, at)
    at = tuple(at)
    y = float(out[at])
    slope = {"sigmoid": y * (1 - y), "tanh": 1 - y * y}.get(activation, 1.0)
    return _answer(activation if activation in ("sigmoid", "tanh") else "linear", [[float(dout[at]), slope]],
                   [list(at)], input=float(x[at]), output=y)


def _batch_norm_parts(layer: LayerInfo, variables: Variables, dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, 1 / sqrt(variance + epsilon), gamma) per channel; gamma 1 when the layer has none (scale=False)."""
    epsilon = float(layer.config.get("epsilon", 1e-3))
    inverse = 1 / np.sqrt(variables["moving_variance"].astype(np.float64) + epsilon)
    gamma = variables["gamma"] if "gamma" in variables else np.ones_like(variables["moving_mean"])
    return variables["moving_mean"], inverse.astype(dtype), gamma


def batch_norm_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta, per channel, with the statistics learned in training."""
    mean, inverse, gamma = _batch_norm_parts(layer, variables, x.dtype)
    out = (x - mean) * (inverse * gamma)
    return out + variables["beta"] if "beta" in variables else out


def batch_norm_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """As the network reads, mean and variance are constants: dx = dout * gamma / sqrt(var + eps);
    d gamma = sum of dout * x̂ (x̂ the normalised input), d beta = sum of dout, over the batch and every cell."""
    mean, inverse, gamma = _batch_norm_parts(layer, variables, x.dtype)
    axes = tuple(range(x.ndim - 1))
    grads = {}
    if "gamma" in variables:
        grads["gamma"] = (dout * ((x - mean) * inverse)).sum(axis=axes)
    if "beta" in variables:
        grads["beta"] = dout.sum(axis=axes)
    return dout * (inverse * gamma), grads


def batch_norm_input_cell(dout, x, out, layer, variables, at) -> dict:
    """delta * gamma / sqrt(variance + epsilon): the only way x reaches the output."""
    at = tuple(at)
    channel = at[-1]
    _, inverse, gamma = _batch_norm_parts(layer, variables, np.float64)
    return _answer("batch-norm", [[float(dout[at]), float(gamma[channel]) * float(inverse[channel])]], [list(at)],
                   gamma=float(gamma[channel]), deviation=1 / float(inverse[channel]))


def batch_norm_gamma_cell(dout, x, layer, variables, at) -> dict:
    """d objective / d gamma[c]: every cell of channel c adds x̂ * delta (x̂ = (x - mean) / sqrt(var + eps))."""
    (channel,) = at
    mean, inverse, _ = _batch_norm_parts(layer, variables, np.float64)
    factors, positions = [], []
    for index in np.ndindex(*x.shape[:-1]):
        cell = (*index, channel)
        factors.append([(float(x[cell]) - float(mean[channel])) * float(inverse[channel]), float(dout[cell])])
        positions.append(list(cell))
    return _answer("batch-norm-gamma", factors, positions, mean=float(mean[channel]), deviation=1 / float(inverse[channel]))


def batch_norm_beta_cell(dout, x, layer, variables, at) -> dict:
    """d objective / d beta[c]: beta is added to every cell of channel c, so the sum of their deltas (each times 1)."""
    (channel,) = at
    factors, positions = [], []
    for index in np.ndindex(*dout.shape[:-1]):
        cell = (*index, channel)
        factors.append([float(dout[cell]), 1.0])
        positions.append(list(cell))
    return _answer("batch-norm-beta", factors, positions)


def global_average_pooling_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """The mean of each whole map: (N, H, W, C) -> (N, C)."""
    return x.mean(axis=(1, 2))


def global_average_pooling_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """Every cell of a map receives the map's gradient divided by its H * W cells."""
    height, width = x.shape[1], x.shape[2]
    dx = np.broadcast_to(dout[:, None, None, :] / (height * width), x.shape)
    return dx.astype(x.dtype, copy=True), {}


def global_average_pooling_input_cell(dout, x, out, layer, variables, at) -> dict:
    """delta of the cell's channel times 1 / (H * W)."""
    row, column, channel = at
    return _answer("global-average-pool", [[float(dout[channel]), 1.0 / (x.shape[0] * x.shape[1])]], [[channel]])


def _zero_padding(layer: LayerInfo) -> tuple[tuple[int, int], tuple[int, int]]:
    (top, bottom), (left, right) = layer.config["padding"]
    return (int(top), int(bottom)), (int(left), int(right))


def zero_padding_forward(x: np.ndarray, layer: LayerInfo, variables: Variables) -> np.ndarray:
    """Rows and columns of zeros around each map."""
    rows, columns = _zero_padding(layer)
    return np.pad(x, [(0, 0), rows, columns, (0, 0)])


def zero_padding_backward(dout: np.ndarray, x: np.ndarray, out: np.ndarray, layer: LayerInfo, variables: Variables):
    """The border's zeros came from no input: the input's gradient is the inner part of the output's."""
    (top, _), (left, _) = _zero_padding(layer)
    return dout[:, top : top + x.shape[1], left : left + x.shape[2], :].copy(), {}


def zero_padding_input_cell(dout, x, out, layer, variables, at) -> dict:
    """The cell was copied to one output cell (shifted by the padding): its delta * 1."""
    (top, _), (left, _) = _zero_padding(layer)
    row, column, channel = at
    where = (row + top, column + left, channel)
    return _answer("zero-padding", [[float(dout[where]), 1.0]], [list(where)])


# --- The registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One kind of layer: its forward and backward (vectorised) and the loops listing one gradient cell.

    ``input_cell(dout, x, out, layer, variables, at)`` gives the terms of
    d objective / d x[at] for one image; ``weight_cell(dout, x, layer,
    variables, at)`` per variable ("kernel", "bias") the terms of a weight's
    gradient. ``input_gradient(dout, x, out, layer, variables) -> dx`` is the
    backward pass without the weight gradients, for a kind with weights
    (``backward(..., weights=False)``); without it, ``backward``'s dx is used.
    """

    forward: Callable[..., np.ndarray]
    backward: Callable[..., tuple[np.ndarray, dict]]
    input_cell: Callable[..., dict]
    weight_cells: Mapping[str, Callable[..., dict]] = field(default_factory=dict)
    input_gradient: Callable[..., np.ndarray] | None = None


def _bias_cell(dout, x, layer, variables, at) -> dict:
    return bias_cell(dout, at)


OPERATIONS: dict[str, Operation] = {
    "InputLayer": Operation(identity_forward, identity_backward, identity_input_cell),
    "Rescaling": Operation(rescaling_forward, rescaling_backward, rescaling_input_cell),
    "Conv2D": Operation(
        convolution_forward, convolution_backward, convolution_input_cell,
        {"kernel": convolution_kernel_cell, "bias": _bias_cell}, convolution_input_gradient,
    ),
    "Dense": Operation(
        affine_forward, affine_backward, affine_input_cell, {"kernel": affine_kernel_cell, "bias": _bias_cell},
        affine_input_gradient,
    ),
    "ReLU": Operation(relu_forward, relu_backward, relu_input_cell),
    "MaxPooling2D": Operation(pooling_forward, pooling_backward, pooling_input_cell),
    "AveragePooling2D": Operation(average_pooling_forward, average_pooling_backward, average_pooling_input_cell),
    "Flatten": Operation(flatten_forward, flatten_backward, flatten_input_cell),
    "Dropout": Operation(identity_forward, identity_backward, identity_input_cell),
    "Softmax": Operation(softmax_forward, softmax_backward, softmax_input_cell),
    # The kinds imported networks add (python -m train.import).
    "Activation": Operation(activation_forward, activation_backward, activation_input_cell),
    "BatchNormalization": Operation(
        batch_norm_forward, batch_norm_backward, batch_norm_input_cell, {"gamma": batch_norm_gamma_cell, "beta": batch_norm_beta_cell}
    ),
    "GlobalAveragePooling2D": Operation(
        global_average_pooling_forward, global_average_pooling_backward, global_average_pooling_input_cell
    ),
    "ZeroPadding2D": Operation(zero_padding_forward, zero_padding_backward, zero_padding_input_cell),
}


def operation(layer: LayerInfo) -> Operation:
    """The operation of ``layer``'s kind.

    Raises:
        BackwardError: ``unsupported-layer`` for a kind without a backward pass,
            or a convolution / dense layer with an activation inside it.
    """
    if layer.kind not in OPERATIONS:
        raise BackwardError("unsupported-layer", f"{layer.name} is a {layer.kind}, which has no backward pass here yet")
    activation = layer.config.get("activation", "linear")
    if layer.kind in ("Conv2D", "Dense") and activation not in (None, "linear"):
        raise BackwardError(
            "unsupported-layer", f"{layer.name} applies {activation} inside itself; only a separate activation layer is supported"
        )
    return OPERATIONS[layer.kind]


# --- A whole network ---------------------------------------------------------------------------


@dataclass
class Gradients:
    """What the backward pass found.

    outputs: per layer (model order): d objective / d that layer's output, (N, ...);
        None above ``top``. outputs[0] is d objective / d the input image in 0..255 units.
    weights: layer -> {"kernel": ..., "bias": ...}, summed over the batch, for the
        layers with weights at or below ``top``.
    """

    outputs: list[np.ndarray | None]
    weights: dict[str, dict[str, np.ndarray]]


def forward(layers: Sequence[LayerInfo], weights: Weights, images: np.ndarray, dtype=np.float32) -> list[np.ndarray]:
    """Every layer's output, the input layer first, each (N, ...).

    Args:
        layers: the network's layers in order (a chain: each reads the one before).
        weights: {layer: {"kernel": ..., "bias": ...}}.
        images: (N, H, W) or (N, H, W, 1) at the network's input size, 0..255 (ink = 255).
        dtype: float32 as the network computes; float64 for the numerical gradient check.
    """
    x = np.asarray(images, dtype)
    if x.ndim == 3:
        x = x[..., None]
    outputs = [x]
    for layer in layers[1:]:
        variables = _variables(weights, layer, dtype)
        x = operation(layer).forward(x, layer, variables)
        outputs.append(x)
    return outputs


def forward_from(layers: Sequence[LayerInfo], weights: Weights, position: int, x: np.ndarray) -> list[np.ndarray]:
    """The outputs of the layers after ``position``, given that layer's output ``x`` (for perturbing one value)."""
    outputs = [x]
    for layer in layers[position + 1 :]:
        x = operation(layer).forward(x, layer, _variables(weights, layer, x.dtype))
        outputs.append(x)
    return outputs


def _variables(weights: Weights, layer: LayerInfo, dtype) -> dict[str, np.ndarray]:
    return {name: np.asarray(value, dtype) for name, value in weights.get(layer.name, {}).items()}


def layer_position(layers: Sequence[LayerInfo], name: str) -> int:
    names = [layer.name for layer in layers]
    if name not in names:
        raise BackwardError("unknown-layer", f"there is no layer {name!r}; this network has {', '.join(names)}")
    return names.index(name)


def logits_layer(layers: Sequence[LayerInfo]) -> str:
    """The layer whose output the softmax turns into probabilities (the scores, before softmax)."""
    if layers[-1].kind != "Softmax":
        raise BackwardError("no-softmax", "the network does not end in a Softmax layer")
    return layers[-2].name


def backward(layers: Sequence[LayerInfo], weights: Weights, outputs: Sequence[np.ndarray], gradient: np.ndarray,
             top: str, *, weight_gradients: bool = True) -> Gradients:
    """The backward pass (誤差逆伝播法) from ``top`` down to the input image.

    Args:
        layers, weights: as for ``forward``.
        outputs: what ``forward`` returned for the same images.
        gradient: d objective / d (output of layer ``top``), the shape of that output.
            Learning: top = the logits, gradient = probabilities - one_hot(labels).
        top: the name of the layer the gradient is given at.
        weight_gradients: False skips the weights' gradients (``Gradients.weights`` is then
            empty): attribution only wants d objective / d each output, and a convolution's
            kernel gradient costs as much as its input gradient.
    """
    position = layer_position(layers, top)
    grads_out: list[np.ndarray | None] = [None] * len(layers)
    grads_weights: dict[str, dict[str, np.ndarray]] = {}
    dout = np.asarray(gradient, outputs[position].dtype).reshape(outputs[position].shape)
    grads_out[position] = dout
    for index in range(position, 0, -1):
        layer = layers[index]
        kind = operation(layer)
        variables = _variables(weights, layer, outputs[index].dtype)
        if not weight_gradients and kind.input_gradient is not None:
            dx, grads = kind.input_gradient(dout, outputs[index - 1], outputs[index], layer, variables), {}
        else:
            dx, grads = kind.backward(dout, outputs[index - 1], outputs[index], layer, variables)
            if not weight_gradients:
                grads = {}
        if grads:
            grads_weights[layer.name] = grads
        dout = dx.astype(outputs[index - 1].dtype, copy=False)
        grads_out[index - 1] = dout
    order = [layer.name for layer in layers]
    return Gradients(outputs=grads_out, weights={name: grads_weights[name] for name in order if name in grads_weights})


# --- One gradient number, explained ---------------------------------------------------------


def gradient_terms(layers: Sequence[LayerInfo], weights: Weights, outputs: Sequence[np.ndarray], gradients: Gradients,
                   position: int, of: str, at: Sequence[int], image: int = 0) -> dict:
    """How one gradient number of image ``image`` was computed by the chain rule.

    ``of="output"``: d objective / d (output of layer ``position``)[at], from
    the next layer's gradient through the next layer's operation. ``of="kernel"``
    or ``"bias"``: a weight gradient of layer ``position``, from its input and
    its own output gradient. The gradient at ``top`` itself is given, not
    computed here (the caller explains it: ``softmax_loss_cell``).

    Returns:
        the operation's terms and factors, ``value`` (the vectorised backward's
        float32 number) and ``through`` (the layer whose operation was used).
    """
    layer = layers[position]
    at = tuple(int(index) for index in at)
    if of == "output":
        following = position + 1
        if following >= len(layers) or gradients.outputs[following] is None:
            raise BackwardError("no-gradient", f"the gradient of {layer.name}'s output is given, not computed from a later layer")
        nxt = layers[following]
        answer = operation(nxt).input_cell(
            gradients.outputs[following][image], outputs[position][image], outputs[following][image], nxt,
            _variables(weights, nxt, outputs[position].dtype), at,
        )
        value = gradients.outputs[position][image][at]
        through = nxt.name
    elif of in ("kernel", "bias", "gamma", "beta"):
        cells = operation(layer).weight_cells
        if of not in cells or of not in weights.get(layer.name, {}):
            raise BackwardError("no-weights", f"{layer.name} is a {layer.kind}: it has no {of}")
        if gradients.outputs[position] is None:
            raise BackwardError("no-gradient", f"{layer.name} is above the layer the gradient starts at")
        answer = cells[of](
            gradients.outputs[position][image], outputs[position - 1][image], layer,
            _variables(weights, layer, outputs[position].dtype), at,
        )
        value = gradients.weights[layer.name][of][at]
        through = layer.name
    else:
        raise BackwardError("invalid-of", f"of must be output, kernel, bias, gamma or beta; got {of!r}")
    return {"layer": layer.name, "kind": layer.kind, "of": of, "at": list(at), "value": float(value),
            "through": through, **answer}


# --- 勾配確認: the gradient check of the book's ch05/gradient_check.py ---------------------------

NUMERICAL_H = 1e-4  # the book's h


def loss_of(layers: Sequence[LayerInfo], weights: Weights, images: np.ndarray, labels, dtype=np.float64) -> float:
    """The summed cross-entropy loss of ``images`` (float64 by default: the check needs the digits)."""
    return float(cross_entropy_error(forward(layers, weights, images, dtype)[-1], labels).sum())


def numerical_gradient(layers: Sequence[LayerInfo], weights: Weights, images: np.ndarray, labels, position: int,
                       of: str, at: Sequence[int], h: float = NUMERICAL_H) -> dict:
    """(L(w + h) - L(w - h)) / 2h for one weight (``of`` kernel, bias, gamma or beta) or one output cell of image 0
    (``of`` output).

    Computed in float64, as the book's numpy does, so the difference from
    backpropagation shows the method's error, not float32's rounding.
    """
    layer = layers[position]
    at = tuple(int(index) for index in at)
    if of in ("kernel", "bias", "gamma", "beta"):
        def loss_with(delta: float) -> float:
            changed = {name: dict(variables) for name, variables in weights.items()}
            variable = np.array(weights[layer.name][of], np.float64)
            variable[at] += delta
            changed[layer.name][of] = variable
            return loss_of(layers, changed, images, labels)
    elif of == "output":
        base = forward(layers, weights, images, np.float64)[position]

        def loss_with(delta: float) -> float:
            changed = base.copy()
            changed[(0, *at)] += delta
            probabilities = forward_from(layers, weights, position, changed)[-1]
            return float(cross_entropy_error(probabilities, labels).sum())
    else:
        raise BackwardError("invalid-of", f"of must be output, kernel, bias, gamma or beta; got {of!r}")
    plus, here, minus = loss_with(h), loss_with(0.0), loss_with(-h)
    # One-sided slopes that disagree mean a kink between w - h and w + h (ReLU at 0, or a max-pooling
    # window whose largest cells tie): the loss has no derivative there and the central difference
    # averages the two sides.
    right, left = (plus - here) / h, (here - minus) / h
    kink = abs(right - left) > 0.01 * max(abs(right), abs(left)) and abs(right - left) > 1e-6
    return {"h": h, "loss": here, "loss_plus": plus, "loss_minus": minus, "value": (plus - minus) / (2 * h),
            "left": left, "right": right, "kink": bool(kink)}
