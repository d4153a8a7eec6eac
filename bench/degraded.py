"""make eval: MNIST's test digits degraded the ways real inputs are, read by every served network as the API answers.

Issue 24: digits written by others must not pay for what the networks learnt from the variants. Each
of a fixed subset of MNIST's TEST digits (the first ``--digits``, 2,000 by default: every digit
class, 175-234 of each) is put on a 280x280 canvas as the page would send it (``bench.accuracy``'s
canvas: enlarged bilinear, dark ink on transparent) and degraded there, in ways training never sees
(train/augment.py applies small affine transforms and blends at most fully towards a 3x3 dilation,
at most halfway towards a 3x3 erosion; nothing else):

- none: the digit as it is, the baseline on the same digits;
- low resolution: box-averaged down to 14x14 (the digit itself about 10 px tall, a small scanned
  digit), then enlarged back blocky (nearest neighbour);
- blur: a Gaussian blur of sigma 1.25 MNIST pixels (12.5 canvas pixels), an out-of-focus photo;
- thick pen: a grey dilation by a disk 5 MNIST pixels across (radius 2; on the canvas radius 20),
  where training's thickest is a 3x3 square: every stroke ~1 px wider than training ever makes it
  (2.4-3.2 px wider than the digit's own, by mean stroke width), loops filling in;
- thin pen: the strokes thinned to their skeleton and drawn again at full ink with a pen one MNIST
  pixel wide, a fine-liner. Training's thinnest (halfway towards a 3x3 erosion) fades the strokes'
  edges but leaves ink of a quarter or more across 1.4 px or wider; this is a crisp 1 px line.

The preprocessing brings stroke widths outside MNIST's band back to its median (webapp/preprocess.py),
so the two pens measure mostly what it cannot undo: filled loops, and the skeleton's shape.

Each canvas goes through the app's own request path in-process: ``webapp.api.prepared_image`` (the
PNG read and preprocessed as for POST /api/predict) and ``webapp.api.comparison`` (every served
network and the not-a-digit gate, the answer of ``/api/predict?compare=1``), so a reading counts as
right only when the API would answer that digit: not empty, not rejected by the gate, confidence at
least the app's UNCERTAIN_BELOW, top digit = label (tests/test_degraded.py checks it against the
API's answers). ``--sheet PATH`` also writes a contact sheet: a few digits per degradation, the
canvas as a person sees it beside the 28x28 image the networks saw.

    python -m bench.degraded [--digits 2000] [--sheet /tmp/degraded_examples.png]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from bench.accuracy import canvas_png, enlarged
from webapp.preprocess import _morphology

MNIST_SIZE = 28
CANVAS_SIZE = 280
SCALE = CANVAS_SIZE // MNIST_SIZE  # canvas pixels per MNIST pixel
DIGITS = 2000

# Low resolution: the 28x28 field box-averaged to this many pixels a side (its 20 px digit to ~10 px).
LOW_RESOLUTION = 14
# Blur: the Gaussian's standard deviation, in MNIST pixels.
BLUR_SIGMA = 1.25
# Thick pen: the radius of the dilating disk, in MNIST pixels (radius 2: 5 pixels across).
THICK_RADIUS = 2
# Thin pen: thinned on a canvas of this many pixels per MNIST pixel, redrawn with a disk of this radius
# there (radius 2: a pen 5 work pixels = 1 MNIST pixel wide), then enlarged to the canvas.
THIN_WORK_SCALE = 5
THIN_PEN_RADIUS = 2
HALF_INK = 128


def low_resolution(image: np.ndarray) -> np.ndarray:
    """The digit box-averaged to LOW_RESOLUTION pixels a side, enlarged back to the canvas with nearest neighbour."""
    small = Image.fromarray(image).resize((LOW_RESOLUTION, LOW_RESOLUTION), Image.Resampling.BOX)
    return np.asarray(small.resize((CANVAS_SIZE, CANVAS_SIZE), Image.Resampling.NEAREST))


def blur(image: np.ndarray) -> np.ndarray:
    """The canvas blurred by a Gaussian of BLUR_SIGMA MNIST pixels."""
    canvas = Image.fromarray(enlarged(image, CANVAS_SIZE))
    return np.asarray(canvas.filter(ImageFilter.GaussianBlur(BLUR_SIGMA * SCALE)))


def thick_pen(image: np.ndarray) -> np.ndarray:
    """The canvas dilated (grey levels) by a disk of THICK_RADIUS MNIST pixels: the preprocessing's own disk."""
    return _morphology(enlarged(image, CANVAS_SIZE), THICK_RADIUS * SCALE, thicken=True)


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang and Suen's thinning (1984): ``mask`` peeled to lines one pixel wide, connections kept.

    Each pass removes, from one side and then the other, every ink pixel with 2-6 inked neighbours
    whose neighbours, read round the pixel, turn from background to ink exactly once (so removing
    it disconnects nothing), until a pass removes nothing.
    """
    image = np.pad(mask.astype(bool), 1)
    while True:
        removed = False
        for first in (True, False):
            # The eight neighbours clockwise from the one above: p2 .. p9 in the paper's names.
            p2, p3, p4, p5 = image[:-2, 1:-1], image[:-2, 2:], image[1:-1, 2:], image[2:, 2:]
            p6, p7, p8, p9 = image[2:, 1:-1], image[2:, :-2], image[1:-1, :-2], image[:-2, :-2]
            around = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            neighbours = sum(side.astype(np.uint8) for side in around[:-1])
            transitions = sum((~before & after).astype(np.uint8) for before, after in zip(around, around[1:]))
            if first:
                open_side = ~(p2 & p4 & p6) & ~(p4 & p6 & p8)
            else:
                open_side = ~(p2 & p4 & p8) & ~(p2 & p6 & p8)
            remove = image[1:-1, 1:-1] & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & open_side
            if remove.any():
                image[1:-1, 1:-1] &= ~remove
                removed = True
        if not removed:
            return image[1:-1, 1:-1]


def thin_pen(image: np.ndarray) -> np.ndarray:
    """The digit's strokes thinned to their skeleton and drawn again with a pen one MNIST pixel wide."""
    work_size = MNIST_SIZE * THIN_WORK_SCALE
    work = np.asarray(Image.fromarray(image).resize((work_size, work_size), Image.Resampling.BILINEAR))
    lines = skeleton(work >= HALF_INK).astype(np.uint8) * 255
    pen = _morphology(lines, THIN_PEN_RADIUS, thicken=True)
    return np.asarray(Image.fromarray(pen).resize((CANVAS_SIZE, CANVAS_SIZE), Image.Resampling.BILINEAR))


def undegraded(image: np.ndarray) -> np.ndarray:
    """The digit on the canvas as it is (bench.accuracy's canvas)."""
    return enlarged(image, CANVAS_SIZE)


# Each takes a 28x28 MNIST digit (uint8, ink 255) and gives its 280x280 canvas ink (uint8).
DEGRADATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": undegraded,
    "low resolution": low_resolution,
    "blur": blur,
    "thick pen": thick_pen,
    "thin pen": thin_pen,
}


def readings(app, pngs: Iterable[bytes]) -> list[dict[str, dict]]:
    """Every served network's answer to each PNG, as ``/api/predict?compare=1`` gives it: by network name,
    ``{"model", "digit", "confidence", "reason"}`` (``digit`` None when the answer is no digit)."""
    from webapp.api import comparison, prepared_image

    answers = []
    for png in pngs:
        with app.test_request_context("/api/predict", method="POST", data=png, content_type="image/png"):
            answers.append({entry["model"]: entry for entry in comparison(prepared_image())})
    return answers


def served(app) -> tuple[list[str], str, float]:
    """The app's served networks as ``readings`` answers for them: their names (the default first), the default's
    name, and the confidence below which the API answers "uncertain"."""
    from webapp.api import loaded_registry

    with app.app_context():
        registry = loaded_registry()
        return registry.names, registry.default, app.config["UNCERTAIN_BELOW"]


def read_right(answer: dict, label: int) -> bool:
    """Whether an answer counts as right: the API answered a digit (not empty, not-a-digit or uncertain), the label."""
    return answer["digit"] is not None and answer["digit"] == label


def summary(answers: list[dict], labels: np.ndarray) -> dict:
    """One network's figures on one degradation: share read right, answers with no digit by reason, misreadings."""
    right = sum(read_right(answer, int(label)) for answer, label in zip(answers, labels))
    no_digit = Counter(answer["reason"] for answer in answers if answer["digit"] is None)
    confusions = Counter(f"{label}→{answer['digit']}" for answer, label in zip(answers, labels)
                         if answer["digit"] is not None and answer["digit"] != label)
    return {"count": len(answers), "right": right, "no_digit": no_digit, "confusions": confusions}


def contact_sheet(images: np.ndarray, app, path: str, tile: int = 84) -> None:
    """A PNG of ``images`` under every degradation: for each, the canvas as a person sees it (dark on white)
    and, beside it, the 28x28 image the networks saw (light on dark, as MNIST's)."""
    from webapp.api import prepared_image

    label_width, gap = 110, 6
    width = label_width + len(images) * (2 * tile + gap)
    sheet = Image.new("L", (width, len(DEGRADATIONS) * (tile + gap) + gap), 255)
    draw = ImageDraw.Draw(sheet)
    for row, (name, degrade) in enumerate(DEGRADATIONS.items()):
        top = gap + row * (tile + gap)
        draw.text((4, top + tile // 2 - 6), name, fill=0)
        for column, image in enumerate(images):
            ink = degrade(image)
            with app.test_request_context("/api/predict", method="POST", data=canvas_png(ink),
                                          content_type="image/png"):
                seen = prepared_image().image
            left = label_width + column * (2 * tile + gap)
            sheet.paste(Image.fromarray(255 - ink).resize((tile, tile), Image.Resampling.BOX), (left, top))
            sheet.paste(Image.fromarray(seen).resize((tile, tile), Image.Resampling.NEAREST), (left + tile, top))
    sheet.save(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.degraded", description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=DIGITS, help="how many of MNIST's test digits, from the first")
    parser.add_argument("--sheet", default=None, help="also write a contact sheet of examples to this PNG")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    from train import data
    from webapp import create_app

    mnist = data.load()
    images, labels = mnist.test_images[: args.digits], mnist.test_labels[: args.digits]
    app = create_app()
    names, default, uncertain_below = served(app)
    print(" ".join(["python -m bench.degraded", *(sys.argv[1:] if argv is None else argv)]))
    print(f"MNIST test digits 0-{len(images) - 1} (the first {len(images):,}; per digit "
          f"{' '.join(str(count) for count in np.bincount(labels, minlength=10))}), each on a 280x280 canvas, "
          f"read as /api/predict?compare=1 answers (in-process: preprocessing, the gate, "
          f"uncertain below {uncertain_below})")
    if args.sheet:
        first_of_each = [int(np.flatnonzero(labels == digit)[0]) for digit in range(10) if (labels == digit).any()]
        contact_sheet(images[first_of_each], app, args.sheet)
        print(f"contact sheet: {args.sheet} (digits {first_of_each})")

    results: dict[str, dict[str, dict]] = {}
    for degradation, degrade in DEGRADATIONS.items():
        answers = readings(app, (canvas_png(degrade(image)) for image in images))
        results[degradation] = {name: summary([answer[name] for answer in answers], labels) for name in names}

    print(f"\n% read right ({default}: the share answered with no digit, and its commonest misreadings)")
    columns = names  # the registry's order: the default first
    width = max(len(name) for name in DEGRADATIONS) + 2
    print(f"{'degradation':<{width}}" + "".join(f"{name:>16}" for name in columns) + f"  {default}: no digit; misread")
    for degradation, per_network in results.items():
        cells = "".join(f"{100 * figures['right'] / figures['count']:>15.2f}%" for figures in
                        (per_network[name] for name in columns))
        own = per_network[default]
        reasons = ", ".join(f"{reason} {count}" for reason, count in own["no_digit"].most_common())
        no_digit = sum(own["no_digit"].values())
        misread = " ".join(f"{pair} {count}" for pair, count in own["confusions"].most_common(4))
        print(f"{degradation:<{width}}{cells}  {100 * no_digit / own['count']:.2f}%"
              f"{f' ({reasons})' if reasons else ''}; {misread or 'none'}")
    # A network can lose a degradation by misreading or by no longer being sure: which one, for each.
    print("\n% answered with no digit (empty, not-a-digit or uncertain)")
    for degradation, per_network in results.items():
        print(f"{degradation:<{width}}" + "".join(
            f"{100 * sum(figures['no_digit'].values()) / figures['count']:>15.2f}%"
            for figures in (per_network[name] for name in columns)))
    print(f"\n{len(DEGRADATIONS) * len(images):,} canvases, {len(names)} networks each, in "
          f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
