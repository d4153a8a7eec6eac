"""Hand-made PNG files: interlaced, with odd chunks, bombs. Pillow cannot write some of these."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Adam7 passes: (first column, first row, column step, row step).
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def grey_png(
    pixels: np.ndarray, interlace: bool = False, before_data: tuple[bytes, ...] = (), after_data: tuple[bytes, ...] = ()
) -> bytes:
    """An 8-bit greyscale PNG of ``pixels`` (uint8, rows x columns), optionally Adam7-interlaced,
    with extra chunks before and after its image data."""
    height, width = pixels.shape
    if interlace:
        rows = []
        for column0, row0, column_step, row_step in ADAM7:
            sub = pixels[row0::row_step, column0::column_step]
            if sub.size:
                rows.extend(b"\x00" + row.tobytes() for row in sub)
        raw = b"".join(rows)
    else:
        raw = b"".join(b"\x00" + row.tobytes() for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 1 if interlace else 0)
    return (
        SIGNATURE
        + chunk(b"IHDR", header)
        + b"".join(before_data)
        + chunk(b"IDAT", zlib.compress(raw))
        + b"".join(after_data)
        + chunk(b"IEND", b"")
    )


def huge_header_png(width: int = 60000, height: int = 60000) -> bytes:
    """A valid PNG header declaring a huge image, with a few bytes of data: a decompression bomb's shape."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")


def text_bomb_png(pixels: np.ndarray, inflated_size: int = 64 * 1024 * 1024) -> bytes:
    """A small valid PNG with a zTXt chunk that inflates to ``inflated_size`` bytes."""
    bomb = chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\x00" * inflated_size, 9))
    return grey_png(pixels, before_data=(bomb,))


def encoded(pixels: np.ndarray, format_: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format_, **options)
    return buffer.getvalue()


def animated_png(frames: list[np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    images = [Image.fromarray(frame) for frame in frames]
    images[0].save(buffer, "PNG", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buffer.getvalue()


def icc_bomb_png(pixels: np.ndarray, file_size: int = 4 * 1024 * 1024 - 4096) -> bytes:
    """A PNG of ``pixels`` filled up to ``file_size`` bytes with iCCP chunks that each inflate to 1 MiB."""
    profile = chunk(b"iCCP", b"bomb\x00\x00" + zlib.compress(b"\x00" * 1024 * 1024, 9))
    plain = grey_png(pixels)
    return grey_png(pixels, before_data=(profile,) * ((file_size - len(plain)) // len(profile)))


def palette_png(pixels: np.ndarray, transparency: bytes) -> bytes:
    """A 4-colour palette PNG of ``pixels`` with the tRNS chunk ``transparency``, whatever its length."""
    image = Image.fromarray(pixels).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    data = buffer.getvalue()
    at = data.index(b"IDAT") - 4
    return data[:at] + chunk(b"tRNS", transparency) + data[at:]
