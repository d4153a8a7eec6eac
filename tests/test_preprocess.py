"""Canvas PNG -> MNIST format: faithful on MNIST itself, invariant to how a digit was drawn."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import png_bytes
from train.drawings import POLARITIES, Drawing, random_drawing, render
from webapp import preprocess
from webapp.preprocess import PreprocessError, prepare


def similarity(first: np.ndarray, second: np.ndarray) -> float:
    """Cosine similarity of two images (1 = same up to brightness)."""
    a, b = first.astype(np.float64).ravel(), second.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_mnist_digits_come_back_nearly_unchanged(mnist):
    scores = [similarity(prepare(png_bytes(image)).image, image) for image in mnist.test_images[:300]]
    assert np.median(scores) > 0.97
    assert np.percentile(scores, 5) > 0.9


def test_output_is_mnist_format(mnist):
    prepared = prepare(png_bytes(mnist.test_images[0]))
    image = prepared.image
    assert image.shape == (28, 28) and image.dtype == np.uint8
    assert not prepared.empty
    assert image.max() == 255
    rows, columns = np.nonzero(image)
    assert max(rows.max() - rows.min(), columns.max() - columns.min()) + 1 <= 21
    row, column = preprocess.center_of_mass(image.astype(np.float64))
    assert abs(row - 14) <= 0.75 and abs(column - 14) <= 0.75


def drawn(digit: int, seed: int, canvas_size: int = 280, polarity: str = "dark-on-transparent", **overrides):
    rng = np.random.default_rng(seed)
    drawing = random_drawing(rng, digit, canvas_size)
    if overrides:
        drawing = type(drawing)(**{**drawing.__dict__, **overrides})
    return render(drawing, polarity)


def three_at(factor: float, offset: tuple[int, int]) -> bytes:
    """One drawn 3, scaled by ``factor`` and moved by ``offset`` on a 600 px canvas."""
    base = random_drawing(np.random.default_rng(5), 3, 280)
    strokes = [[(x * factor + offset[0], y * factor + offset[1]) for x, y in stroke] for stroke in base.strokes]
    return render(Drawing(3, base.style, strokes, base.pen_width * factor, 600))


@pytest.mark.parametrize("factor, offset", [(0.5, (300, 10)), (1.8, (40, 60)), (0.35, (10, 400)), (2.0, (90, 20))])
def test_same_drawing_at_other_sizes_and_places_gives_the_same_image(factor, offset):
    reference = prepare(three_at(1.0, (0, 0))).image
    assert similarity(prepare(three_at(factor, offset)).image, reference) > 0.9


@pytest.mark.parametrize("polarity", POLARITIES)
def test_polarity_and_transparency_do_not_matter(polarity):
    reference = prepare(drawn(5, seed=11)).image
    assert similarity(prepare(drawn(5, seed=11, polarity=polarity)).image, reference) > 0.97


@pytest.mark.parametrize("pen_width", [2.0, 6.0, 14.0, 24.0])
def test_pen_width_is_brought_into_mnist_range(pen_width):
    reference = prepare(drawn(2, seed=3, pen_width=9.0)).image
    image = prepare(drawn(2, seed=3, pen_width=pen_width)).image
    width = preprocess.stroke_width(image / 255.0)
    assert preprocess.THINNEST_STROKE - 0.35 <= width <= preprocess.THICKEST_STROKE + 0.5
    assert similarity(image, reference) > 0.85


def test_black_ink_on_transparent_canvas_is_not_all_black():
    canvas = np.zeros((100, 100, 4), dtype=np.uint8)
    canvas[20:80, 45:55] = (0, 0, 0, 255)  # black ink, a "1"
    image = prepare(png_bytes(canvas)).image
    assert image.max() == 255
    assert (image > 128).sum() < 200  # a stroke, not a filled square


def test_grey_paper_and_dark_ink():
    page = np.full((200, 200), 200, dtype=np.uint8)
    page[40:160, 90:110] = 30
    image = prepare(png_bytes(page)).image
    assert image[0, 0] == 0 and image.max() == 255


@pytest.mark.parametrize(
    "canvas",
    [
        np.zeros((280, 280, 4), dtype=np.uint8),
        np.full((280, 280), 255, dtype=np.uint8),
        np.zeros((280, 280), dtype=np.uint8),
        np.full((50, 50), 128, dtype=np.uint8),
    ],
    ids=["transparent", "white", "black", "grey"],
)
def test_blank_pad_is_empty(canvas):
    prepared = prepare(png_bytes(canvas))
    assert prepared.empty and prepared.image.max() == 0


def test_a_speck_is_empty():
    canvas = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas[100:104, 100:104] = (0, 0, 0, 255)
    assert prepare(png_bytes(canvas)).empty


def test_taps_with_the_pages_pen_are_empty():
    """A tap, a tap dragged less than the pen's width, two taps close together: on any pad size and pen."""
    from train.drawings import tap

    rng = np.random.default_rng(3)
    taps = [tap(rng, canvas_size=size) for size in (280, 324, 460, 1000) for _ in range(25)]
    assert all(prepare(render(drawing)).empty for drawing in taps)


@pytest.mark.parametrize("digit", range(10))
def test_a_small_digit_drawn_with_the_pages_pen_is_not_empty(digit):
    """Digits drawn 20% of the pad tall with the page's pen (5.5% of the pad), every style: never a tap."""
    from train.drawings import STYLES, VARIANTS, shaped_drawing

    for style, strokes in enumerate(STYLES[digit] + VARIANTS.get(digit, [])):
        drawing = shaped_drawing(np.random.default_rng(style), strokes, 280, digit=digit)
        points = np.concatenate([np.asarray(stroke) for stroke in drawing.strokes])
        centre, height = points.mean(axis=0), np.ptp(points[:, 1])
        factor = 0.2 * 280 / height
        strokes = [[((x - centre[0]) * factor + 140, (y - centre[1]) * factor + 140) for x, y in stroke]
                   for stroke in drawing.strokes]
        small = Drawing(digit, style, strokes, 0.055 * 280, 280)
        assert not prepare(render(small)).empty, (digit, style)


def test_no_mnist_test_digit_is_taken_for_a_tap(mnist):
    """MNIST's boldest digits (thick 6s and 8s) have blobs as wide as half the digit: still digits."""
    assert not any(prepare(png_bytes(image)).empty for image in mnist.test_images)


def test_pen_width_is_the_widest_stroke():
    mask = np.zeros((40, 40), dtype=bool)
    mask[5:35, 10:16] = True  # a bar 6 wide
    assert preprocess.pen_width(mask) == pytest.approx(6, abs=1)
    rows, columns = np.indices((40, 40))
    disc = (rows - 20) ** 2 + (columns - 20) ** 2 <= 10**2  # a disc 21 across
    assert preprocess.pen_width(disc) == pytest.approx(21, abs=2)


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    page = np.zeros((64, 64), dtype=np.uint16)
    page[10:54, 28:36] = 40000  # mid-grey ink on black, in 16 bits
    assert Image.open(io.BytesIO(png_bytes(page))).mode == "I;16"
    image = prepare(png_bytes(page)).image
    assert image.max() == 255 and (image > 0).sum() > 20


def test_palette_with_transparency():
    canvas = Image.new("P", (80, 80), 0)
    canvas.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    canvas.info["transparency"] = 0
    for y in range(10, 70):
        for x in range(36, 44):
            canvas.putpixel((x, y), 1)
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG", transparency=0)
    image = prepare(buffer.getvalue()).image
    assert image.max() == 255 and image[0, 0] == 0


def test_refuses_non_png():
    buffer = io.BytesIO()
    Image.new("L", (28, 28)).save(buffer, "GIF")
    with pytest.raises(PreprocessError) as raised:
        prepare(buffer.getvalue())
    assert raised.value.code == "unsupported-image-format"


def test_refuses_huge_dimensions_from_the_header():
    # A valid header declaring 100000 x 100000 pixels, and no image data at all.
    header = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + header + struct.pack(">I", zlib.crc32(b"IHDR" + header))
    with pytest.raises(PreprocessError) as raised:
        prepare(preprocess.PNG_SIGNATURE + chunk)
    assert raised.value.code == "image-too-large"


def test_refuses_truncated_png():
    data = png_bytes(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    with pytest.raises(PreprocessError) as raised:
        prepare(data[: len(data) // 2])
    assert raised.value.code == "invalid-image"


REFERENCE = Path(__file__).resolve().parent / "reference" / "preprocess.npz"


def reference_corpus(images: np.ndarray) -> list[bytes]:
    """Canvases the preprocessing's output is pinned on: MNIST test digits as 280x280 transparent canvases
    (1,500), the same as 28x28 dark-on-light PNGs (500), the generated drawings of make eval in all four
    polarities (1,000) and the held-out evaluation drawings, digits and not (1,000, taps and scribbles among them).
    """
    from bench.accuracy import mnist_canvas
    from train.drawings import drawing_set, evaluation_drawings

    corpus = [mnist_canvas(image) for image in images[:1500]]
    corpus += [png_bytes(255 - image) for image in images[1500:2000]]
    corpus += [png for _, png in drawing_set(1000, seed=7)]
    corpus += [render(item.drawing, POLARITIES[index % len(POLARITIES)])
               for index, item in enumerate(evaluation_drawings(1000, seed=2027))]
    return corpus


def digest(prepared) -> np.ndarray:
    """Nine bytes per answer: the first 8 of the 28x28 image's SHA-256, then 1 if "empty" else 0."""
    return np.frombuffer(hashlib.sha256(prepared.image.tobytes()).digest()[:8] + bytes([prepared.empty]), np.uint8)


def test_output_is_the_same_as_before_it_was_made_cheaper(mnist):
    """Every 28x28 image (and every "empty") equals, byte for byte, what the preprocessing made before
    issue 24 rewrote it for speed: digests of main e1eea51's webapp/preprocess.py output on the same
    4,000 canvases, a (4000, 9) uint8 array (tests/reference/make_preprocess.py wrote it)."""
    expected = np.load(REFERENCE)["digests"]
    corpus = reference_corpus(mnist.test_images)
    assert expected.shape == (4000, 9) and expected.dtype == np.uint8 and len(corpus) == 4000
    # The pinned answers hold both kinds, so an "always empty" or "never empty" change cannot match.
    assert 0 < int(expected[:, 8].sum()) < len(expected)
    actual = np.stack([digest(prepare(png)) for png in corpus])
    different = np.flatnonzero((actual != expected).any(axis=1))
    assert different.size == 0, f"{different.size} canvases differ, first {different[:10].tolist()}"


def histogram_median(grey: Image.Image) -> int:
    """The least level that at least half the pixels are at or below, from the whole histogram."""
    cumulative = np.cumsum(grey.histogram())
    return int(np.flatnonzero(2 * cumulative >= cumulative[-1])[0])


def median_cases() -> list[np.ndarray]:
    rng = np.random.default_rng(24)
    cases = [rng.integers(0, 256, (31, 17), dtype=np.uint8), rng.integers(100, 140, (40, 40), dtype=np.uint8)]
    for white, black, size in ((50, 0, 100), (51, 0, 100), (49, 0, 100), (0, 50, 100), (0, 49, 100), (0, 51, 100),
                               (50, 50, 100), (40, 40, 100), (3, 0, 5), (2, 2, 5), (0, 3, 5), (1, 0, 1), (0, 1, 1)):
        # `white` pixels at 255, `black` at 0, the rest grey levels 1-254, shuffled.
        levels = np.concatenate([np.full(white, 255), np.zeros(black), rng.integers(1, 255, size - white - black)])
        cases.append(rng.permutation(levels).astype(np.uint8).reshape(1, size))
    return cases


@pytest.mark.parametrize("index", range(len(median_cases())))
def test_the_median_level_is_the_whole_histogram_s(index):
    """The shortcut for mostly white or mostly black canvases answers what the histogram does, at the
    boundaries too (exactly half the pixels at 255 is not a 255 median; exactly half at 0 is a 0 median)."""
    grey = Image.fromarray(median_cases()[index])
    assert preprocess.median_level(grey) == histogram_median(grey)
    assert preprocess.median_level(grey, np.asarray(grey)) == histogram_median(grey)


def test_the_median_level_of_drawn_canvases_is_the_whole_histogram_s():
    """On canvases as the page and the API's clients send them, every polarity and transparency."""
    for index, polarity in enumerate(POLARITIES * 3):
        ink = preprocess.ink_levels(Image.open(io.BytesIO(drawn(index % 10, seed=index, polarity=polarity))))
        assert preprocess.median_level(ink.grey) == histogram_median(ink.grey) in (0, 255)
        assert ink.pixels is not None and np.array_equal(ink.pixels, np.asarray(ink.grey))
