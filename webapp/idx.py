"""MNIST's IDX files: parse and verify them. Pure numpy; the server's shipped test set and ``train/`` both read them here."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

# SHA-256 of the uncompressed IDX files (CONTRACT.md).
CHECKSUMS = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension


class DataError(RuntimeError):
    """The MNIST data is missing, corrupt or cannot be fetched."""


def parse_idx(raw: bytes, magic: int, name: str = "IDX file") -> np.ndarray:
    """Parse one IDX file of unsigned bytes.

    Args:
        raw: the whole file's bytes, uncompressed.
        magic: the expected magic number (``IMAGES_MAGIC`` or ``LABELS_MAGIC``);
            its low byte is the number of dimensions.
        name: used in error messages.

    Returns:
        The array with the dimensions the header declares.

    Raises:
        DataError: wrong magic number, or a body shorter or longer than the
            header declares.
    """
    dimensions = magic & 0xFF
    header_size = 4 + 4 * dimensions
    if len(raw) < header_size:
        raise DataError(
            f"{name}: {len(raw)} bytes is too short for an IDX header of {header_size} bytes; "
            "the file is truncated or not an IDX file"
        )
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(
            f"{name}: magic number 0x{found:08x}, expected 0x{magic:08x}; "
            "this is not the IDX file expected here (images and labels swapped, or a corrupt file)"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    expected = header_size + int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        raise DataError(
            f"{name}: {len(raw)} bytes, but its header declares shape {shape}, i.e. {expected} bytes; "
            "the file is truncated or corrupt: delete it and fetch the data again"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def read_idx_file(path: Path, magic: int, verify: bool = True) -> np.ndarray:
    """Read a raw or ``.gz`` IDX file, checking its SHA-256 when it is a known MNIST file."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise DataError(f"{path}: not a valid gzip file ({error}); fetch the data again") from error
    stem = path.name.removesuffix(".gz")
    if verify and stem in CHECKSUMS:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != CHECKSUMS[stem]:
            raise DataError(
                f"{path}: SHA-256 {digest} does not match the expected {CHECKSUMS[stem]}; "
                f"the file is corrupt or not MNIST's: delete it and run `make data` "
                "to fetch a fresh copy"
            )
    return parse_idx(raw, magic, name=str(path))
