"""Digits by other writers: UCI's "Optical Recognition of Handwritten Digits" test set, from PyPI.

1,797 digits written on forms by 13 people (none of them MNIST's writers), scanned by NIST's programs
into 32x32 bitmaps and counted in 4x4 blocks: 8x8 images, 0..16 per pixel (Alpaydin and Kaynak,
1998). Small, blocky, scanned handwriting: what issue 24 calls "digits by other writers", on which
digit-lens must not lose what it had before it learnt the variants.

The machines that run this project reach only package registries, so the set comes from where
scikit-learn ships it: ``sklearn/datasets/data/digits.csv.gz`` inside its wheel (``pip download``,
no install, only that file kept, its SHA-256 checked). Each row is 64 pixel counts, then the label.
The data's licence is CC BY 4.0 (UCI Machine Learning Repository).

    python -m train.optdigits [--data-dir data/optdigits]
"""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from webapp.idx import DataError

WHEEL = "scikit-learn==1.9.1"
MEMBER = "sklearn/datasets/data/digits.csv.gz"
FILE = "digits.csv.gz"
SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
COUNT = 1797
SIDE = 8
LEVELS = 16  # a pixel counts the inked pixels of a 4x4 block: 0..16


def default_data_dir() -> Path:
    """``$DIGIT_LENS_OPTDIGITS`` or ``./data/optdigits``."""
    return Path(os.environ.get("DIGIT_LENS_OPTDIGITS", "data/optdigits"))


def fetch(folder: Path) -> Path:
    """Download scikit-learn's wheel (any platform's holds the same file), keep ``digits.csv.gz`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        # A fixed platform and Python, so that the same wheel comes whatever machine asks; no install.
        command = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "--only-binary", ":all:",
                   "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp",
                   "--abi", "cp311", "--quiet", "--dest", scratch]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = list(Path(scratch).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            raise DataError(f"`pip download {WHEEL}` failed (exit {result.returncode}): {result.stderr.strip()[-500:]}. "
                            "Check that PyPI is reachable, or put digits.csv.gz in the folder yourself.")
        with zipfile.ZipFile(wheels[0]) as wheel:
            raw = wheel.read(MEMBER)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        raise DataError(f"{WHEEL} {MEMBER}: SHA-256 {digest}, expected {SHA256}; not the set the figures are of")
    partial = folder / f"{FILE}.partial"
    partial.write_bytes(raw)
    partial.replace(folder / FILE)
    return folder


def load(folder: Path | None = None, fetch_missing: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The digits as (images uint8 (1797, 8, 8) in 0..16, labels uint8 (1797,)), fetched first when missing."""
    folder = Path(folder) if folder is not None else default_data_dir()
    path = folder / FILE
    if not path.is_file():
        if not fetch_missing:
            raise DataError(f"{path} is missing; run `make data`")
        fetch(folder)
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != SHA256:
        raise DataError(f"{path}: not the expected file (SHA-256 differs); delete it and run `make data`")
    rows = np.loadtxt(gzip.decompress(raw).decode().splitlines(), delimiter=",", dtype=np.int64)
    if rows.shape != (COUNT, SIDE * SIDE + 1) or rows.min() < 0 or rows[:, :-1].max() > LEVELS or rows[:, -1].max() > 9:
        raise DataError(f"{path}: {rows.shape} rows of unexpected values")
    return rows[:, :-1].reshape(-1, SIDE, SIDE).astype(np.uint8), rows[:, -1].astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m train.optdigits", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="default $DIGIT_LENS_OPTDIGITS or ./data/optdigits")
    args = parser.parse_args(argv)
    try:
        images, labels = load(args.data_dir)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(labels)} digits by other writers verified in {args.data_dir or default_data_dir()} "
          f"(per digit {' '.join(str(count) for count in np.bincount(labels, minlength=10))})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
