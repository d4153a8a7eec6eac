"""A set of digit drawings that are not MNIST, to judge the whole pipeline by.

People draw on a pad with a pen of fixed width, at any size and place, slanted,
wobbling with a mouse. Each digit here is a few strokes in one of several
styles (a 1 with or without a flag and base, a 7 with or without a bar, an
open or closed 4, ...), put through a random slant, rotation, aspect, size,
position, pen width and wobble, and rendered like a canvas would be. The same
strokes drive the mouse in the browser tests.

This module is the project's EVALUATION generator: besides the digits, it
draws variants people write (``VARIANTS``) and things that are not digits
(``NON_DIGITS``, taps) for ``make eval``. The networks' training data never
comes from here: ``train/synth.py`` is a separate generator with its own
shapes and randomness, so the figures measured on these drawings are
held-out figures.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[float, float]
Stroke = list[Point]


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 24) -> Stroke:
    """Points on an ellipse from ``start`` to ``end`` degrees; 0 = right, 90 = down (image coordinates)."""
    return [
        (cx + rx * math.cos(math.radians(angle)), cy + ry * math.sin(math.radians(angle)))
        for angle in np.linspace(start, end, steps)
    ]


# Strokes in a box 1 high and about 0.6 wide (x 0.2..0.8); y grows downwards.
STYLES: dict[int, list[list[Stroke]]] = {
    0: [
        [_arc(0.5, 0.5, 0.3, 0.48, -90, 275, 40)],
        [_arc(0.5, 0.5, 0.26, 0.48, -100, 265, 40)],
    ],
    1: [
        [[(0.5, 0.0), (0.5, 1.0)]],
        [[(0.32, 0.2), (0.52, 0.0), (0.52, 1.0)]],
        [[(0.32, 0.2), (0.52, 0.0), (0.52, 1.0)], [(0.32, 1.0), (0.72, 1.0)]],
    ],
    2: [
        [_arc(0.5, 0.28, 0.28, 0.27, 195, 380) + [(0.22, 1.0), (0.8, 1.0)]],
        [_arc(0.48, 0.27, 0.27, 0.26, 190, 370) + [(0.3, 0.85), (0.2, 1.0), (0.42, 0.93), (0.82, 0.98)]],
    ],
    3: [
        [_arc(0.48, 0.26, 0.26, 0.25, 210, 450) + _arc(0.48, 0.74, 0.3, 0.26, 270, 510)],
        [[(0.25, 0.0), (0.75, 0.0), (0.45, 0.42)] + _arc(0.48, 0.7, 0.3, 0.29, 280, 510)],
    ],
    4: [
        [[(0.6, 0.0), (0.18, 0.68), (0.85, 0.68)], [(0.62, 0.3), (0.62, 1.0)]],
        [[(0.22, 0.0), (0.2, 0.6), (0.82, 0.6)], [(0.7, 0.0), (0.7, 1.0)]],
    ],
    5: [
        [[(0.78, 0.0), (0.3, 0.0), (0.27, 0.45)] + _arc(0.48, 0.7, 0.3, 0.29, 225, 510)],
        [[(0.3, 0.0), (0.27, 0.45)] + _arc(0.48, 0.7, 0.3, 0.29, 225, 510), [(0.3, 0.0), (0.78, 0.0)]],
    ],
    6: [
        [[(0.72, 0.0), (0.5, 0.12), (0.32, 0.35)] + _arc(0.5, 0.7, 0.28, 0.29, 195, 550)],
        [_arc(0.75, 0.55, 0.5, 0.55, 250, 180, 16) + _arc(0.5, 0.72, 0.25, 0.27, 180, 530)],
    ],
    7: [
        [[(0.2, 0.0), (0.8, 0.0), (0.42, 1.0)]],
        [[(0.2, 0.0), (0.8, 0.0), (0.42, 1.0)], [(0.38, 0.52), (0.74, 0.52)]],
        [[(0.2, 0.1), (0.25, 0.0), (0.8, 0.0), (0.55, 0.5), (0.5, 1.0)]],
    ],
    8: [
        [_arc(0.5, 0.26, 0.23, 0.25, 0, 360, 30), _arc(0.5, 0.74, 0.28, 0.26, -90, 270, 30)],
        [_arc(0.5, 0.25, 0.24, 0.24, 20, -270, 24) + _arc(0.5, 0.74, 0.28, 0.26, -90, 270, 30) + [(0.72, 0.1)]],
    ],
    9: [
        [_arc(0.5, 0.28, 0.27, 0.27, 0, 365, 30) + [(0.77, 0.3), (0.74, 1.0)]],
        [_arc(0.48, 0.28, 0.27, 0.27, -10, 360, 30) + [(0.72, 0.6), (0.5, 1.0)]],
    ],
}


@dataclass(frozen=True)
class Drawing:
    digit: int
    style: int
    strokes: list[Stroke]  # in canvas pixels
    pen_width: float
    canvas_size: int


def _resample(stroke: Stroke, spacing: float) -> np.ndarray:
    """Points along the polyline every ``spacing`` units (a mouse samples at a rate)."""
    points = np.asarray(stroke, dtype=np.float64)
    if len(points) == 1:
        return points
    lengths = np.hypot(*np.diff(points, axis=0).T)
    cumulative = np.concatenate([[0.0], np.cumsum(lengths)])
    total = cumulative[-1]
    if total == 0:
        return points[:1]
    samples = np.linspace(0.0, total, max(2, int(total / spacing) + 1))
    return np.stack([np.interp(samples, cumulative, points[:, 0]), np.interp(samples, cumulative, points[:, 1])], 1)


def random_drawing(rng: np.random.Generator, digit: int, canvas_size: int = 280, style: int | None = None) -> Drawing:
    """One digit drawn with random size, place, slant, rotation, aspect, pen and wobble."""
    styles = STYLES[digit]
    style = int(rng.integers(len(styles))) if style is None else style
    return shaped_drawing(rng, styles[style], canvas_size, digit=digit, style=style)


def shaped_drawing(
    rng: np.random.Generator, strokes: list[Stroke], canvas_size: int = 280, digit: int = -1, style: int = 0
) -> Drawing:
    """Strokes in the unit box put on a canvas with random size, place, slant, rotation, aspect, pen and wobble."""
    height = rng.uniform(0.3, 0.9) * canvas_size
    aspect = rng.uniform(0.75, 1.3)
    slant = rng.uniform(-0.35, 0.3)  # x += slant * (0.5 - y): positive leans right
    rotation = math.radians(rng.uniform(-10, 10))
    pen_width = rng.uniform(0.015, 0.09) * canvas_size
    wobble = rng.uniform(0.0, 0.012) * canvas_size
    cos, sin = math.cos(rotation), math.sin(rotation)

    shaped = []
    for stroke in strokes:
        points = _resample(stroke, 0.02)
        x = (points[:, 0] - 0.5 + slant * (0.5 - points[:, 1])) * aspect
        y = points[:, 1] - 0.5
        x, y = x * cos - y * sin, x * sin + y * cos
        # A wobble that wanders smoothly, as a hand on a mouse does.
        drift = np.cumsum(rng.normal(0.0, 1.0, size=(len(points), 2)), axis=0)
        drift -= drift.mean(axis=0)
        drift *= wobble / max(1.0, np.abs(drift).max())
        shaped.append(np.stack([x * height, y * height], 1) + drift)
    every = np.concatenate(shaped)
    low, high = every.min(axis=0), every.max(axis=0)
    margin = pen_width / 2 + 2
    span = high - low
    room = np.maximum(canvas_size - span - 2 * margin, 0.0)
    offset = margin + rng.uniform(0.0, 1.0, size=2) * room - low
    strokes = [[(float(px), float(py)) for px, py in stroke + offset] for stroke in shaped]
    return Drawing(digit=digit, style=style, strokes=strokes, pen_width=float(pen_width), canvas_size=canvas_size)


def render(drawing: Drawing, polarity: str = "dark-on-transparent", supersample: int = 3) -> bytes:
    """The drawing as a canvas would export it, as PNG bytes.

    Args:
        polarity: ``dark-on-light``, ``light-on-dark``, ``dark-on-transparent`` or
            ``light-on-transparent``.
    """
    size = drawing.canvas_size * supersample
    ink_colour = {"dark": (20, 20, 30, 255), "light": (245, 245, 245, 255)}[polarity.split("-")[0]]
    background = {"light": (255, 255, 255, 255), "dark": (0, 0, 0, 255), "transparent": (0, 0, 0, 0)}[
        polarity.split("-")[-1]
    ]
    image = Image.new("RGBA", (size, size), background)
    pen = drawing.pen_width * supersample
    draw = ImageDraw.Draw(image)
    for stroke in drawing.strokes:
        points = [(x * supersample, y * supersample) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=ink_colour, width=max(1, round(pen)), joint="curve")
        for x, y in (points[0], points[-1]):  # round caps
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=ink_colour)
    image = image.resize((drawing.canvas_size, drawing.canvas_size), Image.Resampling.BOX)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


POLARITIES = ("dark-on-transparent", "dark-on-light", "light-on-dark", "light-on-transparent")


def drawing_set(count: int, seed: int = 7, canvas_size: int = 280) -> list[tuple[int, bytes]]:
    """``count`` labelled drawings as PNG bytes, balanced over digits, styles and polarities."""
    rng = np.random.default_rng(seed)
    result = []
    for index in range(count):
        digit = index % 10
        drawing = random_drawing(rng, digit, canvas_size)
        result.append((digit, render(drawing, POLARITIES[(index // 10) % len(POLARITIES)])))
    return result


# --- The evaluation set of make eval: variants people write, and things that are not digits ---

# Variants of the digits that MNIST's writers rarely drew, as printed type and
# many hands in Japan and Europe draw them. Evaluation only.
VARIANTS: dict[int, list[list[Stroke]]] = {
    0: [[_arc(0.5, 0.5, 0.28, 0.48, -90, 275, 40), [(0.68, 0.1), (0.32, 0.9)]]],  # slashed zero
    1: [
        [[(0.22, 0.32), (0.55, 0.0), (0.55, 1.0)]],  # long flag, no base
        [[(0.25, 0.28), (0.55, 0.0), (0.55, 1.0)], [(0.3, 1.0), (0.8, 1.0)]],  # long flag and a base
        [[(0.36, 0.12), (0.55, 0.0), (0.55, 1.0)], [(0.38, 1.0), (0.72, 1.0)]],  # printed: short flag, base
    ],
    4: [
        [[(0.45, 0.0), (0.2, 0.62), (0.82, 0.62)], [(0.65, 0.0), (0.65, 1.0)]],  # open top, stem above the bar
        [[(0.3, 0.0), (0.22, 0.6), (0.84, 0.6)], [(0.66, 0.28), (0.66, 1.0)]],  # open top, short stem
    ],
    7: [
        [[(0.18, 0.12), (0.22, 0.0), (0.82, 0.0), (0.45, 1.0)], [(0.36, 0.5), (0.8, 0.5)]],  # serif and a crossbar
        [[(0.2, 0.0), (0.8, 0.0), (0.5, 1.0)], [(0.3, 0.45), (0.72, 0.45)]],  # long crossbar
    ],
    9: [[_arc(0.5, 0.26, 0.26, 0.25, 0, 360, 30) + [(0.76, 0.28), (0.76, 1.0)]]],  # straight stem
}

# Things people draw that are not digits: letters that look like no digit,
# symbols, dashes. Evaluation only (train/synth.py draws its own).
NON_DIGITS: dict[str, tuple[str, list[Stroke]]] = {
    "A": ("letter", [[(0.2, 1.0), (0.5, 0.0), (0.8, 1.0)], [(0.32, 0.62), (0.68, 0.62)]]),
    "E": ("letter", [[(0.75, 0.0), (0.25, 0.0), (0.25, 1.0), (0.75, 1.0)], [(0.25, 0.5), (0.65, 0.5)]]),
    "F": ("letter", [[(0.75, 0.0), (0.25, 0.0), (0.25, 1.0)], [(0.25, 0.48), (0.65, 0.48)]]),
    "H": ("letter", [[(0.22, 0.0), (0.22, 1.0)], [(0.78, 0.0), (0.78, 1.0)], [(0.22, 0.5), (0.78, 0.5)]]),
    "K": ("letter", [[(0.25, 0.0), (0.25, 1.0)], [(0.75, 0.0), (0.25, 0.58)], [(0.4, 0.45), (0.78, 1.0)]]),
    "M": ("letter", [[(0.15, 1.0), (0.2, 0.0), (0.5, 0.65), (0.8, 0.0), (0.85, 1.0)]]),
    "N": ("letter", [[(0.22, 1.0), (0.22, 0.0), (0.78, 1.0), (0.78, 0.0)]]),
    "R": ("letter", [[(0.25, 1.0), (0.25, 0.0)] + _arc(0.42, 0.25, 0.3, 0.25, -90, 90, 14) + [(0.25, 0.5), (0.78, 1.0)]]),
    "W": ("letter", [[(0.1, 0.0), (0.3, 1.0), (0.5, 0.3), (0.7, 1.0), (0.9, 0.0)]]),
    "X": ("letter", [[(0.2, 0.0), (0.8, 1.0)], [(0.8, 0.0), (0.2, 1.0)]]),
    "plus": ("symbol", [[(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]]),
    "equals": ("symbol", [[(0.1, 0.35), (0.9, 0.35)], [(0.1, 0.65), (0.9, 0.65)]]),
    "hash": ("symbol", [[(0.38, 0.0), (0.32, 1.0)], [(0.68, 0.0), (0.62, 1.0)], [(0.1, 0.33), (0.9, 0.33)],
                        [(0.1, 0.67), (0.9, 0.67)]]),
    "asterisk": ("symbol", [[(0.5, 0.1), (0.5, 0.9)], [(0.15, 0.3), (0.85, 0.7)], [(0.85, 0.3), (0.15, 0.7)]]),
    "percent": ("symbol", [_arc(0.3, 0.18, 0.12, 0.16, 0, 360, 16), [(0.8, 0.0), (0.2, 1.0)],
                           _arc(0.7, 0.82, 0.12, 0.16, 0, 360, 16)]),
    "ampersand": ("symbol", [[(0.82, 1.0), (0.35, 0.35)] + _arc(0.45, 0.2, 0.15, 0.2, 150, 390, 12)
                             + [(0.25, 0.7)] + _arc(0.42, 0.8, 0.2, 0.2, 180, 330, 10) + [(0.8, 0.5)]]),
    "at": ("symbol", [_arc(0.5, 0.5, 0.12, 0.15, 0, 360, 16) + [(0.62, 0.65), (0.78, 0.6)]
                      + _arc(0.5, 0.5, 0.32, 0.42, -10, -340, 36)]),
    "check": ("symbol", [[(0.1, 0.55), (0.35, 0.9), (0.9, 0.05)]]),
    "star": ("symbol", [[(0.2, 1.0), (0.5, 0.0), (0.8, 1.0), (0.05, 0.38), (0.95, 0.38), (0.2, 1.0)]]),
    "heart": ("symbol", [_arc(0.33, 0.28, 0.17, 0.2, 150, 360, 12) + _arc(0.67, 0.28, 0.17, 0.2, 180, 390, 12)
                         + [(0.5, 1.0), (0.18, 0.4)]]),
    "arrow": ("symbol", [[(0.05, 0.5), (0.95, 0.5)], [(0.65, 0.25), (0.95, 0.5), (0.65, 0.75)]]),
    "triangle": ("symbol", [[(0.5, 0.05), (0.92, 0.95), (0.08, 0.95), (0.5, 0.05)]]),
    "dash": ("dash", [[(0.0, 0.5), (1.0, 0.5)]]),
    "tilted dash": ("dash", [[(0.0, 0.58), (1.0, 0.42)]]),
}

NON_DIGIT_KINDS = ("letter", "symbol", "dash", "scribble", "tap")
SCRIBBLE_POINTS = (6, 14)
PAGE_PEN_FRACTION = 0.055  # static/js/lib/pad.js's pen


def scribble(rng: np.random.Generator) -> list[Stroke]:
    """A scribble: a polyline through random points of the box, as a hand crosses something out."""
    count = int(rng.integers(*SCRIBBLE_POINTS))
    points = rng.uniform([0.0, 0.0], [1.0, 1.0], size=(count, 2))
    return [[(float(x), float(y)) for x, y in points]]


def tap(rng: np.random.Generator, canvas_size: int = 280) -> Drawing:
    """A tap with the page's pen (or another): one dot, a dot dragged less than its width, or two dots close together."""
    pen_width = (PAGE_PEN_FRACTION if rng.uniform() < 0.5 else rng.uniform(0.03, 0.09)) * canvas_size
    centre = rng.uniform(0.1, 0.9, size=2) * canvas_size
    kind = int(rng.integers(3))
    if kind == 0:
        strokes = [[(float(centre[0]), float(centre[1]))]]
    elif kind == 1:
        step = rng.normal(0.0, 1.0, size=2)
        end = centre + step / np.linalg.norm(step) * rng.uniform(0.1, 0.9) * pen_width
        strokes = [[(float(centre[0]), float(centre[1])), (float(end[0]), float(end[1]))]]
    else:
        step = rng.normal(0.0, 1.0, size=2)
        second = centre + step / np.linalg.norm(step) * rng.uniform(0.2, 0.9) * pen_width
        strokes = [[(float(centre[0]), float(centre[1]))], [(float(second[0]), float(second[1]))]]
    return Drawing(digit=-1, style=kind, strokes=strokes, pen_width=float(pen_width), canvas_size=canvas_size)


@dataclass(frozen=True)
class Labelled:
    """One drawing of the evaluation set with what a right answer is."""

    expected: int | str  # the digit, "not-a-digit" or "empty"
    group: str  # "digit", "variant", "letter", "symbol", "dash", "scribble", "tap"
    name: str  # e.g. "1 variant 0", "A", "scribble"
    drawing: Drawing


def evaluation_drawings(count: int, seed: int = 2027, canvas_size: int = 280) -> list[Labelled]:
    """``count`` drawings for make eval: half digits (a third of them variants), half not digits.

    Digits come from ``STYLES`` and ``VARIANTS``; the rest are letters,
    symbols, dashes, scribbles and taps in equal fifths.
    """
    rng = np.random.default_rng(seed)
    items: list[Labelled] = []
    for index in range(count):
        if index % 2 == 0:
            digit = (index // 2) % 10
            variants = VARIANTS.get(digit, [])
            if variants and (index // 20) % 3 == 0:
                style = int(rng.integers(len(variants)))
                drawing = shaped_drawing(rng, variants[style], canvas_size, digit=digit, style=style)
                items.append(Labelled(digit, "variant", f"{digit} variant {style}", drawing))
            else:
                drawing = random_drawing(rng, digit, canvas_size)
                items.append(Labelled(digit, "digit", f"{digit} style {drawing.style}", drawing))
            continue
        kind = NON_DIGIT_KINDS[(index // 2) % len(NON_DIGIT_KINDS)]
        if kind == "tap":
            items.append(Labelled("empty", "tap", "tap", tap(rng, canvas_size)))
        elif kind == "scribble":
            items.append(Labelled("not-a-digit", "scribble", "scribble", shaped_drawing(rng, scribble(rng), canvas_size)))
        else:
            names = [name for name, (group, _) in NON_DIGITS.items() if group == kind]
            name = names[int(rng.integers(len(names)))]
            items.append(Labelled("not-a-digit", kind, name, shaped_drawing(rng, NON_DIGITS[name][1], canvas_size)))
    return items
