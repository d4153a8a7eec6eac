"""Where should "not a digit" live? The options measured side by side on held-out drawings.

- score: the served network's own top probability, below a threshold = not a digit
  (a calibrated score: no new network, works for any network);
- gate: a small shared network trained on digits vs not digits (train/gate.py), in
  front of every network;
- class: "not a digit" as an 11th class of a network that also reads the digits
  (trained here: the gate's architecture with 11 outputs, same data, same epochs).

Every threshold is chosen on VALIDATION data (MNIST's held-out training digits and
train/synth.py's validation seed) with the same budgets as the gate's: at most
0.05% of MNIST's validation digits and 0.5% of the synthetic ones rejected. The figures are then measured on the evaluation drawings
(train/drawings.py, seed 2027), which no option saw, and on MNIST's test set.
In-process (no HTTP): the images go through webapp.preprocess as the server's do.

    python -m bench.rejection [--digit-lens PATH.keras] [--gate PATH.keras] [--drawings 3000]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from train.drawings import evaluation_drawings, render
from webapp.artifacts import ARTIFACTS, CARD_FILE, GATE_FOLDER, KERAS_FILE
from webapp.preprocess import prepare


def evaluation_images(count: int, seed: int):
    """The evaluation drawings in MNIST format: (images, expected, groups, names, empty)."""
    items = evaluation_drawings(count, seed=seed)
    prepared = [prepare(render(item.drawing, polarity)) for item, polarity in
                zip(items, ("dark-on-transparent", "dark-on-light", "light-on-dark", "light-on-transparent") * count)]
    images = np.stack([entry.image for entry in prepared])
    empty = np.array([entry.empty for entry in prepared])
    expected = np.array([item.expected if isinstance(item.expected, int) else -1 for item in items])
    groups = np.array([item.group for item in items])
    names = np.array([item.name for item in items])
    return images, expected, groups, names, empty


def summarise(title: str, rejected: np.ndarray, read: np.ndarray, expected: np.ndarray, groups: np.ndarray,
              empty: np.ndarray, mnist_rejected: int, mnist_right: float) -> None:
    """One option's figures: non-digits answered with no digit, digits rejected and read right."""
    no_digit = rejected | empty
    is_digit = expected >= 0
    print(f"{title}")
    print(f"  not digits answered with no digit: {no_digit[~is_digit].mean():.2%} of {(~is_digit).sum()}  "
          + "  ".join(f"{group} {no_digit[groups == group].mean():.1%}"
                      for group in ("letter", "symbol", "dash", "scribble", "tap")))
    right = (~no_digit) & (read == expected)
    print(f"  digits answered with no digit: {no_digit[is_digit].mean():.2%};  read right {right[is_digit].mean():.2%}"
          f" (variants {right[groups == 'variant'].mean():.2%})")
    print(f"  MNIST test: rejected {mnist_rejected}/10000; read right {mnist_right:.2%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rejection", description=__doc__.splitlines()[0])
    parser.add_argument("--digit-lens", type=Path, default=None, help="digit-lens's .keras (default: the shipped one)")
    parser.add_argument("--gate", type=Path, default=ARTIFACTS / GATE_FOLDER / KERAS_FILE)
    parser.add_argument("--drawings", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--epochs", type=int, default=None, help="epochs of the 11-class network (default: the gate's)")
    parser.add_argument("--options", default="score,gate,class", help="which options to measure (comma-separated)")
    parser.add_argument("--networks", type=Path, default=None,
                        help="an artifacts folder: every network in it read behind the gate, as the API answers")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from train import data, gate

    digit_lens_path = args.digit_lens
    if digit_lens_path is None:
        candidates = [ARTIFACTS / "digit-lens" / KERAS_FILE, ARTIFACTS / "digit_cnn.keras"]
        digit_lens_path = next(path for path in candidates if path.exists())
    mnist = data.load()
    images, expected, groups, names, empty = evaluation_images(args.drawings, args.seed)
    _, _, val_images, val_labels, mnist_count = gate.gate_data(mnist, synthetic=0)

    def batch(array: np.ndarray) -> np.ndarray:
        return array[..., None].astype(np.float32)

    digit_lens = keras.saving.load_model(digit_lens_path, compile=False)
    read = digit_lens.predict(batch(images), batch_size=500, verbose=0)
    mnist_probabilities = digit_lens.predict(batch(mnist.test_images), batch_size=1000, verbose=0)
    mnist_read = mnist_probabilities.argmax(1)
    mnist_right_plain = float((mnist_read == mnist.test_labels).mean())

    options = set(args.options.split(","))
    # 1. The network's own top probability as the score.
    if "score" in options:
        val_top = digit_lens.predict(batch(val_images), batch_size=1000, verbose=0).max(1)
        threshold = gate.gate_threshold(-val_top, val_labels, mnist_count)  # reject when -top > threshold
        rejected = -read.max(1) > threshold
        mnist_rejected = -mnist_probabilities.max(1) > threshold
        summarise(f"score: digit-lens's top probability below {-threshold:.4f}", rejected, read.argmax(1), expected,
                  groups, empty, int(mnist_rejected.sum()),
                  float(((mnist_read == mnist.test_labels) & ~mnist_rejected).mean()))

    # 2. The shared gate in front of digit-lens.
    if "gate" in options:
        gate_model = keras.saving.load_model(args.gate, compile=False)
        val_gate = gate_model.predict(batch(val_images), batch_size=1000, verbose=0)[:, 1]
        gate_threshold = gate.gate_threshold(val_gate, val_labels, mnist_count)
        rejected = gate_model.predict(batch(images), batch_size=500, verbose=0)[:, 1] > gate_threshold
        mnist_rejected = gate_model.predict(batch(mnist.test_images), batch_size=1000, verbose=0)[:, 1] > gate_threshold
        summarise(f"gate: P(not a digit) above {gate_threshold:.4f}, then digit-lens reads", rejected, read.argmax(1),
                  expected, groups, empty, int(mnist_rejected.sum()),
                  float(((mnist_read == mnist.test_labels) & ~mnist_rejected).mean()))
        by_name = defaultdict(list)
        for name, group, flag, is_empty in zip(names, groups, rejected, empty):
            if group in ("letter", "symbol", "dash"):
                by_name[name].append(flag or is_empty)
        print("  per shape: " + "  ".join(f"{name} {np.mean(flags):.0%}" for name, flags in sorted(by_name.items())))

    # 3. "Not a digit" as an 11th class, the same small network and data.
    if "class" in options:
        started = time.time()
        eleven, fields = gate.train_gate(mnist, epochs=args.epochs or gate.EPOCHS, outputs=11, verbose=0)
        probabilities = eleven.predict(batch(images), batch_size=500, verbose=0)
        rejected = probabilities[:, -1] > fields["threshold"]
        mnist_eleven = eleven.predict(batch(mnist.test_images), batch_size=1000, verbose=0)
        mnist_rejected = mnist_eleven[:, -1] > fields["threshold"]
        summarise(f"class: an 11th class, P above {fields['threshold']:.4f} (trained in {time.time() - started:.0f} s); "
                  "its own ten classes read", rejected, probabilities[:, :10].argmax(1), expected, groups, empty,
                  int(mnist_rejected.sum()),
                  float(((mnist_eleven[:, :10].argmax(1) == mnist.test_labels) & ~mnist_rejected).mean()))

    print(f"  (digit-lens alone on MNIST test, no rejection: {mnist_right_plain:.2%})")
    if args.networks:
        behind_the_gate(args.networks, args.gate, images, expected, groups, names, empty)
    return 0


def behind_the_gate(artifacts: Path, gate_path: Path, images, expected, groups, names, empty) -> None:
    """Every network in ``artifacts`` as the API answers: no digit when empty, rejected by the gate, or top < 0.5."""
    import json

    import keras

    from train.drawn import keras_probabilities, model_path
    from train.networks import NETWORKS

    gate_model = keras.saving.load_model(gate_path, compile=False)
    threshold = json.loads((gate_path.parent / CARD_FILE).read_text())["threshold"]
    rejected = gate_model.predict(images[..., None].astype(np.float32), batch_size=500, verbose=0)[:, 1] > threshold
    is_digit = expected >= 0
    flagged = np.isin(names, ("1 style 1", "1 style 2", "1 variant 0", "1 variant 1", "1 variant 2"))
    for name, network in NETWORKS.items():
        path = model_path(name, artifacts)
        if not path.exists():
            continue
        probabilities = keras_probabilities(path, images, network.input_size)
        no_digit = empty | rejected | (probabilities.max(1) < 0.5)
        right = ~no_digit & (probabilities.argmax(1) == expected)
        print(f"{name} behind the gate: digits read right {right[is_digit].mean():.2%}, answered with no digit "
              f"{no_digit[is_digit].mean():.2%}; flagged 1s {right[flagged].mean():.1%}, variants "
              f"{right[groups == 'variant'].mean():.1%}; not digits with no digit {no_digit[~is_digit].mean():.2%}")
        print("  per digit  " + " ".join(f"{digit}:{right[expected == digit].mean():.1%}" for digit in range(10)))


if __name__ == "__main__":
    raise SystemExit(main())
