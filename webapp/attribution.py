"""Which pixels made the reading: five attribution methods on one network's score. Pure numpy, no Flask.

What is attributed is the *score* of one class: the target's logit, the
output of the layer before the softmax (for the not-a-digit gate, its
"not a digit" logit). Every method answers a map over the network's input
image (28x28, or 32x32), in the units of that score:

    occlusion             score(drawing) - score(drawing with one patch blanked), patch by patch
                          (forward passes only; the patches tile the image)
    saliency              d score / d pixel, the input in 0..255 units as the API's ``input``
    gradient-x-input      saliency * pixel
    grad-cam              ReLU(sum_k alpha_k A_k) on the last convolution's (rectified) maps A_k,
                          alpha_k = the mean of d score / d A_k: each map's channel weight
    integrated-gradients  pixel * the mean of d score / d pixel along the straight path from the
                          blank image (all 0) to the drawing; the attributions add up to
                          score(drawing) - score(blank) (completeness), checked on every answer

The gradients come from ``webapp.backward`` (the learning page's backward
pass, the book's layers in numpy): ``gradient = one_hot(target)`` at the
score layer gives d score / d every layer's output, the input's first.
Occlusion needs no gradient: it reads the drawing again with each patch
blanked, through ``logits_of`` (the served network's own forward pass).

The work is bounded: occlusion runs at most one pass per patch (patches
without ink change nothing and are not run), Integrated Gradients at most
``MAX_STEPS + 1`` points in batches of ``BATCH``.

Each method returns an ``Attribution``: the map, the method's own numbers
(JSON-ready) and ``cell(row, column)``, the numbers behind one heat cell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from webapp import backward
from webapp.explain import padding_before

METHODS = ("occlusion", "saliency", "gradient-x-input", "grad-cam", "integrated-gradients")

# Occlusion: square patches tiling the input, blanked to 0 (the background, as the blank image of
# Integrated Gradients). 4x4: 49 passes on 28x28, 64 on 32x32, fewer for the patches with ink.
DEFAULT_PATCH = 4
PATCH_SIZES = range(2, 9)
FILL = 0.0

# Integrated Gradients: points of the path, both ends included (trapezoid rule). When the sum
# misses score(drawing) - score(blank) by more than COMPLETENESS of it, the steps double (the
# points already taken are kept) up to MAX_STEPS.
DEFAULT_STEPS = 64
STEP_RANGE = (8, 256)
MAX_STEPS = 1024
COMPLETENESS = 0.01
# Images per forward/backward pass: the 65 points of 64 steps are 5 batches of 13. Small batches keep
# each layer's arrays in the CPU's cache: in-process, 64 steps took ~15% less CPU in batches of 9-13
# than in one batch of 65 on digit-lens and keras-mnist (fewer than 7 cost more in per-call overhead).
BATCH = 13

Weights = Mapping[str, Mapping[str, np.ndarray]]


class AttributionError(ValueError):
    """A request the methods cannot answer: ``code`` is the API's error slug."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Attribution:
    """One method's answer: the map over the input, its own numbers, and the numbers of one cell."""

    method: str
    target: int
    logit: float  # the score of the drawing
    probability: float  # the target's probability for the drawing (softmax of the scores)
    map: np.ndarray  # (H, W) float64, H x W = the network's input
    details: dict = field(default_factory=dict)  # JSON-ready, the method's own numbers
    cell: Callable[[int, int], dict] | None = field(default=None, repr=False)

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "target": self.target,
            "score": "logit",
            "logit": self.logit,
            "probability": self.probability,
            "map": _rows(self.map),
            **self.details,
        }


# --- The score: one unit of the layer before the softmax ----------------------------------


def score_layer(layers: Sequence) -> int:
    """Index of the layer whose output is the scores: the one before the final softmax (or the last)."""
    last = layers[-1]
    if last.kind == "Softmax" or (last.kind == "Activation" and last.settings.get("activation") == "softmax"):
        return len(layers) - 2
    return len(layers) - 1


def classes(layers: Sequence) -> int:
    """How many scores the network gives (10 for a digit network, 2 for the gate)."""
    return int(layers[score_layer(layers)].shape[-1])


def softmax(scores: np.ndarray) -> np.ndarray:
    """Probabilities of a batch of scores (N, K), in float64."""
    shifted = np.asarray(scores, dtype=np.float64)
    shifted = shifted - shifted.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


@dataclass
class Pass:
    """A forward and backward pass on a batch: every layer's output and d score / d it."""

    outputs: list[np.ndarray]
    gradients: list[np.ndarray | None]
    scores: np.ndarray  # (N, K): the layer before the softmax
    input_gradient: np.ndarray  # (N, H, W): d score[target] / d pixel, 0..255 units
    backward: backward.Gradients  # as the backward pass gave them


def gradient_pass(layers: Sequence, weights: Weights, images: np.ndarray, target: int) -> Pass:
    """Forward a batch of images (N, H, W) in 0..255 units, then backward from score ``target``."""
    images = np.asarray(images, dtype=np.float32)
    outputs = backward.forward(layers, weights, images)
    top = score_layer(layers)
    seed = np.zeros_like(outputs[top])
    seed[:, target] = 1.0
    result = backward.backward(layers, weights, outputs, seed, layers[top].name, weight_gradients=False)
    input_gradient = np.asarray(result.outputs[0], dtype=np.float64).reshape(images.shape[:3])
    return Pass(outputs, list(result.outputs), np.asarray(outputs[top], dtype=np.float64), input_gradient, result)


def _as_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    return image[..., 0] if image.ndim == 3 else image


def _check_target(layers: Sequence, target: int) -> None:
    count = classes(layers)
    if not 0 <= target < count:
        raise AttributionError("invalid-target", f"target must be a class 0-{count - 1} of this network, not {target}")


# --- Occlusion: forward passes only ---------------------------------------------------------


def occlusion(
    image: np.ndarray,
    logits_of: Callable[[np.ndarray], np.ndarray],
    target: int,
    patch: int = DEFAULT_PATCH,
) -> Attribution:
    """Blank one square patch at a time and read again: the drop of the target's score, patch by patch.

    Args:
        image: the network's input (H, W), 0..255.
        logits_of: a batch of images (N, H, W) -> their scores (N, K), the network's own forward pass.
        target: the class whose score is attributed.
        patch: the patches' side; they tile the image (the last row and column may be narrower).

    Returns:
        The map (every pixel of a patch carries that patch's drop), and per patch its place,
        score and probability with the patch blanked.
    """
    if patch not in PATCH_SIZES:
        raise AttributionError(
            "invalid-patch", f"patch must be {PATCH_SIZES.start}-{PATCH_SIZES.stop - 1} pixels, not {patch}"
        )
    image = _as_image(image)
    height, width = image.shape
    places = [(top, left) for top in range(0, height, patch) for left in range(0, width, patch)]
    # A patch without ink changes nothing when blanked: its drop is exactly 0, and it is not run.
    inked = [(top, left) for top, left in places if image[top : top + patch, left : left + patch].any()]
    batch = np.repeat(image[None], len(inked) + 1, axis=0)
    for index, (top, left) in enumerate(inked, start=1):
        batch[index, top : top + patch, left : left + patch] = FILL
    scores = np.asarray(logits_of(batch), dtype=np.float64)
    probabilities = softmax(scores)[:, target]
    scores = scores[:, target]
    by_place = {place: (float(scores[index]), float(probabilities[index])) for index, place in enumerate(inked, 1)}
    logit, probability = float(scores[0]), float(probabilities[0])

    rows, columns = -(-height // patch), -(-width // patch)
    logits_without = np.full((rows, columns), logit)
    probabilities_without = np.full((rows, columns), probability)
    drop = np.zeros((height, width))
    for top, left in inked:
        without, probability_without = by_place[(top, left)]
        logits_without[top // patch, left // patch] = without
        probabilities_without[top // patch, left // patch] = probability_without
        drop[top : top + patch, left : left + patch] = logit - without

    def cell(row: int, column: int) -> dict:
        top, left = row - row % patch, column - column % patch
        grid = (top // patch, left // patch)
        return {
            "patch": {"top": top, "left": left, "height": min(patch, height - top), "width": min(patch, width - left)},
            "inked": bool(image[top : top + patch, left : left + patch].any()),
            "logit": logit,
            "logit_without": float(logits_without[grid]),
            "probability": probability,
            "probability_without": float(probabilities_without[grid]),
            "value": float(drop[row, column]),
        }

    details = {
        "occlusion": {
            "patch": patch,
            "fill": FILL,
            "passes": len(inked) + 1,
            "logits_without": _rows(logits_without),
            "probabilities_without": _rows(probabilities_without),
        }
    }
    return Attribution("occlusion", target, logit, probability, drop, details, cell)


# --- Gradients: saliency, gradient x input ---------------------------------------------------


def saliency(layers: Sequence, weights: Weights, image: np.ndarray, target: int) -> Attribution:
    """d score / d pixel: how fast the target's score moves as one pixel gets more ink."""
    _check_target(layers, target)
    image = _as_image(image)
    result = gradient_pass(layers, weights, image[None], target)
    gradient = result.input_gradient[0]
    logit, probability = _score(result, target)

    def cell(row: int, column: int) -> dict:
        path = strongest_path(layers, weights, result, (row, column, 0))
        return {"value": float(gradient[row, column]), "pixel": float(image[row, column]), "path": path}

    return Attribution("saliency", target, logit, probability, gradient, {}, cell)


def gradient_x_input(layers: Sequence, weights: Weights, image: np.ndarray, target: int) -> Attribution:
    """Saliency times the pixel: zero where nothing was drawn, whatever the gradient there."""
    _check_target(layers, target)
    image = _as_image(image)
    result = gradient_pass(layers, weights, image[None], target)
    gradient = result.input_gradient[0]
    product = gradient * image
    logit, probability = _score(result, target)

    def cell(row: int, column: int) -> dict:
        return {
            "value": float(product[row, column]),
            "gradient": float(gradient[row, column]),
            "pixel": float(image[row, column]),
        }

    details = {"gradient": _rows(gradient)}
    return Attribution("gradient-x-input", target, logit, probability, product, details, cell)


def _score(result: Pass, target: int) -> tuple[float, float]:
    return float(result.scores[0, target]), float(softmax(result.scores[:1])[0, target])


# --- Grad-CAM: the last convolution's maps, weighted -------------------------------------------


def cam_layer(layers: Sequence) -> int:
    """Index of the maps Grad-CAM weighs: the last Conv2D's output, after its ReLU when one follows."""
    convolutions = [index for index, layer in enumerate(layers) if layer.kind == "Conv2D"]
    if not convolutions:
        raise AttributionError("no-convolution", "this network has no convolution, so Grad-CAM has no maps to weigh")
    index = convolutions[-1]
    following = layers[index + 1] if index + 1 < len(layers) else None
    if following is not None and (
        following.kind == "ReLU" or (following.kind == "Activation" and following.settings.get("activation") == "relu")
    ):
        index += 1
    return index


def centres(layers: Sequence, upto: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Where the cells of layer ``upto`` sit over the input: centre(i) = scale * i + offset, per axis.

    Each convolution or pooling layer moves a cell's centre by its stride,
    window and padding (TensorFlow's rule, as the explain panel draws it).
    """
    axes = []
    for axis in (0, 1):
        scale, offset = 1.0, 0.0
        size = layers[0].shape[axis]
        for layer in layers[1 : upto + 1]:
            settings = layer.settings
            if layer.kind == "Conv2D":
                window, stride = settings["kernel_size"][axis], settings["strides"][axis]
            elif layer.kind in ("MaxPooling2D", "AveragePooling2D"):
                window = settings["pool_size"][axis]
                stride = (settings.get("strides") or settings["pool_size"])[axis]
            elif layer.kind == "ZeroPadding2D":  # an imported network's: cell i is cell i - before of its input
                offset -= scale * settings["padding"][axis][0]
                size = layer.shape[axis]
                continue
            else:
                continue
            pad = padding_before(size, window, stride, settings.get("padding", "valid"))
            offset += scale * ((window - 1) / 2 - pad)
            scale *= stride
            size = layer.shape[axis]
        axes.append((scale, offset))
    return axes[0], axes[1]


def interpolation(cells: int, size: int, scale: float, offset: float) -> np.ndarray:
    """A (size, cells) matrix: pixel i of the input, linearly between the two cell centres around it."""
    matrix = np.zeros((size, cells))
    for pixel in range(size):
        position = min(max((pixel - offset) / scale, 0.0), cells - 1.0)
        below = min(int(np.floor(position)), cells - 1)
        above = min(below + 1, cells - 1)
        fraction = position - below
        matrix[pixel, below] += 1.0 - fraction
        matrix[pixel, above] += fraction
    return matrix


def grad_cam(layers: Sequence, weights: Weights, image: np.ndarray, target: int) -> Attribution:
    """Grad-CAM on the last convolution: each map weighted by its mean gradient, summed, negatives cut.

    The coarse map (one value per cell of the convolution's output) is
    spread over the input by linear interpolation between the cells'
    centres, so a cell's heat lands where its receptive field is centred.
    """
    _check_target(layers, target)
    image = _as_image(image)
    result = gradient_pass(layers, weights, image[None], target)
    index = cam_layer(layers)
    maps = np.asarray(result.outputs[index][0], dtype=np.float64)  # (h, w, K)
    gradient = np.asarray(result.gradients[index][0], dtype=np.float64)
    channel_weights = gradient.mean(axis=(0, 1))
    weighted = maps @ channel_weights  # (h, w): sum_k alpha_k A_k
    cam = np.maximum(weighted, 0.0)
    (row_scale, row_offset), (column_scale, column_offset) = centres(layers, index)
    height, width = image.shape
    rows = interpolation(cam.shape[0], height, row_scale, row_offset)
    columns = interpolation(cam.shape[1], width, column_scale, column_offset)
    spread = rows @ cam @ columns.T
    logit, probability = _score(result, target)

    def cell(row: int, column: int) -> dict:
        # The convolution cell whose centre is nearest to the pixel, and its terms alpha_k * A_k.
        cam_row = int(np.clip(round((row - row_offset) / row_scale), 0, cam.shape[0] - 1))
        cam_column = int(np.clip(round((column - column_offset) / column_scale), 0, cam.shape[1] - 1))
        values = maps[cam_row, cam_column]
        return {
            "value": float(spread[row, column]),
            "cam_at": [cam_row, cam_column],
            "cam_value": float(cam[cam_row, cam_column]),
            "sum": float(weighted[cam_row, cam_column]),
            "activations": _floats(values),
            "terms": _floats(values * channel_weights),
        }

    details = {
        "grad_cam": {
            "layer": layers[index].name,
            "weights": _floats(channel_weights),
            "cam": _rows(cam),
            "centres": {"rows": [row_scale, row_offset], "columns": [column_scale, column_offset]},
        }
    }
    return Attribution("grad-cam", target, logit, probability, spread, details, cell)


# --- Integrated Gradients: from the blank image, with its completeness check ---------------------


def integrated_gradients(
    layers: Sequence,
    weights: Weights,
    image: np.ndarray,
    target: int,
    steps: int = DEFAULT_STEPS,
    max_steps: int = MAX_STEPS,
    tolerance: float = COMPLETENESS,
) -> Attribution:
    """Integrated Gradients from the blank image: pixel * the mean gradient along the straight path.

    The path's points are ``alpha * image`` for alpha = 0, 1/steps, ..., 1;
    the mean is the trapezoid rule over them. The attributions must add up to
    score(image) - score(blank) (completeness): when they miss it by more than
    ``tolerance`` of it, the steps double (keeping the points already taken),
    up to ``max_steps``; the answer says how many were used.
    """
    _check_target(layers, target)
    if not STEP_RANGE[0] <= steps <= STEP_RANGE[1]:
        raise AttributionError("invalid-steps", f"steps must be {STEP_RANGE[0]}-{STEP_RANGE[1]}, not {steps}")
    image = _as_image(image)
    path = _Path(layers, weights, image, target)
    # Trapezoid rule: the ends count half.
    alphas = np.arange(steps + 1) / steps
    summed = path.gradients(alphas, np.where((alphas == 0) | (alphas == 1), 0.5, 1.0))
    while True:
        # The mean is taken at the first layer the path bends in, then carried back to the pixels
        # once (everything below it is linear).
        average = path.to_pixels(summed / steps)
        attributions = image * average
        total = float(attributions.sum())
        blank_score, score = path.scores[0.0][target], path.scores[1.0][target]
        difference = float(score - blank_score)
        if abs(total - difference) <= tolerance * abs(difference) or steps * 2 > max_steps:
            break
        midpoints = (np.arange(steps) + 0.5) / steps
        summed = summed + path.gradients(midpoints, np.ones(steps))
        steps *= 2

    logit = float(score)
    probability = float(softmax(path.scores[1.0][None])[0, target])

    def cell(row: int, column: int) -> dict:
        value = float(attributions[row, column])
        return {
            "value": value,
            "share": value / total if total else 0.0,
            "pixel": float(image[row, column]),
            "mean_gradient": float(average[row, column]),
        }

    details = {
        "completeness": {
            "sum": total,
            "difference": difference,
            "baseline": "blank",
            "steps": steps,
            "blank_logit": float(blank_score),
            "relative_error": abs(total - difference) / abs(difference) if difference else 0.0,
        }
    }
    return Attribution("integrated-gradients", target, logit, probability, attributions, details, cell)


def linear_prefix(layers: Sequence) -> int:
    """Index of the last layer before the first one that bends: the input, rescaling and a first convolution
    (or dense layer) are affine in the pixels, so their gradient is the same at every point of a path."""
    index = 0
    for position, layer in enumerate(layers[1:], start=1):
        if layer.kind not in ("Rescaling", "Conv2D", "Dense", "Flatten", "Dropout"):
            break
        if layer.settings.get("activation", "linear") not in (None, "linear"):
            break
        index = position
    return index


def _is_relu(layer) -> bool:
    return layer.kind == "ReLU" or (layer.kind == "Activation" and layer.settings.get("activation") == "relu")


class _Path:
    """The straight path alpha * image from the blank image, its scores and gradients, in batches.

    The layers up to ``linear_prefix`` are affine: their output at alpha * image
    is blank + alpha * (drawing - blank), so each batch starts there, and the
    backward pass stops there too. The mean gradient over the path is taken
    at that layer and carried back to the pixels once (``to_pixels``): the
    mean of a linear map's outputs is the map of the mean.

    When the first layer that bends is a ReLU and a max pooling follows it
    (every network here but keras-mnist), the two are taken in the other
    order: max pool(ReLU(z)) = ReLU(max pool(z)), as max commutes with ReLU,
    so ReLU runs on the pooled quarter of the cells (``_relu_pool``).
    """

    def __init__(self, layers: Sequence, weights: Weights, image: np.ndarray, target: int):
        self.layers, self.weights, self.target = layers, weights, target
        self.image_shape = image.shape
        self.first = linear_prefix(layers)
        self.top = score_layer(layers)
        following = layers[self.first + 1 : self.first + 3]
        self.relu_pool = (len(following) == 2 and _is_relu(following[0]) and following[1].kind == "MaxPooling2D"
                          and self.first + 2 < self.top)
        prefix = list(layers[: self.first + 1])
        both = backward.forward(prefix, weights, np.stack([np.zeros_like(image), image]))
        self.drawing_outputs = [output[1:] for output in both]
        self.blank, self.change = both[-1][0], both[-1][1] - both[-1][0]
        self.scores: dict[float, np.ndarray] = {}

    def gradients(self, alphas: np.ndarray, factors: np.ndarray) -> np.ndarray:
        """d score / d (output of the first layer that bends) at each alpha, times its factor, summed."""
        total = np.zeros(self.blank.shape, dtype=np.float64)
        rest = list(self.layers[self.first :])
        # blank + alpha * change, the batches' start, in one float32 buffer for them all (each large array
        # a worker allocates is a fresh mapping of memory, its pages faulted in one by one).
        starts = np.empty((min(BATCH, len(alphas)), *self.blank.shape), np.float32)
        for start in range(0, len(alphas), BATCH):
            chunk = np.asarray(alphas[start : start + BATCH], dtype=np.float32)
            chunk_factors = np.asarray(factors[start : start + BATCH], dtype=np.float64)
            shape = (len(chunk),) + (1,) * self.blank.ndim
            start_outputs = starts[: len(chunk)]
            np.multiply(chunk.reshape(shape), self.change, out=start_outputs)
            start_outputs += self.blank
            if self.relu_pool:
                scores, gradient = self._relu_pool(start_outputs)
            else:
                outputs = backward.forward_from(self.layers, self.weights, self.first, start_outputs)
                scores = outputs[self.top - self.first]
                result = backward.backward(rest, self.weights, outputs, self._seed(scores), self.layers[self.top].name,
                                           weight_gradients=False)
                gradient = result.outputs[0]
            # The weighted sum over the batch in float32 (one product), added up across batches in float64.
            total += np.tensordot(chunk_factors.astype(np.float32), gradient, axes=1)
            for alpha, row in zip(chunk, scores):
                self.scores[float(alpha)] = np.asarray(row, dtype=np.float64)
        return total

    def _seed(self, scores: np.ndarray) -> np.ndarray:
        seed = np.zeros_like(scores)
        seed[:, self.target] = 1.0
        return seed

    def _relu_pool(self, start_outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores and d score / d z for a batch z of the first bending layer's inputs, a ReLU then a max pool.

        Forward: the windows' maxima of z, then ReLU on them (the pool's output, exactly). Backward:
        from the pool's output down, ReLU's gradient on the pooled side (nothing passes where a
        window's maximum is not positive), then to the window's first maximum of z: where it is
        positive it is also the first maximum of ReLU(z), the cell the max pool chose, and ReLU
        passes its gradient there. The same numbers as ReLU then max pool, with ReLU on a quarter.
        """
        pool_position = self.first + 2
        pool = self.layers[pool_position]
        maxima = backward.pooling_forward(start_outputs, pool, {})
        pooled = backward.relu_forward(maxima, self.layers[self.first + 1], {})
        outputs = backward.forward_from(self.layers, self.weights, pool_position, pooled)
        scores = outputs[self.top - pool_position]
        result = backward.backward(list(self.layers[pool_position:]), self.weights, outputs, self._seed(scores),
                                   self.layers[self.top].name, weight_gradients=False)
        passed = result.outputs[0] * (maxima > 0)
        gradient, _ = backward.pooling_backward(passed, start_outputs, maxima, pool, {})
        return scores, gradient

    def to_pixels(self, gradient: np.ndarray) -> np.ndarray:
        """A gradient at the first layer that bends, carried back to the pixels (0..255 units)."""
        if self.first == 0:
            return gradient.reshape(self.image_shape)
        result = backward.backward(
            self.layers[: self.first + 1], self.weights, self.drawing_outputs,
            gradient[None].astype(np.float32), self.layers[self.first].name, weight_gradients=False,
        )
        return np.asarray(result.outputs[0][0], dtype=np.float64).reshape(self.image_shape)


# --- The path back: the chain rule from a pixel to the score, along its largest terms -----------


def strongest_path(layers: Sequence, weights: Weights, result: Pass, pixel: Sequence[int]) -> list[dict]:
    """From the score back to one pixel, along the chain rule's largest term at each layer.

    d score / d pixel is a sum over the cells the pixel feeds in the next
    layer, each term (d score / d that cell) * (d that cell / d pixel): the
    learning page's chain rule (``backward.gradient_terms``). Following, from
    the pixel up, the cell whose term is largest gives one path from the score
    to the pixel. Each step says the layer's cell and d score / d it
    (``gradient``), how many terms made that gradient, the largest one
    (``term``, its factors) and the cell of the next layer it came from
    (``to``). Listed from the score down to the pixel; a path ends early
    where no term is non-zero (a cell a max pool did not choose).
    """
    top = score_layer(layers)
    steps = []
    position = tuple(pixel)
    for index in range(top):
        answer = backward.gradient_terms(layers, weights, result.outputs, result.backward, index, "output", position)
        step = {
            "layer": layers[index].name,
            "kind": layers[index].kind,
            "at": list(position),
            "gradient": answer["value"],
            "through": answer["through"],
            "operation": answer["operation"],
            "terms": len(answer["terms"]),
        }
        steps.append(step)
        nonzero = [i for i, term in enumerate(answer["terms"]) if term != 0.0]
        if not nonzero:
            step["ends"] = True
            return steps[::-1]
        strongest = max(nonzero, key=lambda i: abs(answer["terms"][i]))
        step.update({
            "term": answer["terms"][strongest],
            "factors": answer["factors"][strongest],
            "to": answer["positions"][strongest],
        })
        position = tuple(answer["positions"][strongest])
    steps.append({
        "layer": layers[top].name,
        "kind": layers[top].kind,
        "at": list(position),
        "gradient": float(result.backward.outputs[top][0][position]),
    })
    return steps[::-1]


def _short(value: float) -> float:
    """A float32 result with the 7 significant digits float32 holds (not 17 digits of noise in the JSON)."""
    return float(f"{value:.7g}")


def _shortened(array: np.ndarray) -> np.ndarray:
    """``_short`` of every value at once (float64): the same numbers, without formatting each as text.

    A value v with decimal exponent e becomes round(v * 10^(6 - e)) / 10^(6 - e): the
    nearest double to its 7-digit decimal, as float(f"{v:.7g}") gives (both round an exact
    half to even). Powers of ten beyond 10^22 are not exact doubles; those few values (and
    none of the maps' usual ones) go through ``_short`` itself.
    """
    values = np.array(array, dtype=np.float64)
    finite = np.isfinite(values) & (values != 0)
    with np.errstate(divide="ignore"):
        shift = 6 - np.floor(np.log10(np.abs(np.where(finite, values, 1.0)))).astype(int)
    exact = finite & (np.abs(shift) <= 22)
    up = exact & (shift >= 0)
    scale = 10.0 ** shift[up]
    values[up] = np.round(values[up] * scale) / scale
    down = exact & (shift < 0)
    scale = 10.0 ** -shift[down]
    values[down] = np.round(values[down] / scale) * scale
    rest = finite & ~exact
    values[rest] = [_short(value) for value in values[rest]]
    return values


def _rows(array: np.ndarray) -> list[list[float]]:
    return _shortened(array).tolist()


def _floats(array: np.ndarray) -> list[float]:
    return _shortened(array).ravel().tolist()


def attribute(
    method: str,
    layers: Sequence,
    weights: Weights,
    image: np.ndarray,
    target: int,
    logits_of: Callable[[np.ndarray], np.ndarray] | None = None,
    patch: int = DEFAULT_PATCH,
    steps: int = DEFAULT_STEPS,
) -> Attribution:
    """Run one method by its API name."""
    if method == "occlusion":
        _check_target(layers, target)
        if logits_of is None:
            top = score_layer(layers)
            logits_of = lambda batch: backward.forward(layers, weights, batch)[top]  # noqa: E731
        return occlusion(image, logits_of, target, patch)
    if method == "saliency":
        return saliency(layers, weights, image, target)
    if method == "gradient-x-input":
        return gradient_x_input(layers, weights, image, target)
    if method == "grad-cam":
        return grad_cam(layers, weights, image, target)
    if method == "integrated-gradients":
        return integrated_gradients(layers, weights, image, target, steps)
    raise AttributionError("unknown-method", f"method must be one of {', '.join(METHODS)}, not {method!r}")
