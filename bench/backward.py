"""The numpy backward pass, before and after a change: CPU ms per batch, in one run, on the same inputs.

Loads ``webapp/backward.py`` as it was at a git revision (``--against``, by
default the last commit before the fast paths) beside the working tree's,
and times, per served network, on a batch of 65 images (the 64 steps + 1
of Integrated Gradients): the forward pass; the backward pass from the
score to the input with the weights' gradients (learning); the same
without them (attribution; only the new version has that switch); each
layer's share. Both versions get the same arrays; the answers are compared
too (largest difference relative to the largest value). Prints figures;
passes or fails nothing.

    python -m bench.backward [--against <rev>] [--repeats 7]
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):  # one thread, as a worker computes (before numpy loads)
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

BEFORE = "db3ac0a"  # main before the fast paths (weight_gradients=False, pooling by reshape, stride-1 dx)
BATCH = 65


def module_at(revision: str):
    """webapp/backward.py as it was at ``revision``, imported as a module of its own."""
    source = subprocess.run(["git", "show", f"{revision}:webapp/backward.py"], check=True, capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parent.parent).stdout
    path = Path(tempfile.mkdtemp()) / "backward_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("backward_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def cpu_ms(function, repeats: int) -> tuple[float, object]:
    """Median CPU ms of ``function()`` over ``repeats`` calls after one warm-up, and its answer."""
    answer = function()
    times = []
    for _ in range(repeats):
        started = time.process_time()
        function()
        times.append((time.process_time() - started) * 1000)
    return float(np.median(times)), answer


def relative(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backward", description=__doc__.splitlines()[0])
    parser.add_argument("--against", default=BEFORE, help="git revision of the version to compare with")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    from webapp import backward as after
    from webapp.registry import Registry

    before = module_at(args.against)
    registry = Registry.load()
    rng = np.random.default_rng(0)
    print(f"CPU ms per batch of {BATCH} (median of {args.repeats}), one thread; before = {args.against}, after = working tree")
    print(f"{'network':<16}{'forward':>18}{'backward + weights':>22}{'backward, no weights':>22}{'max rel diff':>14}")
    layer_rows = []
    for name in registry.names:
        network = registry.get(name)
        layers, weights = network.layers, network.kernels()
        size = layers[0].shape[0]
        # A ramp of one random drawing from blank to full, as Integrated Gradients' path.
        drawing = np.where(rng.random((size, size)) < 0.2, 255.0, 0.0)
        images = (np.linspace(0, 1, BATCH)[:, None, None] * drawing).astype(np.float32)
        top = len(layers) - 2
        old_forward, old_outputs = cpu_ms(lambda: before.forward(layers, weights, images), args.repeats)
        new_forward, new_outputs = cpu_ms(lambda: after.forward(layers, weights, images), args.repeats)
        seed = np.zeros_like(old_outputs[top])
        seed[:, 0] = 1.0
        old_backward, old_gradients = cpu_ms(
            lambda: before.backward(layers, weights, old_outputs, seed, layers[top].name), args.repeats)
        new_backward, new_gradients = cpu_ms(
            lambda: after.backward(layers, weights, old_outputs, seed, layers[top].name), args.repeats)
        lean, lean_gradients = cpu_ms(
            lambda: after.backward(layers, weights, old_outputs, seed, layers[top].name, weight_gradients=False),
            args.repeats)
        difference = max(
            [relative(a, b) for a, b in zip(old_outputs, new_outputs)]
            + [relative(a, b) for a, b in zip(old_gradients.outputs[: top + 1], new_gradients.outputs[: top + 1])]
            + [relative(a, b) for a, b in zip(old_gradients.outputs[: top + 1], lean_gradients.outputs[: top + 1])]
            + [relative(old_gradients.weights[layer][variable], new_gradients.weights[layer][variable])
               for layer in old_gradients.weights for variable in old_gradients.weights[layer]]
        )
        print(f"{name:<16}{old_forward:8.1f} -> {new_forward:6.1f}{old_backward:11.1f} -> {new_backward:6.1f}"
              f"{old_backward:11.1f} -> {lean:6.1f}{difference:14.1e}")
        for index in range(1, top + 1):
            layer = layers[index]
            variables = after._variables(weights, layer, np.float32)
            x, out, dout = old_outputs[index - 1], old_outputs[index], old_gradients.outputs[index]
            old_op, new_op = before.operation(layer), after.operation(layer)
            cells = [
                cpu_ms(lambda: old_op.forward(x, layer, variables), args.repeats)[0],
                cpu_ms(lambda: new_op.forward(x, layer, variables), args.repeats)[0],
                cpu_ms(lambda: old_op.backward(dout, x, out, layer, variables), args.repeats)[0],
                cpu_ms(lambda: (new_op.input_gradient or new_op.backward)(dout, x, out, layer, variables),
                       args.repeats)[0],
            ]
            layer_rows.append((name, layer.name, layer.kind, cells))
    print(f"\nper layer, CPU ms per batch of {BATCH}: forward before -> after; backward before (with weights) -> "
          "after (no weights)")
    for name, layer, kind, (fb, fa, bb, ba) in layer_rows:
        if max(fb, fa, bb, ba) >= 0.5:
            print(f"  {name:<16}{layer:<10}{kind:<14}{fb:8.1f} -> {fa:6.1f}{bb:10.1f} -> {ba:6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
