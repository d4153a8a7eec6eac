"""Digits by other writers (train.optdigits, bench.other_writers in make eval): the set is the one the figures are of,
each digit reaches the networks as a canvas holding its ink, and the bench reads what the API answers."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from bench import other_writers
from bench.accuracy import canvas_png
from train import optdigits
from webapp.artifacts import ARTIFACTS
from webapp.idx import DataError


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 digits, fetched from PyPI when missing (as `make data` does)."""
    return optdigits.load()


def test_the_set_is_uci_optical_recognitions_test_set(digits):
    images, labels = digits
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and labels.shape == (1797,)
    # The counts of the UCI test set, digit by digit (scikit-learn's DESCR: 1,797 instances, 10 classes).
    assert np.bincount(labels, minlength=10).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # Each pixel counts the inked pixels of a 4x4 block: both ends of 0..16 occur.
    assert images.min() == 0 and images.max() == optdigits.LEVELS


def test_a_file_that_is_not_the_set_is_refused(tmp_path, digits):
    images, labels = digits
    rows = np.concatenate([images.reshape(-1, 64), labels[:, None]], axis=1)
    rows[0, 10] = 15 - rows[0, 10] % 16  # one pixel changed
    text = "\n".join(",".join(str(value) for value in row) for row in rows)
    (tmp_path / optdigits.FILE).write_bytes(gzip.compress(text.encode()))
    with pytest.raises(DataError, match="SHA-256"):
        optdigits.load(tmp_path, fetch_missing=False)
    with pytest.raises(DataError, match="make data"):
        optdigits.load(tmp_path / "empty", fetch_missing=False)


def test_a_digit_becomes_a_canvas_of_its_ink_enlarged():
    counts = np.zeros((8, 8), dtype=np.uint8)
    counts[2:6, 3] = optdigits.LEVELS  # a full column of blocks: a 1
    counts[2:6, 4] = optdigits.LEVELS // 2  # half-inked blocks beside it
    ink = other_writers.canvas_ink(counts)
    assert ink.shape == (280, 280) and ink.dtype == np.uint8
    block = 280 // 8
    assert ink[3 * block + block // 2, 3 * block + block // 2] == 255  # the middle of a full block: full ink
    assert ink[3 * block + block // 2, 4 * block + block // 2] == pytest.approx(127, abs=1)
    assert ink[:, : 2 * block].max() == 0 and ink[: block, :].max() == 0  # no ink far from the blocks
    assert ink.sum() == pytest.approx(counts.sum() * 255 / 16 * block * block, rel=0.02)


def test_the_bench_reads_what_the_api_answers(digits):
    from bench.degraded import readings
    from webapp import create_app

    images, labels = digits
    # Uncertain below 0.999: some of these digits are answered with no digit, so the check sees both kinds.
    app = create_app({"TESTING": True, "ARTIFACTS_DIR": str(ARTIFACTS), "UNCERTAIN_BELOW": 0.999})
    chosen = np.concatenate([np.flatnonzero(labels == digit)[:3] for digit in range(10)])
    pngs = [canvas_png(other_writers.canvas_ink(images[index])) for index in chosen]
    client = app.test_client()
    seen = set()
    for png, reading in zip(pngs, readings(app, pngs)):
        for name, entry in reading.items():
            answer = client.post(f"/api/predict?model={name}", data=png, content_type="image/png").get_json()
            assert (entry["digit"], entry["reason"]) == (answer["digit"], answer["reason"])
            seen.add(answer["reason"] or "digit")
    assert {"digit", "uncertain"} <= seen
