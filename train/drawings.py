"""A set of digit drawings that are not MNIST, to judge the whole pipeline by.

People draw on a pad with a pen of fixed width, at any size and place, slanted,
wobbling with a mouse. Each digit here is a few strokes in one of several
styles (a 1 with or without a flag and base, a 7 with or without a bar, an
open or closed 4, ...), put through a random slant, rotation, aspect, size,
position, pen width and wobble, and rendered like a canvas would be. The same
strokes drive the mouse in the browser tests.
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
    height = rng.uniform(0.3, 0.9) * canvas_size
    aspect = rng.uniform(0.75, 1.3)
    slant = rng.uniform(-0.35, 0.3)  # x += slant * (0.5 - y): positive leans right
    rotation = math.radians(rng.uniform(-10, 10))
    pen_width = rng.uniform(0.015, 0.09) * canvas_size
    wobble = rng.uniform(0.0, 0.012) * canvas_size
    cos, sin = math.cos(rotation), math.sin(rotation)

    shaped = []
    for stroke in styles[style]:
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
