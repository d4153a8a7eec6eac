"""Typed characters as drawings: glyphs from Debian's font packages, bent like handwriting.

The gate learns "not a digit" from far more shapes when it sees letters and
symbols in many typefaces, not only the few dozen hand-made stroke lists of
``train/synth.py``. Each glyph is rendered from a font file, then distorted
the way a hand differs from type: rotated, sheared, stretched, warped by a
smooth random displacement field, and drawn with a thicker or thinner pen.

One family is kept aside: ``HELD_OUT_FAMILIES`` (DejaVu) is never used for
training; ``train/heldout.py`` renders its glyphs to measure the gate on type
it has never seen. The font files come from Debian's packages that
``make fonts`` installs (``FONT_PACKAGES``); which files were found is
recorded in the gate's card.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_ROOT = Path("/usr/share/fonts")
# Debian packages whose fonts the gate trains on and is measured with (installed by `make fonts`).
FONT_PACKAGES = ("fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation", "fonts-urw-base35",
                 "fonts-freefont-ttf", "fonts-ipafont-gothic", "fonts-ipafont-mincho")
HELD_OUT_FAMILIES = ("DejaVu",)  # file names starting with these: never in training
# Fonts without Latin letters (symbol and dingbat fonts) draw boxes or pictures for our characters.
SKIPPED = ("StandardSymbolsPS", "D050000L", "DejaVuMathTeXGyre")
RENDER_SIZE = 96  # font size in pixels; the glyph is scaled again by the preprocessing

# Characters that are not digits and look like none: no O o D Q (0), I l i j | / ( ) [ ] ! (1),
# Z z (2), S s (5), b G (6), T (7), B (8), g q a (9), and no A-like-4 shapes beyond A itself.
NOT_DIGIT_CHARACTERS = "ACEFHKMNPRUVWXYcefhkmnprtuvwxy#$%&@+=*<>~{}?"
DIGIT_CHARACTERS = "0123456789"


def font_files(held_out: bool = False) -> list[Path]:
    """The font files under /usr/share/fonts for training (``held_out=False``) or the held-out family, sorted."""
    # Links (fonts-japanese-gothic.ttf -> ipag.ttf) would count a face twice.
    files = sorted(path for pattern in ("*.ttf", "*.otf") for path in FONT_ROOT.rglob(pattern)
                   if not path.is_symlink() and not path.name.startswith(SKIPPED))
    return [path for path in files if path.name.startswith(HELD_OUT_FAMILIES) == held_out]


@functools.lru_cache(maxsize=256)
def _font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, RENDER_SIZE)


@functools.lru_cache(maxsize=8192)
def _typed(path: str, character: str) -> np.ndarray | None:
    """The character in that font as float ink 0..1, tightly cropped; None when the font lacks it."""
    font = _font(path)
    if hasattr(font, "getmask") and not font.getmask(character).size[0]:
        return None
    canvas = Image.new("L", (RENDER_SIZE * 2, RENDER_SIZE * 2), 0)
    ImageDraw.Draw(canvas).text((RENDER_SIZE // 2, RENDER_SIZE // 4), character, fill=255, font=font)
    box = canvas.getbbox()
    if box is None:
        return None
    return np.asarray(canvas.crop(box), dtype=np.float32) / 255.0


def _warp(ink: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Bilinear resampling through a smooth random displacement field (a hand's wander, not a printer's)."""
    height, width = ink.shape
    coarse = rng.normal(0.0, 1.0, size=(2, 4, 4)).astype(np.float32)
    fields = [np.asarray(Image.fromarray(plane).resize((width, height), Image.Resampling.BICUBIC)) for plane in coarse]
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    y = np.clip(rows + amplitude * fields[0], 0, height - 1)
    x = np.clip(columns + amplitude * fields[1], 0, width - 1)
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    y1, x1 = np.minimum(y0 + 1, height - 1), np.minimum(x0 + 1, width - 1)
    fy, fx = y - y0, x - x0
    return ((ink[y0, x0] * (1 - fx) + ink[y0, x1] * fx) * (1 - fy)
            + (ink[y1, x0] * (1 - fx) + ink[y1, x1] * fx) * fy)


def hand_typed(rng: np.random.Generator, path: Path, character: str) -> Image.Image | None:
    """The character in that font, distorted like handwriting, as ink (255) on a canvas; None if the font lacks it."""
    glyph = _typed(str(path), character)
    if glyph is None:
        return None
    pad = RENDER_SIZE // 3
    ink = np.pad(glyph, pad)
    ink = _warp(ink, rng, amplitude=float(rng.uniform(0.0, 0.05)) * RENDER_SIZE)
    image = Image.fromarray((np.clip(ink, 0, 1) * 255).astype(np.uint8))
    # Rotation, shear and stretch in one affine map about the centre.
    rotation, shear = math.radians(rng.uniform(-14, 14)), float(rng.uniform(-0.35, 0.35))
    aspect = float(rng.uniform(0.75, 1.3))
    cos, sin = math.cos(rotation), math.sin(rotation)
    forward = np.array([[cos, -sin], [sin, cos]]) @ np.array([[aspect, shear], [0.0, 1.0]])
    inverse = np.linalg.inv(forward)
    centre = np.array(image.size, dtype=np.float64) / 2
    shift = centre - inverse @ centre
    image = image.transform(image.size, Image.Transform.AFFINE,
                            (inverse[0, 0], inverse[0, 1], shift[0], inverse[1, 0], inverse[1, 1], shift[1]),
                            resample=Image.Resampling.BILINEAR)
    # A pen thicker or thinner than the type's strokes.
    pen = rng.uniform()
    if pen < 0.3:
        image = image.filter(ImageFilter.MaxFilter(int(rng.choice([3, 5, 7]))))
    elif pen < 0.45:
        image = image.filter(ImageFilter.MinFilter(3))
    scale = float(rng.uniform(0.6, 2.2))
    size = (max(8, round(image.width * scale)), max(8, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)
