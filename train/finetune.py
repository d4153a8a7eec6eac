"""Fine-tune a served network on MNIST plus one class's drawings; install it as the network ``class-<code>``.

    make finetune CLASS=<code> [MODEL=digit-lens]
    python -m train.finetune --class <code> [--model digit-lens] [--epochs 3] [--held-out 0.25]

A part of the class's drawings (``--held-out``, stratified by digit when it
can be) is kept out of training to measure the network on: the new
network's card records its accuracy on those held-out drawings and on MNIST's
test set, before (the base network) and after fine-tuning, and the class page
shows the comparison. The training mixes the class's other drawings with
MNIST's training digits (the class's repeated so that they make about a
quarter of each batch), at a small learning rate, so that the network learns
the class's handwriting without forgetting MNIST's.

The class's drawings are read from the classroom's database: ``DATABASE_URL``
(or ``--database-url``), the same store the app uses. The network is served
after the next restart of the app, as ``class-<code>`` (code in lower case).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

import numpy as np

from webapp.classroom.figures import finetuned_name
from webapp.artifacts import ARTIFACTS, CARD_FILE, KERAS_FILE
from webapp.model import fit_to_input

DEFAULT_BASE = "digit-lens"
EPOCHS = 3
STEPS_PER_EPOCH = 300
BATCH_SIZE = 64
LEARNING_RATE = 1e-4  # a tenth of Adam's default: adjust the weights, do not retrain them
CLASS_SHARE = 0.25  # of each batch, drawings of the class
HELD_OUT = 0.25
MIN_DRAWINGS = 10
SEED = 22


class FinetuneError(RuntimeError):
    """The class cannot be fine-tuned on (unknown, too few drawings, no base network)."""


def class_drawings(database_url: str, code: str) -> tuple[np.ndarray, np.ndarray]:
    """The class's images (n, 28, 28) uint8 and labels (n,), in the order they were drawn."""
    from sqlalchemy import select

    from webapp.classroom.models import Classroom, Drawing
    from webapp.classroom.store import make_engine
    from webapp.classroom.tokens import normalise_code

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            class_id = connection.scalar(select(Classroom.id).where(Classroom.code == normalise_code(code)))
            if class_id is None:
                raise FinetuneError(f"no class has the code {code!r} in {engine.url.render_as_string()}")
            rows = connection.execute(
                select(Drawing.image, Drawing.label).where(Drawing.class_id == class_id).order_by(Drawing.id)
            ).all()
    finally:
        engine.dispose()
    images = np.frombuffer(b"".join(row.image for row in rows), dtype=np.uint8).reshape(len(rows), 28, 28)
    return images, np.array([row.label for row in rows], dtype=np.uint8)


def split_held_out(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held out): ``fraction`` of each digit's drawings held out (at least one
    of every digit that has two or more), so the held-out set covers the digits the class drew."""
    rng = np.random.default_rng(seed)
    held = []
    for digit in np.unique(labels):
        indices = rng.permutation(np.flatnonzero(labels == digit))
        if len(indices) >= 2:
            held.extend(indices[: max(1, round(fraction * len(indices)))])
    held_out = np.array(sorted(held), dtype=np.int64)
    train = np.setdiff1d(np.arange(len(labels)), held_out)
    return train, held_out


def accuracy(model, images: np.ndarray, labels: np.ndarray, input_size: int) -> float:
    if not len(images):
        return float("nan")
    probabilities = model.predict(fit_to_input(images, input_size)[..., None].astype("float32"), verbose=0,
                                  batch_size=500)
    return float((probabilities.argmax(axis=1) == labels).mean())


def batches(mnist_images, mnist_labels, class_images, class_labels, input_size: int, seed: int):
    """Endless batches: MNIST training digits with the class's drawings mixed in (CLASS_SHARE of each)."""
    rng = np.random.default_rng(seed)
    from_class = max(1, round(BATCH_SIZE * CLASS_SHARE)) if len(class_images) else 0
    while True:
        pick_mnist = rng.integers(0, len(mnist_images), BATCH_SIZE - from_class)
        pick_class = rng.integers(0, len(class_images), from_class) if from_class else np.array([], dtype=int)
        images = np.concatenate([mnist_images[pick_mnist], class_images[pick_class]])
        labels = np.concatenate([mnist_labels[pick_mnist], class_labels[pick_class]])
        yield fit_to_input(images, input_size)[..., None].astype("float32"), labels.astype("int64")


def finetune(
    code: str,
    database_url: str,
    base: str = DEFAULT_BASE,
    artifacts: Path = ARTIFACTS,
    data_dir: Path | None = None,
    epochs: int = EPOCHS,
    steps: int = STEPS_PER_EPOCH,
    held_out: float = HELD_OUT,
    mnist_test_limit: int | None = None,
    seed: int = SEED,
    verbose: bool = True,
) -> dict:
    """Fine-tune ``base`` on MNIST + the class's drawings and export it as ``class-<code>``; returns its card."""
    import keras

    from train import data
    from train.export import export_model
    from train.fit import card_test_section, confusion_and_per_digit

    base_file = Path(artifacts) / base / KERAS_FILE
    if not base_file.is_file():
        raise FinetuneError(f"no {KERAS_FILE} for the network {base!r} in {artifacts}; choose a trained network")
    images, labels = class_drawings(database_url, code)
    if len(images) < MIN_DRAWINGS:
        raise FinetuneError(f"class {code} has {len(images)} drawings; fine-tuning needs at least {MIN_DRAWINGS}")
    train_index, held_index = split_held_out(labels, held_out, seed)
    mnist = data.load(data_dir)
    test_images, test_labels = mnist.test_images, mnist.test_labels
    if mnist_test_limit:
        test_images, test_labels = test_images[:mnist_test_limit], test_labels[:mnist_test_limit]

    keras.utils.set_random_seed(seed)
    model = keras.saving.load_model(base_file, compile=False)
    input_size = int(model.inputs[0].shape[1])
    before = {"class": accuracy(model, images[held_index], labels[held_index], input_size),
              "mnist": accuracy(model, test_images, test_labels, input_size)}
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(batches(mnist.train_images, mnist.train_labels, images[train_index], labels[train_index],
                      input_size, seed),
              epochs=epochs, steps_per_epoch=steps, shuffle=False, verbose=2 if verbose else 0)
    after = {"class": accuracy(model, images[held_index], labels[held_index], input_size),
             "mnist": accuracy(model, test_images, test_labels, input_size)}

    name = finetuned_name(code)
    folder = Path(artifacts) / name
    folder.mkdir(parents=True, exist_ok=True)
    base_card = json.loads((Path(artifacts) / base / CARD_FILE).read_text())
    predicted = model.predict(fit_to_input(test_images, input_size)[..., None].astype("float32"), verbose=0,
                              batch_size=500).argmax(axis=1)
    confusion, per_digit = confusion_and_per_digit(test_labels, predicted)
    rounded = lambda figures: {key: round(value, 5) for key, value in figures.items()}  # noqa: E731
    card = {
        "title": f"{base_card.get('title', base)}, fine-tuned on class {code.upper()}",
        "source": f"python -m train.finetune --class {code.upper()} --model {base}: {base} fine-tuned on MNIST's "
                  f"training digits and {len(train_index)} drawings of the class",
        "parameters": base_card.get("parameters"),
        "architecture": base_card.get("architecture"),
        "test": card_test_section(len(test_labels), float((predicted == test_labels).mean()), per_digit, confusion),
        "classroom": {
            "base": base,
            "code": code.upper(),
            "trained_on": int(len(train_index)),
            "held_out": int(len(held_index)),
            "before": rounded(before),
            "after": rounded(after),
            "mnist_test_images": int(len(test_labels)),
            "training": {"epochs": epochs, "steps_per_epoch": steps, "batch_size": BATCH_SIZE,
                         "class_share": CLASS_SHARE, "optimizer": "adam", "learning_rate": LEARNING_RATE,
                         "seed": seed},
            "date": datetime.date.today().isoformat(),
        },
    }
    model.save(folder / KERAS_FILE)
    card = export_model(model, folder, test_images, test_labels, card=card, verbose=verbose)
    if verbose:
        print(f"{name}: on {len(held_index)} held-out drawings of the class {before['class']:.2%} -> "
              f"{after['class']:.2%}; on {len(test_labels)} MNIST test digits {before['mnist']:.2%} -> "
              f"{after['mnist']:.2%}. Served as {name} after the app restarts.")
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.finetune", description=__doc__.splitlines()[0])
    parser.add_argument("--class", dest="code", required=True, help="the class code")
    parser.add_argument("--model", default=DEFAULT_BASE, help=f"the network to start from (default {DEFAULT_BASE})")
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL, as the app reads it")
    parser.add_argument("--artifacts", type=Path, default=ARTIFACTS, help="the folder of network folders")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST IDX files (default $DIGIT_LENS_DATA)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--steps", type=int, default=STEPS_PER_EPOCH, help="batches per epoch")
    parser.add_argument("--held-out", type=float, default=HELD_OUT, help="fraction of the class's drawings held out")
    parser.add_argument("--mnist-test-limit", type=int, default=None, help="evaluate on the first N test digits only")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    url = args.database_url
    if not url:
        from webapp import create_app
        from webapp.classroom.store import database_url

        url = database_url(create_app())
    try:
        finetune(args.code, url, args.model, args.artifacts, args.data_dir, args.epochs, args.steps, args.held_out,
                 args.mnist_test_limit, args.seed)
    except FinetuneError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
