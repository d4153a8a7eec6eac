"""Synthetic TRAINING drawings: digit variants MNIST lacks, and things that are not digits.

MNIST's writers rarely drew a 1 with a flag and a base, a 7 with a crossbar or
an open-top 4, and MNIST holds nothing that is not a digit. This module draws
both, for training only: each glyph is built from random parameters (how long
the 1's flag is, where the 7's bar crosses, ...), its control points jittered
one by one, drawn with a random pen and a smooth wobble, and put through the
server's own preprocessing (``webapp.preprocess.to_mnist``), so it reaches the
network exactly as a drawing on the page would. A third of each class is typed
instead: characters in the training fonts (``train/fonts.py``), bent like
handwriting. Besides letters, symbols, dashes and scribbles, the not-digits
include random strokes, pieces of digits and two digits side by side.

It shares no shapes and no randomness with ``train/drawings.py``, the
evaluation generator: the figures ``make eval`` prints are measured on
drawings the networks never saw the like of in training.

    python -m train.synth --out sheet.png   # a contact sheet, to look at them
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

Stroke = list[tuple[float, float]]
Glyph = list[Stroke]
Maker = Callable[[np.random.Generator], Glyph]

NOT_A_DIGIT = 10  # the label of everything in NON_DIGIT_MAKERS


def _ellipse(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 20) -> Stroke:
    """Points on an ellipse from ``start`` to ``end`` degrees (0 = right, 90 = down)."""
    angles = np.radians(np.linspace(start, end, steps))
    return [(cx + rx * math.cos(angle), cy + ry * math.sin(angle)) for angle in angles]


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


# --- Digits (label = the digit); the variants MNIST lacks get most of the weight ---

def one_with_flag(rng):
    """A 1 with a flag of any length and slope, a base half the time."""
    x = _u(rng, 0.45, 0.6)
    length, angle = _u(rng, 0.12, 0.5), math.radians(_u(rng, 10, 65))
    flag = (x - length * math.cos(angle), length * math.sin(angle))
    glyph = [[flag, (x, 0.0), (x + _u(rng, -0.05, 0.05), 1.0)]]
    if rng.uniform() < 0.5:
        half = _u(rng, 0.12, 0.3)
        glyph.append([(x - half, 1.0), (x + half * _u(rng, 0.7, 1.3), 1.0)])
    return glyph


def one_plain(rng):
    x = _u(rng, 0.4, 0.6)
    return [[(x + _u(rng, -0.05, 0.05), 0.0), (x, 1.0)]]


def seven_crossbar(rng):
    """A 7, often with a crossbar and sometimes a serif on the top bar's left end."""
    left, right = _u(rng, 0.15, 0.3), _u(rng, 0.7, 0.88)
    foot = _u(rng, 0.3, 0.55)
    top = [(left, 0.0), (right, 0.0), (foot, 1.0)]
    if rng.uniform() < 0.35:
        top.insert(0, (left - 0.02, _u(rng, 0.08, 0.2)))
    glyph = [top]
    if rng.uniform() < 0.75:
        height = _u(rng, 0.38, 0.62)
        stem_x = right + (foot - right) * height
        half = _u(rng, 0.12, 0.25)
        glyph.append([(stem_x - half, height), (stem_x + half * _u(rng, 0.6, 1.2), height)])
    return glyph


def four_open(rng):
    """An open-top 4: a down stroke and a bar, then the stem drawn apart."""
    bar = _u(rng, 0.5, 0.72)
    start_x, corner_x = _u(rng, 0.15, 0.45), _u(rng, 0.12, 0.3)
    stem_x = _u(rng, 0.55, 0.75)
    return [
        [(start_x, 0.0), (corner_x, bar), (_u(rng, 0.78, 0.92), bar)],
        [(stem_x, _u(rng, 0.0, 0.3)), (stem_x + _u(rng, -0.06, 0.04), 1.0)],
    ]


def four_closed(rng):
    bar = _u(rng, 0.55, 0.72)
    stem_x = _u(rng, 0.58, 0.72)
    return [[(stem_x, 0.0), (_u(rng, 0.12, 0.25), bar), (_u(rng, 0.8, 0.92), bar)], [(stem_x, 0.0), (stem_x, 1.0)]]


def nine_stem(rng):
    """A 9 with a straight or curved stem."""
    radius = _u(rng, 0.22, 0.3)
    loop = _ellipse(0.5, radius, radius, radius, 5, 365)
    stem_x = 0.5 + radius
    if rng.uniform() < 0.5:
        return [loop + [(stem_x, 1.0)]]
    return [loop + [(stem_x - 0.05, 0.7), (0.45, 1.0)]]


def zero_oval(rng):
    glyph = [_ellipse(0.5, 0.5, _u(rng, 0.22, 0.32), 0.5, -90, 275 + _u(rng, -15, 15), 32)]
    if rng.uniform() < 0.3:  # programmers slash their zeros
        glyph.append([(0.7, 0.12), (0.3, 0.88)])
    return glyph


def two_variants(rng):
    radius = _u(rng, 0.24, 0.3)
    hook = _ellipse(0.5, radius, radius, radius, 190, 375, 14)
    if rng.uniform() < 0.4:  # a loop at the foot
        return [hook + [(0.3, 0.9), (0.22, 1.0), (0.35, 0.98), (0.82, 1.0)]]
    return [hook + [(0.2, 1.0), (_u(rng, 0.75, 0.88), 1.0)]]


def three_variants(rng):
    if rng.uniform() < 0.5:  # flat top
        return [[(0.22, 0.0), (0.78, 0.0), (0.45, 0.4)] + _ellipse(0.48, 0.7, 0.3, 0.3, 280, 500, 16)]
    return [_ellipse(0.48, 0.25, 0.26, 0.25, 200, 450, 16) + _ellipse(0.48, 0.74, 0.3, 0.26, 270, 510, 16)]


def five_variants(rng):
    body = [(0.3, 0.0), (0.26, 0.45)] + _ellipse(0.48, 0.7, 0.3, 0.3, 220, 505, 16)
    flag = [(0.3, 0.0), (_u(rng, 0.7, 0.85), _u(rng, -0.03, 0.03))]
    return [body, flag] if rng.uniform() < 0.5 else [flag[::-1] + body[1:]]


def six_variants(rng):
    return [[(_u(rng, 0.6, 0.78), 0.0), (0.38, 0.35)] + _ellipse(0.5, 0.72, 0.27, 0.28, 195, 545, 20)]


def eight_variants(rng):
    if rng.uniform() < 0.5:  # two loops stacked
        return [_ellipse(0.5, 0.25, 0.2, 0.25, 0, 360, 18), _ellipse(0.5, 0.74, 0.27, 0.26, 0, 360, 18)]
    return [_ellipse(0.5, 0.25, 0.22, 0.25, 30, -250, 16) + _ellipse(0.5, 0.74, 0.27, 0.26, -80, 260, 18)]


# The digits MNIST's writers drew least like people on a pad get drawn more often.
DIGIT_WEIGHTS = np.array([1.0, 2.5, 1.0, 1.0, 1.8, 1.0, 1.0, 2.5, 1.0, 1.3])

DIGIT_MAKERS: dict[int, list[tuple[Maker, float]]] = {
    0: [(zero_oval, 1.0)],
    1: [(one_with_flag, 3.0), (one_plain, 0.5)],
    2: [(two_variants, 1.0)],
    3: [(three_variants, 1.0)],
    4: [(four_open, 2.0), (four_closed, 1.0)],
    5: [(five_variants, 1.0)],
    6: [(six_variants, 1.0)],
    7: [(seven_crossbar, 3.0)],
    8: [(eight_variants, 1.0)],
    9: [(nine_stem, 1.5)],
}


# --- Not digits (label NOT_A_DIGIT): letters that look like no digit, symbols, dashes, scribbles ---

LETTERS: dict[str, Glyph] = {
    "A": [[(0.15, 1.0), (0.5, 0.0), (0.85, 1.0)], [(0.3, 0.6), (0.7, 0.6)]],
    "A2": [[(0.15, 1.0), (0.45, 0.0), (0.55, 0.0), (0.85, 1.0)], [(0.28, 0.65), (0.72, 0.65)]],
    "E": [[(0.8, 0.0), (0.2, 0.0), (0.2, 1.0), (0.8, 1.0)], [(0.2, 0.5), (0.7, 0.5)]],
    "E2": [_ellipse(0.55, 0.27, 0.3, 0.27, 300, 110, 12) + _ellipse(0.55, 0.74, 0.33, 0.26, 250, 70, 12)],
    "F": [[(0.8, 0.0), (0.22, 0.0), (0.22, 1.0)], [(0.22, 0.45), (0.7, 0.45)]],
    "H": [[(0.2, 0.0), (0.2, 1.0)], [(0.8, 0.0), (0.8, 1.0)], [(0.2, 0.5), (0.8, 0.5)]],
    "K": [[(0.2, 0.0), (0.2, 1.0)], [(0.8, 0.0), (0.2, 0.55), (0.8, 1.0)]],
    "M": [[(0.1, 1.0), (0.15, 0.0), (0.5, 0.7), (0.85, 0.0), (0.9, 1.0)]],
    "N": [[(0.2, 1.0), (0.2, 0.0), (0.8, 1.0), (0.8, 0.0)]],
    "R": [[(0.2, 1.0), (0.2, 0.0)] + _ellipse(0.4, 0.25, 0.33, 0.25, -90, 90, 12) + [(0.2, 0.5), (0.8, 1.0)]],
    "W": [[(0.05, 0.0), (0.28, 1.0), (0.5, 0.2), (0.72, 1.0), (0.95, 0.0)]],
    "X": [[(0.15, 0.0), (0.85, 1.0)], [(0.85, 0.0), (0.15, 1.0)]],
    "Y": [[(0.15, 0.0), (0.5, 0.5), (0.85, 0.0)], [(0.5, 0.5), (0.5, 1.0)]],
    "k": [[(0.25, 0.0), (0.25, 1.0)], [(0.75, 0.4), (0.25, 0.72), (0.78, 1.0)]],
    "m": [[(0.1, 0.4), (0.1, 1.0)] + _ellipse(0.3, 0.55, 0.2, 0.15, 180, 360, 8) + [(0.5, 1.0)],
          _ellipse(0.7, 0.55, 0.2, 0.15, 180, 360, 8) + [(0.9, 1.0)]],
    "w": [[(0.1, 0.4), (0.3, 1.0), (0.5, 0.55), (0.7, 1.0), (0.9, 0.4)]],
    "x": [[(0.2, 0.4), (0.8, 1.0)], [(0.8, 0.4), (0.2, 1.0)]],
    "pi": [[(0.1, 0.1), (0.9, 0.1)], [(0.33, 0.1), (0.3, 1.0)], [(0.67, 0.1), (0.72, 1.0)]],
    "sigma": [[(0.85, 0.0), (0.15, 0.0), (0.55, 0.5), (0.15, 1.0), (0.85, 1.0)]],
    "lambda": [[(0.2, 0.0), (0.85, 1.0)], [(0.5, 0.5), (0.15, 1.0)]],
}

SYMBOLS: dict[str, Glyph] = {
    "plus": [[(0.5, 0.0), (0.5, 1.0)], [(0.0, 0.5), (1.0, 0.5)]],
    "times": [[(0.1, 0.1), (0.9, 0.9)], [(0.9, 0.1), (0.1, 0.9)]],
    "equals": [[(0.0, 0.3), (1.0, 0.3)], [(0.0, 0.7), (1.0, 0.7)]],
    "hash": [[(0.35, 0.0), (0.3, 1.0)], [(0.7, 0.0), (0.65, 1.0)], [(0.05, 0.3), (0.95, 0.3)], [(0.05, 0.7), (0.95, 0.7)]],
    "asterisk": [[(0.5, 0.0), (0.5, 1.0)], [(0.1, 0.25), (0.9, 0.75)], [(0.9, 0.25), (0.1, 0.75)]],
    "percent": [_ellipse(0.25, 0.2, 0.13, 0.17, 0, 360, 12), [(0.85, 0.0), (0.15, 1.0)],
                _ellipse(0.75, 0.8, 0.13, 0.17, 0, 360, 12)],
    "at": [_ellipse(0.52, 0.5, 0.14, 0.17, 0, 360, 12) + [(0.66, 0.68), (0.85, 0.62)]
           + _ellipse(0.5, 0.5, 0.36, 0.45, -15, -335, 28)],
    "ampersand": [[(0.85, 1.0), (0.3, 0.3)] + _ellipse(0.45, 0.18, 0.17, 0.18, 160, 400, 10) + [(0.2, 0.72)]
                  + _ellipse(0.4, 0.8, 0.22, 0.2, 180, 330, 8) + [(0.85, 0.5)]],
    "check": [[(0.05, 0.5), (0.35, 1.0), (0.95, 0.0)]],
    "star": [[(0.18, 1.0), (0.5, 0.0), (0.82, 1.0), (0.0, 0.36), (1.0, 0.36), (0.18, 1.0)]],
    "heart": [_ellipse(0.3, 0.27, 0.2, 0.22, 140, 360, 10) + _ellipse(0.7, 0.27, 0.2, 0.22, 180, 400, 10)
              + [(0.5, 1.0), (0.15, 0.42)]],
    "arrow-right": [[(0.0, 0.5), (1.0, 0.5)], [(0.65, 0.2), (1.0, 0.5), (0.65, 0.8)]],
    "arrow-up": [[(0.5, 1.0), (0.5, 0.0)], [(0.2, 0.35), (0.5, 0.0), (0.8, 0.35)]],
    "arrow-left": [[(1.0, 0.5), (0.0, 0.5)], [(0.35, 0.2), (0.0, 0.5), (0.35, 0.8)]],
    "triangle": [[(0.5, 0.0), (0.95, 1.0), (0.05, 1.0), (0.5, 0.0)]],
    "smiley": [_ellipse(0.5, 0.5, 0.45, 0.5, 0, 360, 28), [(0.35, 0.35)], [(0.65, 0.35)],
               _ellipse(0.5, 0.55, 0.22, 0.2, 20, 160, 8)],
    "infinity": [_ellipse(0.28, 0.5, 0.25, 0.2, 0, 360, 14) + _ellipse(0.72, 0.5, 0.25, 0.2, 180, -180, 14)],
    "tilde": [_ellipse(0.3, 0.55, 0.2, 0.2, 180, 330, 8) + _ellipse(0.68, 0.45, 0.2, 0.2, 150, 0, 8)],
    "less": [[(0.9, 0.0), (0.1, 0.5), (0.9, 1.0)]],
    "greater": [[(0.1, 0.0), (0.9, 0.5), (0.1, 1.0)]],
    "colon": [[(0.5, 0.2)], [(0.5, 0.8)]],
    "ellipsis": [[(0.1, 0.5)], [(0.5, 0.5)], [(0.9, 0.5)]],
    "exclamation": [[(0.5, 0.0), (0.5, 0.7)], [(0.5, 1.0)]],
    "divide": [[(0.0, 0.5), (1.0, 0.5)], [(0.5, 0.15)], [(0.5, 0.85)]],
    "spiral": [[(0.5 + 0.05 * t * math.cos(t), 0.5 + 0.05 * t * math.sin(t)) for t in np.linspace(0, 9.5, 40)]],
}


def dash(rng):
    """A dash, level or tilted a little (steeper is a 1), sometimes with a hooked end."""
    angle = math.radians(_u(rng, -12, 12))
    dx, dy = 0.5 * math.cos(angle), 0.5 * math.sin(angle)
    stroke = [(0.5 - dx, 0.5 - dy), (0.5 + dx, 0.5 + dy)]
    if rng.uniform() < 0.2:
        stroke.append((0.5 + dx - 0.05, 0.5 + dy + _u(rng, -0.12, 0.12)))
    return [stroke]


def dashes(rng):
    """Two or three short dashes in a row or a column."""
    count = int(rng.integers(2, 4))
    if rng.uniform() < 0.5:
        return [[(0.35 * index, 0.5), (0.35 * index + 0.22, 0.5)] for index in range(count)]
    return [[(0.2, 0.4 * index), (0.8, 0.4 * index + _u(rng, -0.05, 0.05))] for index in range(count)]


def tangle(rng):
    """A scribble: a smooth random walk that turns a lot, as when crossing something out."""
    steps = int(rng.integers(50, 120))
    heading = _u(rng, 0, 2 * math.pi)
    turn = rng.normal(0.0, _u(rng, 0.5, 1.1), size=steps)
    headings = heading + np.cumsum(turn)
    points = np.cumsum(np.stack([np.cos(headings), np.sin(headings)], 1) * 0.06, axis=0)
    return [[(float(x), float(y)) for x, y in points]]


def zigzag(rng):
    """A zigzag or a wave drawn back and forth."""
    count = int(rng.integers(4, 10))
    xs = np.linspace(0.0, 1.0, count)
    ys = np.where(np.arange(count) % 2 == 0, 0.0, _u(rng, 0.2, 1.0))
    if rng.uniform() < 0.5:
        return [[(float(x), float(y)) for x, y in zip(xs, ys)]]
    return [[(float(y), float(x)) for x, y in zip(xs, ys)]]  # up and down


def hatching(rng):
    """Parallel strokes, as when shading or crossing out."""
    count = int(rng.integers(3, 7))
    slope = _u(rng, -0.6, 0.6)
    return [[(0.0, index / count), (1.0, index / count + slope)] for index in range(count)]


def blob(rng):
    """A filled patch: a tight spiral of a thick pen."""
    turns = _u(rng, 2, 5)
    angle = np.linspace(0, turns * 2 * math.pi, 60)
    radius = np.linspace(0.5, 0.05, 60)
    return [[(float(0.5 + r * math.cos(a)), float(0.5 + 0.8 * r * math.sin(a))) for r, a in zip(radius, angle)]]


def dots(rng):
    """A few dots scattered apart (far enough not to be one tap)."""
    count = int(rng.integers(2, 6))
    return [[(float(x), float(y))] for x, y in rng.uniform(0, 1, size=(count, 2))]


def _table(glyphs: dict[str, Glyph]) -> Maker:
    names = list(glyphs)
    return lambda rng: glyphs[names[int(rng.integers(len(names)))]]


def random_strokes(rng):
    """Two to four short smooth strokes scattered in the box, none a digit on its own."""
    strokes = []
    for _ in range(int(rng.integers(2, 5))):
        start = rng.uniform(0.0, 0.8, size=2)
        points = start + np.cumsum(rng.normal(0.0, 0.12, size=(int(rng.integers(2, 6)), 2)), axis=0)
        strokes.append([(float(x), float(y)) for x, y in np.vstack([start, points])])
    return strokes


# Digits whose pieces are not digits themselves (a piece of a 1 or a 7 is a 1).
PARTIAL_DIGITS = (0, 2, 3, 5, 6, 8, 9)


def partial_digit(rng):
    """A fifth to under a half of a digit's strokes: a hook, an arc, a piece of a loop, as when a drawing stops early."""
    digit = PARTIAL_DIGITS[int(rng.integers(len(PARTIAL_DIGITS)))]
    points = np.concatenate([np.asarray(stroke, dtype=np.float64) for stroke in _pick(rng, DIGIT_MAKERS[digit])(rng)])
    lengths = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    keep = _u(rng, 0.2, 0.45) * lengths[-1]
    start = _u(rng, 0.0, lengths[-1] - keep)
    samples = np.linspace(start, start + keep, 24)
    return [[(float(np.interp(at, lengths, points[:, 0])), float(np.interp(at, lengths, points[:, 1]))) for at in samples]]


def two_digits(rng):
    """Two digits side by side, as when a number is written in the box for one digit."""
    first, second = (int(digit) for digit in rng.integers(0, 10, size=2))
    gap = _u(rng, 0.75, 1.1)
    left = _pick(rng, DIGIT_MAKERS[first])(rng)
    right = _pick(rng, DIGIT_MAKERS[second])(rng)
    return [*left, *[[(x + gap, y) for x, y in stroke] for stroke in right]]


NON_DIGIT_MAKERS: list[tuple[Maker, float]] = [
    (_table(LETTERS), 3.0),
    (_table(SYMBOLS), 3.0),
    (dash, 1.5),
    (dashes, 0.5),
    (tangle, 1.5),
    (zigzag, 0.7),
    (hatching, 0.6),
    (blob, 0.3),
    (dots, 0.4),
    (random_strokes, 1.2),
    (partial_digit, 0.6),
    (two_digits, 1.2),
]

# Of each class, this fraction is typed in a training font (train/fonts.py) and bent like handwriting:
# letters, symbols and digit pairs for "not a digit", single digits for the digits.
TYPED_FRACTION = 0.35
TYPED_PAIR_FRACTION = 0.15  # of the typed non-digits: two digits typed side by side ("47")


def typed(rng: np.random.Generator, label: int) -> Image.Image | None:
    """A typed character (or, for NOT_A_DIGIT, sometimes two digits) in a random training font."""
    from train.fonts import DIGIT_CHARACTERS, NOT_DIGIT_CHARACTERS, font_files, hand_typed

    files = font_files()
    if label != NOT_A_DIGIT:
        text = str(label)
    elif rng.uniform() < TYPED_PAIR_FRACTION:
        text = "".join(DIGIT_CHARACTERS[int(index)] for index in rng.integers(0, 10, size=2))
    else:
        text = NOT_DIGIT_CHARACTERS[int(rng.integers(len(NOT_DIGIT_CHARACTERS)))]
    return hand_typed(rng, files[int(rng.integers(len(files)))], text)


def _pick(rng: np.random.Generator, makers: list[tuple[Maker, float]]) -> Maker:
    weights = np.array([weight for _, weight in makers])
    return makers[int(rng.choice(len(makers), p=weights / weights.sum()))][0]


def _hand_drawn(rng: np.random.Generator, glyph: Glyph) -> list[np.ndarray]:
    """Jitter each control point, slant, rotate and stretch, then add a smooth wobble along each stroke."""
    slant, rotation = _u(rng, -0.4, 0.35), math.radians(_u(rng, -15, 15))
    aspect = _u(rng, 0.7, 1.35)
    cos, sin = math.cos(rotation), math.sin(rotation)
    strokes = []
    for stroke in glyph:
        points = np.asarray(stroke, dtype=np.float64) + rng.normal(0.0, 0.025, size=(len(stroke), 2))
        if len(points) > 1:  # resample so that the wobble has points to move
            lengths = np.hypot(*np.diff(points, axis=0).T)
            along = np.concatenate([[0.0], np.cumsum(lengths)])
            samples = np.linspace(0.0, along[-1], max(2, int(along[-1] / 0.03)))
            points = np.stack([np.interp(samples, along, points[:, 0]), np.interp(samples, along, points[:, 1])], 1)
            phase, frequency = rng.uniform(0, 2 * math.pi, 2), rng.uniform(2, 7, 2)
            amplitude = _u(rng, 0.0, 0.02)
            t = np.linspace(0.0, 1.0, len(points))
            points = points + amplitude * np.sin(frequency[None] * 2 * math.pi * t[:, None] + phase[None])
        x = (points[:, 0] - 0.5 + slant * (0.5 - points[:, 1])) * aspect
        y = points[:, 1] - 0.5
        strokes.append(np.stack([x * cos - y * sin, x * sin + y * cos], 1))
    return strokes


def render_glyph(rng: np.random.Generator, glyph: Glyph) -> Image.Image:
    """The glyph drawn as ink (255) on a canvas of random size, with a random pen, rounded joints."""
    canvas = int(rng.integers(96, 240))
    height = _u(rng, 0.35, 0.85) * canvas
    pen = max(1.0, height * _u(rng, 0.04, 0.2))
    strokes = [points * height for points in _hand_drawn(rng, glyph)]
    every = np.concatenate(strokes)
    low, high = every.min(axis=0), every.max(axis=0)
    room = np.maximum(canvas - (high - low) - pen - 4, 0.0)
    offset = pen / 2 + 2 + rng.uniform(0, 1, 2) * room - low
    image = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(image)
    for points in strokes:
        points = [tuple(point) for point in points + offset]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(pen)))
        for x, y in points:  # a round pen: a disc at every point
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return image


def synthetic_set(
    count: int, seed: int, non_digit_fraction: float = 0.5, typed_fraction: float = TYPED_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` drawings in MNIST format through the server's preprocessing.

    ``typed_fraction`` of them are typed in the training fonts (``train/fonts.py``), the rest drawn from strokes.

    Returns:
        uint8 images (count, 28, 28) and labels: the digit, or ``NOT_A_DIGIT``.
        Drawings that preprocessing calls empty (a speck) are drawn again.
    """
    from webapp.preprocess import to_mnist

    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    labels = np.zeros(count, dtype=np.uint8)
    index = 0
    while index < count:
        if rng.uniform() < non_digit_fraction:
            label = NOT_A_DIGIT
            make = lambda: _pick(rng, NON_DIGIT_MAKERS)(rng)  # noqa: E731
        else:
            label = int(rng.choice(10, p=DIGIT_WEIGHTS / DIGIT_WEIGHTS.sum()))
            make = lambda: _pick(rng, DIGIT_MAKERS[label])(rng)  # noqa: E731
        drawing = typed(rng, label) if rng.uniform() < typed_fraction else render_glyph(rng, make())
        if drawing is None:  # the font lacks the character
            continue
        prepared = to_mnist(drawing)
        if prepared.empty:
            continue
        images[index], labels[index] = prepared.image, label
        index += 1
    return images, labels


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m train.synth", description="a contact sheet of training drawings")
    parser.add_argument("--out", default="synth.png")
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    images, labels = synthetic_set(args.count, args.seed)
    columns = 20
    rows = (args.count + columns - 1) // columns
    sheet = Image.new("L", (columns * 30, rows * 40), 0)
    draw = ImageDraw.Draw(sheet)
    for index, (image, label) in enumerate(zip(images, labels)):
        x, y = (index % columns) * 30, (index // columns) * 40
        sheet.paste(Image.fromarray(image), (x, y))
        draw.text((x + 2, y + 28), "-" if label == NOT_A_DIGIT else str(label), fill=255)
    sheet.resize((sheet.width * 2, sheet.height * 2)).save(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
