"""MNIST's 10,000 test digits, shipped with the app: examples for the pages and the record page's digits.

The two IDX files of MNIST's test set (Yann LeCun and Corinna Cortes,
CC BY-SA 3.0) sit gzipped in ``webapp/mnist/``, as MNIST distributes them
(1.6 MB); nothing is fetched at run time. They are read once per process, on
first use, and checked against the contract's SHA-256.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from webapp.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx_file

FOLDER = Path(__file__).resolve().parent / "mnist"
SIZE = 10_000


@dataclass(frozen=True)
class MnistTestSet:
    images: np.ndarray  # uint8 (10000, 28, 28), ink = 255
    labels: np.ndarray  # uint8 (10000,)


@cache
def shipped_test_set() -> MnistTestSet:
    """The shipped MNIST test set (read and verified once per process)."""
    images = read_idx_file(FOLDER / "t10k-images-idx3-ubyte.gz", IMAGES_MAGIC)
    labels = read_idx_file(FOLDER / "t10k-labels-idx1-ubyte.gz", LABELS_MAGIC)
    return MnistTestSet(images=images, labels=labels)


def digit_json(index: int) -> dict:
    """One test digit for the API: its index, label and pixels (base64 of 784 bytes, row by row, ink = 255)."""
    data = shipped_test_set()
    return {
        "index": index,
        "label": int(data.labels[index]),
        "pixels": base64.b64encode(data.images[index].tobytes()).decode("ascii"),
    }
