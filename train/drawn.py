"""python -m train.drawn: each trained network's accuracy on the project's generated stroke drawings of digits.

MNIST's test set says how a network reads MNIST; a learner draws on a pad.
The drawings of ``train/drawings.py`` (several styles per digit, any size,
place, slant, pen and polarity) go through the served preprocessing
(``webapp.preprocess.prepare``, then the 32x32 field for the networks that
take one) into each network, and the figures go into its model card under
``drawn``. It runs on the trained files, so it can be re-run whenever the
drawn set changes, without retraining:

    python -m train.drawn [--model NAME ...] [--count 2000] [--seed 7]

A drawing counts as read right when the network's most probable digit is its
label; preprocessing that finds no digit at all counts as wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from train.networks import NETWORKS
from webapp.artifacts import ARTIFACTS as DEFAULT_ARTIFACTS
from webapp.artifacts import CARD_FILE, KERAS_FILE

# What the set is, in the card's words: a program's drawings, never to be called handwriting.
GENERATED = (
    "generated stroke drawings, not handwriting: each drawn by a program (train/drawings.py) "
    "from random strokes, styles, sizes, slants and pens"
)
DRAWN_COUNT = 2000
DRAWN_SEED = 7


@dataclass(frozen=True)
class DrawnSet:
    """The drawn digits after preprocessing: what every network is shown."""

    images: np.ndarray  # uint8 (N, 28, 28), ink = 255
    labels: np.ndarray  # (N,)
    empty: np.ndarray  # bool (N,): preprocessing found no digit
    description: str


def prepare_drawn_set(count: int = DRAWN_COUNT, seed: int = DRAWN_SEED) -> DrawnSet:
    """Render ``count`` drawings and run each through the served preprocessing."""
    from train.drawings import drawing_set
    from webapp.preprocess import prepare

    drawings = drawing_set(count, seed=seed)
    prepared = [prepare(png) for _, png in drawings]
    return DrawnSet(
        images=np.stack([item.image for item in prepared]),
        labels=np.array([digit for digit, _ in drawings]),
        empty=np.array([item.empty for item in prepared]),
        description=f"train/drawings.py drawing_set({count}, seed={seed}) through webapp.preprocess.prepare",
    )


def drawn_figures(probabilities: np.ndarray, drawn: DrawnSet) -> dict:
    """The card's ``drawn`` section from a network's probabilities on the drawn set."""
    from train.fit import confusion_and_per_digit

    predicted = probabilities.argmax(axis=1)
    right = (predicted == drawn.labels) & ~drawn.empty
    confusion, _ = confusion_and_per_digit(drawn.labels[~drawn.empty], predicted[~drawn.empty])
    per_digit = [float(right[drawn.labels == digit].mean()) for digit in range(10)]
    return {
        "set": drawn.description,
        "what": GENERATED,
        "images": int(len(drawn.labels)),
        "accuracy": round(float(right.mean()), 5),
        "per_digit_accuracy": [round(value, 5) for value in per_digit],
        "confusion_matrix": confusion.tolist(),
        "no_digit_found": int(drawn.empty.sum()),
        "counted_right": "the most probable digit is the drawing's label",
    }


def card_path(name: str, artifacts: Path) -> Path:
    """Where network ``name``'s model card lives."""
    return artifacts / name / CARD_FILE


def model_path(name: str, artifacts: Path) -> Path:
    """Where network ``name``'s trained Keras file lives."""
    return artifacts / name / KERAS_FILE


def keras_probabilities(path: Path, images: np.ndarray, input_size: int) -> np.ndarray:
    """Run a trained .keras file on MNIST-format images (padded to its input size)."""
    import keras

    from webapp.model import fit_to_input

    model = keras.saving.load_model(path)
    return np.asarray(model.predict(fit_to_input(images, input_size)[..., None], batch_size=500, verbose=0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.drawn", description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=tuple(NETWORKS), action="append", help="default: every trained network")
    parser.add_argument("--count", type=int, default=DRAWN_COUNT, help=f"drawings (default {DRAWN_COUNT})")
    parser.add_argument("--seed", type=int, default=DRAWN_SEED, help=f"seed of the drawn set (default {DRAWN_SEED})")
    parser.add_argument("--artifacts", type=Path, default=DEFAULT_ARTIFACTS, help="folder of the trained networks")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    names = args.model or [name for name in NETWORKS if model_path(name, args.artifacts).exists()]
    missing = [name for name in names if not model_path(name, args.artifacts).exists()]
    if missing:
        print(f"error: not trained yet: {', '.join(missing)} (run python -m train --model NAME)", file=sys.stderr)
        return 2
    drawn = prepare_drawn_set(args.count, args.seed)
    for name in names:
        probabilities = keras_probabilities(model_path(name, args.artifacts), drawn.images, NETWORKS[name].input_size)
        figures = drawn_figures(probabilities, drawn)
        path = card_path(name, args.artifacts)
        card = json.loads(path.read_text())
        card["drawn"] = figures
        path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
        print(f"{name}: {figures['accuracy']:.2%} of {figures['images']} drawn digits read right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
