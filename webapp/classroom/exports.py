"""A class's images and labels as files others read: MNIST's IDX, CSV, numpy's npz; each in a zip."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np

FORMATS = ("idx", "csv", "npz")
# MNIST's magic numbers: 0x08 = unsigned byte, then the number of dimensions.
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def idx_images(images: np.ndarray) -> bytes:
    """(n, 28, 28) uint8 -> an idx3-ubyte file, as MNIST's train-images-idx3-ubyte."""
    count, rows, columns = images.shape
    return struct.pack(">IIII", IMAGES_MAGIC, count, rows, columns) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    """(n,) uint8 -> an idx1-ubyte file, as MNIST's train-labels-idx1-ubyte."""
    return struct.pack(">II", LABELS_MAGIC, len(labels)) + labels.astype(np.uint8).tobytes()


def csv_rows(images: np.ndarray, labels: np.ndarray) -> bytes:
    """A header, then per drawing: label, then its 784 pixels row by row (ink = 255)."""
    lines = ["label," + ",".join(f"pixel{index}" for index in range(28 * 28))]
    for image, label in zip(images.reshape(len(images), -1), labels):
        lines.append(f"{int(label)}," + ",".join(map(str, image.tolist())))
    return ("\n".join(lines) + "\n").encode("ascii")


def npz_arrays(images: np.ndarray, labels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=images.astype(np.uint8), labels=labels.astype(np.uint8))
    return buffer.getvalue()


def zipped(kind: str, images: np.ndarray, labels: np.ndarray) -> bytes:
    """The zip for ``kind`` (one of FORMATS)."""
    if kind == "idx":
        files = {"images-idx3-ubyte": idx_images(images), "labels-idx1-ubyte": idx_labels(labels)}
    elif kind == "csv":
        files = {"drawings.csv": csv_rows(images, labels)}
    elif kind == "npz":
        files = {"drawings.npz": npz_arrays(images, labels)}
    else:
        raise ValueError(kind)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
