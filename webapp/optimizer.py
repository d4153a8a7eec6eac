"""Optimizers and training steps on a copy of a network's weights. Pure numpy, no Flask.

One small class per optimizer with ``update(params, grads)``, as in the book's
common/optimizer.py, where ``params`` and ``grads`` are dicts keyed
``"<layer>/<variable>"`` ("conv1/kernel", ...) and ``update`` changes the
arrays of ``params`` in place. The arithmetic is Keras 3's (the networks were
trained with Keras), so that a step here gives the weights Keras's optimizer
of that name gives; where the book differs, Keras wins and the docstring says
how:

    SGD       w -= lr * g
    Momentum  v = momentum * v - lr * g;  w += v          (Keras: SGD(momentum=0.9))
    AdaGrad   h += g * g;  w -= lr * g / sqrt(h + eps)     (h starts at 0.1, eps inside the root)
    RMSprop   h = rho * h + (1 - rho) * g * g;  w -= lr * g / sqrt(h + eps)    (rho 0.9)
    Adam      m += (1 - beta1) * (g - m);  v += (1 - beta2) * (g * g - v)
              w -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)

Everything is float32, as Keras computes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from webapp import backward
from webapp.model import LayerInfo

F32 = np.float32


class SGD:
    """確率的勾配降下法 (stochastic gradient descent): one step down the gradient, ``lr`` long per unit of gradient."""

    def __init__(self, lr: float = 0.01):
        self.lr = lr

    def update(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        for key in params.keys():
            params[key] -= F32(self.lr) * grads[key]


class Momentum:
    """Momentum SGD: a velocity that keeps ``momentum`` of itself each step (Keras: SGD with momentum=0.9)."""

    MOMENTUM = 0.9

    def __init__(self, lr: float = 0.01, momentum: float = MOMENTUM):
        self.lr = lr
        self.momentum = momentum
        self.v: dict[str, np.ndarray] | None = None

    def update(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        if self.v is None:
            self.v = {key: np.zeros_like(value) for key, value in params.items()}
        for key in params.keys():
            self.v[key] = self.v[key] * F32(self.momentum) - grads[key] * F32(self.lr)
            params[key] += self.v[key]


class AdaGrad:
    """AdaGrad: each weight's step shrinks with the squares of its past gradients.

    Keras's Adagrad, not the book's: ``h`` starts at 0.1 (the book: 0) and
    eps = 1e-7 sits inside the square root (the book: added after it).
    """

    INITIAL_ACCUMULATOR = 0.1
    EPSILON = 1e-7

    def __init__(self, lr: float = 0.01):
        self.lr = lr
        self.h: dict[str, np.ndarray] | None = None

    def update(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        if self.h is None:
            self.h = {key: np.full_like(value, self.INITIAL_ACCUMULATOR) for key, value in params.items()}
        for key in params.keys():
            self.h[key] += grads[key] * grads[key]
            params[key] -= (F32(self.lr) * grads[key]) / np.sqrt(self.h[key] + F32(self.EPSILON))


class RMSprop:
    """RMSprop: like AdaGrad, but the past squares fade by ``rho`` each step (Keras: rho 0.9; the book: 0.99)."""

    RHO = 0.9
    EPSILON = 1e-7

    def __init__(self, lr: float = 0.001, rho: float = RHO):
        self.lr = lr
        self.rho = rho
        self.h: dict[str, np.ndarray] | None = None

    def update(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        if self.h is None:
            self.h = {key: np.zeros_like(value) for key, value in params.items()}
        for key in params.keys():
            self.h[key] = F32(self.rho) * self.h[key] + F32(1 - self.rho) * (grads[key] * grads[key])
            params[key] -= (F32(self.lr) * grads[key]) / np.sqrt(self.h[key] + F32(self.EPSILON))


class Adam:
    """Adam: Momentum's velocity and RMSprop's scale, both corrected for starting at 0 (as the book and Keras)."""

    BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-7

    def __init__(self, lr: float = 0.001, beta1: float = BETA1, beta2: float = BETA2):
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.iter = 0
        self.m: dict[str, np.ndarray] | None = None
        self.v: dict[str, np.ndarray] | None = None

    def update(self, params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        if self.m is None:
            self.m = {key: np.zeros_like(value) for key, value in params.items()}
            self.v = {key: np.zeros_like(value) for key, value in params.items()}
        self.iter += 1
        step = F32(self.iter)
        beta1_power, beta2_power = F32(self.beta1) ** step, F32(self.beta2) ** step
        lr_t = F32(self.lr) * np.sqrt(F32(1) - beta2_power) / (F32(1) - beta1_power)
        for key in params.keys():
            self.m[key] += (grads[key] - self.m[key]) * F32(1 - self.beta1)
            self.v[key] += (grads[key] * grads[key] - self.v[key]) * F32(1 - self.beta2)
            params[key] -= (self.m[key] * lr_t) / (np.sqrt(self.v[key]) + F32(self.EPSILON))


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adagrad": AdaGrad, "rmsprop": RMSprop, "adam": Adam}
# The book's rates for SGD, Momentum and AdaGrad (ch. 6), Keras's for RMSprop and Adam.
DEFAULT_RATES = {"sgd": 0.01, "momentum": 0.01, "adagrad": 0.01, "rmsprop": 0.001, "adam": 0.001}


def flat(weights: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """{layer: {variable: array}} -> {"layer/variable": array} (the same arrays, not copies)."""
    return {f"{layer}/{variable}": value for layer, variables in weights.items() for variable, value in variables.items()}


def nested(params: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """The inverse of ``flat`` (the same arrays)."""
    weights: dict[str, dict[str, np.ndarray]] = {}
    for key, value in params.items():
        layer, _, variable = key.rpartition("/")
        weights.setdefault(layer, {})[variable] = value
    return weights


@dataclass
class Step:
    loss: float  # after the step
    probabilities: np.ndarray  # (N, classes) after the step


@dataclass
class Training:
    """What ``take_steps`` did: the state before the first step, each step's result, the final weights."""

    outputs: list[np.ndarray]  # every layer's output before any step
    gradients: backward.Gradients  # the backward pass before any step
    loss: float  # before any step (summed over the images)
    trajectory: list[Step]
    weights: dict[str, dict[str, np.ndarray]]  # after the last step (a copy: the given weights never change)


def take_steps(layers: Sequence[LayerInfo], weights: Mapping[str, Mapping[str, np.ndarray]], images: np.ndarray,
               labels: Sequence[int], optimizer, steps: int) -> Training:
    """``steps`` training steps on ``images`` with ``labels``, on a copy of ``weights``.

    Each step: forward, the loss -log p[label] summed over the images, its
    gradient (y - t) at the logits, the backward pass, ``optimizer.update``.
    Dropout acts as at inference, so equal calls give equal results.
    """
    params = {key: np.array(value, np.float32) for key, value in flat(weights).items()}
    current = nested(params)
    top = backward.logits_layer(layers)
    outputs = backward.forward(layers, current, images)
    first_outputs, first_gradients, first_loss = outputs, None, None
    trajectory = []
    for _ in range(steps):
        probabilities = outputs[-1]
        gradients = backward.backward(layers, current, outputs, backward.softmax_loss_gradient(probabilities, labels), top)
        if first_gradients is None:
            first_gradients = gradients
            first_loss = float(backward.cross_entropy_error(probabilities, labels).sum())
        # Only what has a gradient is trained: batch normalization's moving mean and variance are constants
        # as the network reads (as in Keras, where they are not trainable), so they have none and stay.
        grads = flat(gradients.weights)
        optimizer.update({key: params[key] for key in grads}, grads)  # the same arrays: updated in place
        outputs = backward.forward(layers, current, images)
        trajectory.append(Step(float(backward.cross_entropy_error(outputs[-1], labels).sum()), outputs[-1]))
    return Training(first_outputs, first_gradients, first_loss, trajectory, current)
