"""PNG bytes -> the 28x28 uint8 image MNIST's own procedure would have made.

MNIST's digits were cropped to their ink, scaled to fit a 20x20 box with
anti-aliasing, and placed in a 28x28 field with their centre of mass at the
centre. A canvas drawing is none of that: any size, any place, either
polarity, often transparent, and drawn with a pen whose width has nothing to
do with the digit's size. This module makes it MNIST-like. Pure numpy and
Pillow, no Flask.
"""

from __future__ import annotations

import bisect
import functools
import io
import itertools
import struct
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageFile

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIELD_SIZE = 28
BOX_SIZE = 20
# The longer side of the working copy on which stroke width is adjusted:
# large enough for sub-pixel accuracy at 20 px, small enough to be cheap.
WORK_SIZE = 80
WORK_SCALE = WORK_SIZE // BOX_SIZE
# On the 8-bit working image, "at least half ink" (x / 255 >= 0.5, as stroke_width counts it) is x >= 128.
HALF_INK_LEVEL = 128

# Ink is "present" above this (0..1, after removing the background level).
INK_THRESHOLD = 0.25
INK_LEVEL = round(INK_THRESHOLD * 255)  # the same on 8-bit ink
# A drawing whose ink fits in less than this fraction of the image's longer
# side is a speck (a dot of dust), not a digit.
SPECK_FRACTION = 0.03
# A tap is as long as the pen is wide: its ink fits in a box a pen width or
# two across, and the pen is a small part of the pad (5.5% on our page).
# Ink is a tap when it spans less than TAP_FRACTION of the image's longer side
# AND less than SPECK_PEN_WIDTHS of its thickest stroke AND less than
# SPECK_MEAN_WIDTHS of its mean stroke width. A bold digit can have one thick
# spot where strokes meet (MNIST's boldest 8s span only 2 of those, and 3.4
# mean widths), but it is drawn large on its image. Measured: taps and short
# drags span 1.1-2.0 thickest and 2.5-4.2 mean widths; digits drawn 20-35% of
# the pad tall with a 5.5-9% pen at least 2.3 and 4.3.
TAP_FRACTION = 0.2
SPECK_PEN_WIDTHS = 2.5
SPECK_MEAN_WIDTHS = 4.0
# Stroke width is measured on the ink's box brought to at most this many pixels.
SPECK_WORK_SIZE = 64

# Stroke width of MNIST digits at 20 px scale, by stroke_width() below:
# median 1.96 px, 10th-90th percentile 1.43-2.76 px (3,000 training digits).
# Strokes outside a band that holds ~97% of MNIST's digits are brought back
# to the median: MNIST's own digits pass through untouched, while a thin pen
# on a big digit or a fat finger on a small one becomes MNIST-like.
MNIST_STROKE_WIDTH = 2.0
THINNEST_STROKE = 1.1
THICKEST_STROKE = 3.5

# The largest image accepted, checked from the PNG header before decoding (the
# app's MAX_IMAGE_PIXELS and MAX_IMAGE_SIDE): a 280x280 canvas needs far less.
DEFAULT_MAX_PIXELS = 2048 * 2048
DEFAULT_MAX_SIDE = 4096
# Decoding costs up to ~10 ms of CPU per MiB of pixel data (inflating and
# unfiltering it; interlaced 16-bit grey is the dearest): 6 MiB keeps any
# accepted PNG near 60 ms (make bench), where a 2048x2048 16-bit RGBA one
# (32 MiB) took 200 ms. Every 8-bit grey or palette PNG up to the pixel limit
# fits; RGBA up to 1254x1254 (a 280 px pad at 4x device pixels is 1120x1120).
DEFAULT_MAX_DECODED_BYTES = 6 * 1024 * 1024
# Channels by PNG colour type: grey, RGB, palette index, grey+alpha, RGBA.
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}

LEVELS = np.arange(256, dtype=np.float64)


class PreprocessError(ValueError):
    """The image cannot be read; ``code`` is the API's error slug."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Prepared:
    """The model input and what was learnt on the way."""

    image: np.ndarray  # uint8 (28, 28), ink = 255
    empty: bool  # nothing (or only a speck) was drawn


def png_dimensions(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, read before any decoding.

    Raises:
        PreprocessError: not a PNG, or no valid IHDR chunk.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise PreprocessError(
            "unsupported-image-format", "the image is not a PNG (its first bytes are not the PNG signature); send a PNG"
        )
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise PreprocessError("invalid-image", "the PNG is truncated or has no IHDR header; send a complete PNG file")
    length, = struct.unpack(">I", data[8:12])
    width, height = struct.unpack(">II", data[16:24])
    if length != 13 or zlib.crc32(data[12:29]) != struct.unpack(">I", data[29:33])[0]:
        raise PreprocessError("invalid-image", "the PNG header is corrupt (bad IHDR length or checksum)")
    if width == 0 or height == 0:
        raise PreprocessError("invalid-image", f"the PNG declares an empty image ({width}x{height})")
    return width, height


# Pillow sees only IHDR, PLTE, tRNS, IDAT and IEND; every other chunk (text,
# colour profiles, gamma, timestamps, APNG frames after the first) is dropped
# first. Pillow inflates text and iCCP chunks as it opens a file (iCCP with
# no cap: 4,000 of them in a 4 MiB file cost 8 s of CPU), and puts a text
# chunk called "transparency" where tRNS's value belongs; none of that can
# happen to a chunk that is not there.
# Real encoders write a few dozen chunks (IDAT in 8-64 KiB pieces); walking a
# 4 MiB file of empty chunks (350,000 of them) would cost more than decoding.
MAX_CHUNKS = 4096
# tRNS's length by colour type (0 grey, 2 RGB): one 16-bit sample per channel.
TRNS_LENGTH = {0: 2, 2: 6}
PALETTE_COLOUR_TYPE = 3
IEND = struct.pack(">I4sI", 0, b"IEND", zlib.crc32(b"IEND"))


def decoder_chunks(data: bytes) -> bytes:
    """The PNG with only the chunks needed to decode its first image, each checked for sense.

    Chunks after the image data (but IEND), a tRNS where it cannot be (after
    IDAT, in an image with an alpha channel, of the wrong length) and any
    ancillary chunk are dropped, as libpng drops a chunk it finds invalid; a
    palette tRNS with more entries than the palette is cut to the palette's
    length. Pixel data is left to Pillow.

    Raises:
        PreprocessError: the chunk structure is broken (truncated, corrupt, too many chunks).
    """
    colour_type = data[25]
    kept = [data[:33]]  # signature and IHDR, checked by png_dimensions
    position, chunks, palette_entries, seen_data = 33, 1, 0, False
    while True:
        length, kind = struct.unpack(">I4s", data[position : position + 8].ljust(8, b"\0"))
        end = position + 12 + length
        if length > 0x7FFFFFFF or end > len(data) or not kind.isalpha():
            if seen_data:
                # Whatever follows the image data (a cut-off IEND, junk) is
                # not needed; a cut in the data itself is the decoder's to find.
                kept.append(data[position:end] if kind == b"IDAT" else b"")
                kept.append(IEND)
                return b"".join(kept)
            raise PreprocessError("invalid-image", "the PNG is truncated or corrupt (it ends before its image data)")
        chunks += 1
        if chunks > MAX_CHUNKS:
            raise PreprocessError(
                "invalid-image", f"the PNG has over {MAX_CHUNKS} chunks; save it again with any image editor or canvas"
            )
        body = data[position + 8 : end - 4]
        if kind == b"IEND":
            kept.append(data[position:end])
            return b"".join(kept)
        if kind == b"IHDR":
            raise PreprocessError("invalid-image", "the PNG has a second IHDR header")
        if kind == b"IDAT":
            seen_data = True
            kept.append(data[position:end])
        elif kind == b"PLTE" and not seen_data:
            palette_entries = length // 3
            kept.append(data[position:end])
        elif kind == b"tRNS" and not seen_data:
            kept.append(_checked_transparency(data[position:end], body, colour_type, palette_entries))
        position = end


def _checked_transparency(whole: bytes, body: bytes, colour_type: int, palette_entries: int) -> bytes:
    """A tRNS chunk as the decoder may take it: empty when it makes no sense for this image."""
    if colour_type == PALETTE_COLOUR_TYPE:
        if len(body) <= palette_entries:
            return whole
        if zlib.crc32(whole[4:-4]) != struct.unpack(">I", whole[-4:])[0]:
            raise PreprocessError("invalid-image", "the PNG's tRNS chunk is corrupt (bad checksum)")
        body = body[:palette_entries]
        return struct.pack(">I4s", len(body), b"tRNS") + body + struct.pack(">I", zlib.crc32(b"tRNS" + body))
    return whole if len(body) == TRNS_LENGTH.get(colour_type) else b""


def decoded_bytes(data: bytes) -> int:
    """Bytes of pixel data the PNG's header promises (8-bit samples or more), from IHDR alone."""
    width, height = png_dimensions(data)
    bit_depth, colour_type = data[24], data[25]
    if colour_type not in CHANNELS:
        raise PreprocessError("invalid-image", f"the PNG header names colour type {colour_type}, which PNG does not have")
    return width * height * CHANNELS[colour_type] * max(8, bit_depth) // 8


def decode_png(
    data: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    max_bytes: int = DEFAULT_MAX_DECODED_BYTES,
) -> Image.Image:
    """Decode a PNG (the first image of an animated one), checking its dimensions from the header first.

    A tiny file declaring a huge image is refused before anything is allocated,
    and the decoder only ever sees the chunks that make the image (see
    ``decoder_chunks``): no PNG that passes costs more than the decoding of
    ``max_bytes`` of pixels.
    """
    width, height = png_dimensions(data)
    size = decoded_bytes(data)
    if width * height > max_pixels or max(width, height) > max_side or size > max_bytes:
        raise PreprocessError(
            "image-too-large",
            f"the PNG is {width}x{height} pixels ({size / 2**20:.1f} MiB of pixel data); at most {max_pixels} pixels, "
            f"{max_side} per side and {max_bytes / 2**20:g} MiB of pixel data are accepted: "
            "send a smaller image (a few hundred pixels is plenty)",
        )
    data = decoder_chunks(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["PNG"])
            image.load()
    # Pillow reports a malformed file with many kinds of exception; each means
    # the same to the client.
    except (OSError, SyntaxError, ValueError, TypeError, IndexError, KeyError, Image.DecompressionBombWarning,
            Image.DecompressionBombError, EOFError, struct.error, zlib.error) as error:
        raise PreprocessError("invalid-image", f"the PNG could not be decoded ({error}); send a valid PNG file") from None
    return image


def _grey_and_alpha(image: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """8-bit grey levels and alpha (None when fully opaque) of any PNG mode."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Pillow's 16-bit to 8-bit conversion clips instead of scaling.
        wide = np.asarray(image, dtype=np.uint32)
        return Image.fromarray(((wide * 255 + 32767) // 65535).clip(0, 255).astype(np.uint8)), None
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        if image.mode not in ("RGBA", "LA"):
            image = image.convert("RGBA")
        # convert("L") + getchannel is 3x faster than convert("LA") on RGBA.
        alpha = image.getchannel("A")
        return image.convert("L"), (None if alpha.getextrema()[0] == 255 else alpha)
    return image.convert("L"), None


IDENTITY = np.arange(256, dtype=np.uint8)
INVERSE = 255 - IDENTITY
IDENTITY.flags.writeable = INVERSE.flags.writeable = False


@dataclass(frozen=True)
class Ink:
    """A drawing's ink, kept as its grey image and the lookup table that turns grey levels into ink.

    ``table[grey]`` is the ink intensity (255 = full ink). The table is applied
    only where it is needed, to the crop around the ink, never to the whole
    canvas: at 280x280 one pass over every pixel costs about as much as all of
    the work on the crop.
    """

    grey: Image.Image  # mode "L"
    table: np.ndarray  # uint8 (256,), monotonic: ink rises with the grey level, or falls with it
    pixels: np.ndarray  # np.asarray(grey), made once: the median and the box both read every pixel

    def image(self) -> Image.Image:
        """The whole ink image (255 = full ink)."""
        return self.grey.point(self.table.tobytes())

    def box(self) -> tuple[int, int, int, int] | None:
        """The bounding box (left, top, right, bottom) of the pixels with ink >= INK_THRESHOLD, as getbbox() gives it.

        The table is monotonic, so "ink >= threshold" is "grey >= some level"
        (or "<=" for an inverted table): the box comes from the per-row and
        per-column extremes of the grey image, without building the ink image.
        """
        levels = np.flatnonzero(self.table >= INK_LEVEL)
        if not len(levels):
            return None
        grey = self.pixels
        if levels[-1] == 255 and len(levels) == 256 - levels[0]:  # grey >= levels[0]
            rows, columns = grey.max(axis=1) >= levels[0], grey.max(axis=0) >= levels[0]
        elif levels[0] == 0 and len(levels) == levels[-1] + 1:  # grey <= levels[-1]
            rows, columns = grey.min(axis=1) <= levels[-1], grey.min(axis=0) <= levels[-1]
        else:  # not monotonic (never made here): look every pixel up
            mask = self.table[grey] >= INK_LEVEL
            rows, columns = mask.any(axis=1), mask.any(axis=0)
        row_indices, column_indices = np.flatnonzero(rows), np.flatnonzero(columns)
        if not len(row_indices):
            return None
        return int(column_indices[0]), int(row_indices[0]), int(column_indices[-1]) + 1, int(row_indices[-1]) + 1

    def crop(self, box: tuple[int, int, int, int]) -> Image.Image:
        """The ink image inside ``box``."""
        crop = self.grey.crop(box)
        if self.table is IDENTITY:
            return crop
        if self.table is INVERSE:
            # Dark ink on white (or on a transparent canvas): Pillow's invert, 10x cheaper than point(),
            # which first rounds its 256 table entries one by one in Python.
            return ImageChops.invert(crop)
        return crop.point(self.table.tobytes())


def ink_levels(image: Image.Image) -> Ink:
    """The ink of a decoded PNG, whatever the polarity and transparency (see ``ink_image``)."""
    grey, alpha = _grey_and_alpha(image)
    if alpha is not None:
        # The colour of the (partly) opaque pixels is the ink's.
        visible = np.asarray(grey.histogram(mask=alpha), dtype=np.float64)
        ink_level = float(visible @ LEVELS / visible.sum()) if visible.any() else 0.0
        background = Image.new("L", grey.size, 255 if ink_level < 128 else 0)
        grey = Image.composite(grey, background, alpha)
    # Most of a drawing is background: the median says which polarity it is.
    pixels = np.asarray(grey)
    median = median_level(grey, pixels)
    inverted = median > 127
    background_ink = 255 - median if inverted else median
    return Ink(grey, ink_table(inverted, background_ink), pixels)


def median_level(grey: Image.Image, pixels: np.ndarray | None = None) -> int:
    """The median grey level: the least level that at least half the pixels are at or below.

    A canvas is mostly white or mostly black, and then the answer is one count away: more than half the
    pixels at 255 make it 255, at least half at 0 make it 0 (one comparison over the pixels, ~15 us at
    280x280). Otherwise the whole histogram (Pillow's, ~140 us at 280x280) says. ``pixels``: np.asarray(grey).
    """
    pixels = np.asarray(grey) if pixels is None else pixels
    total = pixels.size
    if 2 * np.count_nonzero(pixels == 255) > total:
        return 255
    if 2 * np.count_nonzero(pixels == 0) >= total:
        return 0
    # In Python: 256 counts are too few for numpy's conversions to pay.
    counts = list(itertools.accumulate(grey.histogram()))
    return bisect.bisect_left(counts, total / 2)  # np.searchsorted's answer


@functools.lru_cache(maxsize=512)
def ink_table(inverted: bool, background_ink: int) -> np.ndarray:
    """The lookup table grey level -> ink: dark ink flipped to high values when ``inverted``, and an
    off-white page or a grey backdrop (the background level, in ink) taken down to zero.

    A white or black background gives IDENTITY or INVERSE themselves, which ``Ink.crop`` applies cheaply.
    """
    if background_ink >= 242:
        table = np.zeros(256, dtype=np.uint8)
        table.flags.writeable = False
        return table
    ink = (255 - LEVELS) if inverted else LEVELS
    table = np.round(np.clip((ink - background_ink) * 255.0 / (255 - background_ink), 0, 255)).astype(np.uint8)
    for known in (IDENTITY, INVERSE):
        if np.array_equal(table, known):
            return known
    table.flags.writeable = False
    return table


def ink_image(image: Image.Image) -> Image.Image:
    """Ink intensity as an 8-bit image (255 = full ink), whatever the polarity and transparency.

    A transparent canvas holds its ink in the alpha channel; its transparent
    pixels carry an arbitrary colour (usually black), so a plain greyscale
    conversion of black ink on a transparent canvas is all black. Compose onto
    a background that contrasts with the ink's own colour first. Everything
    full-size here runs in Pillow's C code.
    """
    return ink_levels(image).image()


def stroke_width(ink: np.ndarray, threshold: float = 0.5) -> float:
    """Mean stroke width in pixels: twice the inked area over the inked boundary length.

    For a stroke of width w and length L, area = wL and the boundary is about
    2L, so 2 * area / boundary ~ w. The boundary counts pixel edges between
    ink and background (4-neighbourhood), the image's own edges included.
    """
    return _stroke_width(ink >= threshold)


def _stroke_width(mask: np.ndarray) -> float:
    area = int(np.count_nonzero(mask))
    if area == 0:
        return 0.0
    # Edges between unlike neighbours, plus the ink on the image's four sides
    # (where it borders the background beyond): np.pad's answer without the copy.
    inside = np.count_nonzero(mask[1:, :] != mask[:-1, :]) + np.count_nonzero(mask[:, 1:] != mask[:, :-1])
    sides = (np.count_nonzero(mask[0]) + np.count_nonzero(mask[-1]) + np.count_nonzero(mask[:, 0])
             + np.count_nonzero(mask[:, -1]))
    return 2.0 * area / int(inside + sides)


def pen_width(mask: np.ndarray) -> float:
    """The width of the thickest stroke, in pixels: the diameter of the largest disc that fits in the ink.

    Erodes the mask until nothing is left, alternating a 4- and an 8-neighbour
    step (an octagon, close to a disc): each step takes about one pixel off every
    side, so the number of steps is about half the widest stroke.
    """
    current = mask.astype(bool)
    steps = 0
    while current.any():
        padded = np.pad(current, 1)
        eroded = current & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
        if steps % 2:
            eroded &= padded[:-2, :-2] & padded[:-2, 2:] & padded[2:, :-2] & padded[2:, 2:]
        current = eroded
        steps += 1
    return 2.0 * steps


def is_tap(crop: Image.Image, image_side: int) -> bool:
    """Whether ``crop`` (the ink's box) is a tap: small on its image (whose longer side is ``image_side``),
    and only a couple of its own stroke widths across."""
    extent = max(crop.size)
    if extent >= TAP_FRACTION * image_side:
        return False
    if extent > SPECK_WORK_SIZE:
        scale = SPECK_WORK_SIZE / extent
        crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))), Image.Resampling.BOX)
        extent = max(crop.size)
    ink_levels = np.asarray(crop, dtype=np.float32) / 255.0
    thickest = pen_width(ink_levels >= 0.5)
    return extent < SPECK_PEN_WIDTHS * thickest and extent < SPECK_MEAN_WIDTHS * stroke_width(ink_levels)


def _disk_offsets(radius: int) -> list[tuple[int, int]]:
    return [
        (dy, dx)
        for dy in range(-radius, radius + 1)
        for dx in range(-radius, radius + 1)
        if dy * dy + dx * dx <= radius * radius + radius
    ]


@functools.lru_cache(maxsize=32)
def _disk_rows(radius: int) -> tuple[tuple[int, int], ...]:
    """The disk of ``_disk_offsets`` row by row: (dy, half width), its row dy being dx = -half .. half."""
    half_widths: dict[int, int] = {}
    for dy, dx in _disk_offsets(radius):
        half_widths[dy] = max(half_widths.get(dy, 0), dx)
    return tuple(half_widths.items())


def _morphology(ink: np.ndarray, radius: int, thicken: bool) -> np.ndarray:
    """Grey-level dilation (thicken) or erosion by a disk of ``radius`` pixels.

    The maximum (or minimum) over the disk, taken row by row: first over every
    horizontal span -k..k a row of the disk needs (each span one step wider than
    the last), then over the disk's rows, each its span shifted up or down. The
    same numbers as comparing every one of the disk's ~3r^2 offsets, in ~4r
    array operations (max and min are exact, so the order does not matter).
    """
    height, width = ink.shape
    padded = np.zeros((height + 2 * radius, width + 2 * radius), dtype=ink.dtype)  # np.pad's, for less
    padded[radius : radius + height, radius : radius + width] = ink
    combine = np.maximum if thicken else np.minimum
    rows = _disk_rows(radius)
    spans = [padded[:, radius : radius + width]]  # spans[k]: over dx = -k .. k, every padded row
    for k in range(1, max(half for _, half in rows) + 1):
        spans.append(combine(combine(spans[-1], padded[:, radius - k : radius - k + width]),
                             padded[:, radius + k : radius + k + width]))
    result = None
    for dy, half in rows:
        shifted = spans[half][radius + dy : radius + dy + height]
        result = shifted.copy() if result is None else combine(result, shifted, out=result)
    return result


def _resize(ink: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize float ink with area averaging when shrinking (MNIST's anti-aliasing) and bicubic when growing."""
    source = Image.fromarray(ink.astype(np.float32, copy=False))
    shrinking = width <= ink.shape[1] and height <= ink.shape[0]
    resized = source.resize((width, height), Image.Resampling.BOX if shrinking else Image.Resampling.BICUBIC)
    # np.minimum/np.maximum: np.clip's answer (NaN aside, which a resize never makes), without its overhead.
    return np.minimum(np.maximum(np.asarray(resized, dtype=np.float32), 0.0), 1.0)


def normalize_stroke(ink: np.ndarray, scale: float) -> np.ndarray:
    """Thicken strokes too thin for MNIST, thin strokes too thick, at working scale.

    Args:
        ink: the cropped drawing at working resolution.
        scale: working pixels per pixel of the final 20 px box.
    """
    return _normalized(ink, stroke_width(ink) / scale, scale)


def _normalized(ink: np.ndarray, width: float, scale: float) -> np.ndarray:
    """``ink`` with its strokes (``width`` final pixels wide) brought into MNIST's band."""
    if THINNEST_STROKE <= width <= THICKEST_STROKE or width == 0.0:
        return ink
    radius = int(round(abs(MNIST_STROKE_WIDTH - width) * scale / 2))
    if radius == 0:
        return ink
    if width < THINNEST_STROKE:
        return _morphology(ink, radius, thicken=True)
    # Erode only as far as it keeps every stroke: never below MNIST's median.
    eroded = _morphology(ink, radius, thicken=False)
    return eroded if (eroded >= 0.5).any() else ink


@functools.lru_cache(maxsize=256)
def _indices(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    rows, columns = np.indices((height, width))
    rows.flags.writeable = columns.flags.writeable = False
    return rows, columns


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre."""
    total = image.sum()
    rows, columns = _indices(*image.shape)
    return float((rows * image).sum() / total), float((columns * image).sum() / total)


def _empty() -> Prepared:
    return Prepared(image=np.zeros((FIELD_SIZE, FIELD_SIZE), dtype=np.uint8), empty=True)


def to_mnist(ink: Image.Image | Ink) -> Prepared:
    """Ink of any size (an 8-bit image, 255 = ink, or an ``Ink``) -> MNIST format.

    Crop to the ink's bounding box, scale the longer side to 20 px keeping the
    aspect ratio, bring the stroke width into MNIST's range, and place the
    result in a 28x28 field with its centre of mass at the centre.

    Only the crop is ever turned from grey levels into ink, and the stroke
    width is measured on the 8-bit working image; the result is the same,
    pixel for pixel, as doing each step on the whole float image.
    """
    if isinstance(ink, Image.Image):
        grey = ink if ink.mode == "L" else ink.convert("L")
        ink = Ink(grey, IDENTITY, np.asarray(grey))
    box = ink.box()
    if box is None:
        return _empty()
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    extent = max(width, height)
    image_side = max(ink.grey.size)
    if extent < SPECK_FRACTION * image_side or extent < 2:
        return _empty()
    crop = ink.crop(box)
    if is_tap(crop, image_side):
        return _empty()

    # Work at 4x the final size, where one working pixel is a quarter of a
    # final pixel: stroke width can be adjusted finely and cheaply there.
    factor = WORK_SIZE / extent
    work_width, work_height = max(1, round(width * factor)), max(1, round(height * factor))
    filter_ = Image.Resampling.BOX if factor <= 1 else Image.Resampling.BICUBIC
    work_levels = np.asarray(crop.resize((work_width, work_height), filter_))
    work = work_levels.astype(np.float32) / 255.0
    work = _normalized(work, _stroke_width(work_levels >= HALF_INK_LEVEL) / WORK_SCALE, WORK_SCALE)

    box_width, box_height = max(1, round(work_width / WORK_SCALE)), max(1, round(work_height / WORK_SCALE))
    digit = _resize(work, box_width, box_height)
    peak = digit.max()
    if peak <= 0:
        return _empty()
    # A faint or very thin drawing still gets full-strength ink, as MNIST's had.
    digit = np.minimum(digit / peak, 1.0)  # >= 0 already (_resize)

    # MNIST's centres of mass sit at pixel (14, 14): mean 13.99, 14.00.
    row, column = center_of_mass(digit)
    centre = FIELD_SIZE // 2
    top = min(max(round(centre - row), 0), FIELD_SIZE - box_height)
    left = min(max(round(centre - column), 0), FIELD_SIZE - box_width)
    field = np.zeros((FIELD_SIZE, FIELD_SIZE), dtype=np.uint8)
    field[top : top + box_height, left : left + box_width] = np.round(digit * 255)
    return Prepared(image=field, empty=False)


def prepare(
    data: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    max_bytes: int = DEFAULT_MAX_DECODED_BYTES,
) -> Prepared:
    """PNG bytes -> MNIST-format 28x28 image; the whole pipeline.

    Raises:
        PreprocessError: the bytes are not an acceptable PNG.
    """
    return to_mnist(ink_levels(decode_png(data, max_pixels=max_pixels, max_side=max_side, max_bytes=max_bytes)))


# Truncated files are errors, never silently padded images.
ImageFile.LOAD_TRUNCATED_IMAGES = False


def __getattr__(name: str):
    """``fit_to_input`` moved to ``webapp.model`` (it adapts a drawing to a network); code written
    before the move still finds it here. Imported on use: this module stays free of LiteRT."""
    if name == "fit_to_input":
        from webapp.model import fit_to_input

        return fit_to_input
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
