"""make eval: digits by other writers (small, blocky, scanned; not MNIST, not drawn) read by every served network.

Issue 24: the default network must read digits by writers MNIST never had at least as well as it did
before it learnt the variants (flagged 1s, crossbar 7s, ...). The set is UCI's optical-recognition
test set (``train.optdigits``: 1,797 digits by 13 people, 8x8 blocks counting 0..16 inked pixels of a
32x32 scan). Each digit's counts become ink (count x 255 / 16), enlarged to a 280x280 canvas with
bilinear filtering as ``bench.accuracy`` enlarges MNIST's, and go through the app's own request path
in-process (``bench.degraded.readings``: the answers of ``/api/predict?compare=1``, the gate and
"uncertain" included), so a digit counts as read right only when the API would answer it.

No network ever trains on these digits, and nothing is chosen by looking at them.

    python -m bench.other_writers [--data-dir data/optdigits]

``DIGIT_LENS_ARTIFACTS_DIR=<folder>`` reads another folder of networks (an older digit-lens, say).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.accuracy import canvas_png
from bench.degraded import readings, served, summary
from train import optdigits

CANVAS_SIZE = 280


def canvas_ink(counts: np.ndarray) -> np.ndarray:
    """An 8x8 digit's block counts (0..16) as canvas ink (0..255), enlarged bilinear to the canvas."""
    ink = (counts.astype(np.uint16) * 255 // optdigits.LEVELS).astype(np.uint8)
    return np.asarray(Image.fromarray(ink).resize((CANVAS_SIZE, CANVAS_SIZE), Image.Resampling.BILINEAR))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.other_writers", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="default $DIGIT_LENS_OPTDIGITS or data/optdigits")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    from webapp import create_app

    images, labels = optdigits.load(args.data_dir)
    app = create_app()
    names, default, uncertain_below = served(app)
    print(" ".join(["python -m bench.other_writers", *(sys.argv[1:] if argv is None else argv)]))
    print(f"{len(labels):,} digits by 13 writers MNIST never had (UCI optical recognition, test set; per digit "
          f"{' '.join(str(count) for count in np.bincount(labels, minlength=10))}), 8x8 scans enlarged to a "
          f"280x280 canvas, read as /api/predict?compare=1 answers (the gate, uncertain below {uncertain_below}); "
          f"networks from {app.config['ARTIFACTS_DIR']}")
    answers = readings(app, (canvas_png(canvas_ink(image)) for image in images))
    print(f"\n{'network':<18}{'read right':>12}{'no digit':>10}  answered with no digit; commonest misreadings")
    for name in names:
        figures = summary([answer[name] for answer in answers], labels)
        no_digit = sum(figures["no_digit"].values())
        reasons = ", ".join(f"{reason} {count}" for reason, count in figures["no_digit"].most_common())
        misread = " ".join(f"{pair} {count}" for pair, count in figures["confusions"].most_common(5))
        print(f"{name + (' (default)' if name == default else ''):<18}"
              f"{100 * figures['right'] / figures['count']:>11.2f}%{100 * no_digit / figures['count']:>9.2f}%  "
              f"{reasons or 'none'}; {misread or 'none'}")
    print(f"\n{len(labels):,} canvases, {len(names)} networks each, in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
