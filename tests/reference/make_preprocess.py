"""Writes tests/reference/preprocess.npz: digests of the preprocessing as it was before issue 24 made it
cheaper, on test_preprocess.reference_corpus. Run from the repository root with the old module saved as
old_preprocess.py on sys.path (`git show e1eea51:webapp/preprocess.py > /tmp/old/old_preprocess.py`):
    PYTHONPATH=/tmp/old .venv/bin/python tests/reference/make_preprocess.py
"""

import hashlib
import sys

import numpy as np

sys.path.insert(0, ".")

import old_preprocess  # noqa: E402

from tests.test_preprocess import reference_corpus  # noqa: E402
from train import data  # noqa: E402


def main() -> None:
    rows = []
    for png in reference_corpus(data.load().test_images):
        prepared = old_preprocess.prepare(png)
        rows.append(np.frombuffer(hashlib.sha256(prepared.image.tobytes()).digest()[:8]
                                  + bytes([prepared.empty]), np.uint8))
    digests = np.stack(rows)
    np.savez_compressed("tests/reference/preprocess.npz", digests=digests)
    print(len(digests), "canvases,", int(digests[:, 8].sum()), "empty")


if __name__ == "__main__":
    main()
