"""CPU cost of reading hostile and largest-accepted PNGs, beside the PNG the page sends. Prints figures.

Each file goes through ``webapp.preprocess.prepare`` (decode, ink, MNIST
format) in this process; the figure is CPU time (``time.process_time``), the
best and the worst of a few runs, so other work on the machine moves it less
than wall time. The last lines decode the bombs with Pillow directly, as the
server did before it dropped ancillary chunks: the cost it no longer pays.

    python -m bench.png_cost [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import struct
import time
import zlib

import numpy as np
from PIL import Image

from bench.load import page_png
from webapp.preprocess import DEFAULT_MAX_DECODED_BYTES, PNG_SIGNATURE, PreprocessError, prepare


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, channels: int, interlace: bool = False) -> bytes:
    """A PNG whose rows are noise under the Paeth filter: the dearest rows to unfilter."""
    rng = np.random.default_rng(0)
    bytes_per_pixel = channels * bit_depth // 8
    # Adam7 passes hold the same pixels in 7 smaller images; their rows cost the same per byte.
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    shapes = [
        ((width - column + step_x - 1) // step_x, (height - row + step_y - 1) // step_y)
        for column, row, step_x, step_y in passes
    ] if interlace else [(width, height)]
    rows = []
    for pass_width, pass_height in shapes:
        if pass_width and pass_height:
            row = b"\x04" + rng.integers(0, 256, pass_width * bytes_per_pixel, dtype=np.uint8).tobytes()
            rows.append(row * pass_height)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, int(interlace))
    return (PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
            + chunk(b"IEND", b""))


def with_chunks(png: bytes, extra: bytes) -> bytes:
    """``png`` with ``extra`` chunks right after its header."""
    return png[:33] + extra + png[33:]


def iccp_bomb(size: int = 4 * 1024 * 1024 - 4096) -> bytes:
    """A 4 MiB PNG of ~4,000 iCCP chunks each inflating to 1 MiB (issue 10, finding 6)."""
    plain = page_png()
    profile = chunk(b"iCCP", b"bomb\x00\x00" + zlib.compress(b"\x00" * 1024 * 1024, 9))
    return with_chunks(plain, profile * ((size - len(plain)) // len(profile)))


def cases() -> list[tuple[str, bytes]]:
    side_grey16 = int((DEFAULT_MAX_DECODED_BYTES // 2) ** 0.5)
    side_rgba = int((DEFAULT_MAX_DECODED_BYTES // 4) ** 0.5)
    side_rgba16 = int((DEFAULT_MAX_DECODED_BYTES // 8) ** 0.5)
    return [
        ("the page's PNG (280x280 grey): baseline", page_png()),
        ("grey 2048x2048, interlaced", raw_png(2048, 2048, 8, 0, 1, interlace=True)),
        (f"grey 16-bit {side_grey16}x{side_grey16}, interlaced",
         raw_png(side_grey16, side_grey16, 16, 0, 1, interlace=True)),
        (f"grey+alpha {side_grey16}x{side_grey16}, interlaced",
         raw_png(side_grey16, side_grey16, 8, 4, 2, interlace=True)),
        (f"RGBA {side_rgba}x{side_rgba}, interlaced", raw_png(side_rgba, side_rgba, 8, 6, 4, interlace=True)),
        (f"RGBA 16-bit {side_rgba16}x{side_rgba16}, interlaced",
         raw_png(side_rgba16, side_rgba16, 16, 6, 4, interlace=True)),
        ("4,096 chunks (the most accepted), all but 3 empty tEXt",
         with_chunks(page_png(), chunk(b"tEXt", b"a\x00") * (4096 - 3 - page_png().count(b"IDAT")))),
        ("iCCP bomb, 4 MiB (4,000 x 1 MiB profiles)", iccp_bomb()),
        ("zTXt bomb (inflates to 64 MiB)",
         with_chunks(page_png(), chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\x00" * 64 * 2**20, 9)))),
        ("refused: RGBA 16-bit 2048x2048 (32 MiB of pixels)", raw_png(2048, 2048, 16, 6, 4)),
    ]


def cpu_ms(function, repeat: int) -> tuple[float, float, str]:
    times, outcome = [], "read"
    for _ in range(repeat):
        started = time.process_time()
        try:
            function()
        except PreprocessError as error:
            outcome = error.code
        times.append((time.process_time() - started) * 1000)
    return min(times), max(times), outcome


def pillow_alone(data: bytes) -> None:
    image = Image.open(io.BytesIO(data), formats=["PNG"])
    image.load()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.png_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print("CPU time of prepare() per PNG (ms, best-worst of %d runs)" % args.repeat)
    for name, data in cases():
        best, worst, outcome = cpu_ms(lambda data=data: prepare(data), args.repeat)
        print(f"  {name:<52} {len(data) / 1024:8.0f} KiB {best:7.1f}-{worst:<7.1f} {outcome}")
    print("\nbefore: the same bombs opened by Pillow directly, every chunk included (1 run)")
    for name, data in cases()[-3:-2]:
        best, _, _ = cpu_ms(lambda data=data: pillow_alone(data), 1)
        print(f"  {name:<52} {len(data) / 1024:8.0f} KiB {best:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
