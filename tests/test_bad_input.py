"""Anything a client may send: a clear 4xx JSON error or a correct reading, and the worker keeps serving."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tests import pngs
from train.drawings import random_drawing, render
from webapp import preprocess


@pytest.fixture(scope="module")
def seven() -> np.ndarray:
    """A drawn 7: 8-bit grey, white ink on black, 280x280."""
    rgba = Image.open(io.BytesIO(render(random_drawing(np.random.default_rng(1), 7), "light-on-dark")))
    return np.asarray(rgba.convert("L"))


@pytest.fixture(scope="module")
def reference(app, seven) -> list[list[int]]:
    """The model input for the plain PNG of the 7."""
    answer = app.test_client().post("/api/predict", data=pngs.grey_png(seven), content_type="image/png").get_json()
    return answer["input"]


def post_png(client, data: bytes):
    return client.post("/api/predict", data=data, content_type="image/png")


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json and "Traceback" not in response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]


def assert_still_serving(client, seven) -> None:
    response = post_png(client, pngs.grey_png(seven))
    assert response.status_code == 200 and response.get_json()["input"]


def close_to(first, second) -> bool:
    difference = np.abs(np.array(first, dtype=float) - np.array(second, dtype=float))
    return difference.mean() < 3.0


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda seven: b"", 400, "empty-image"),
        (lambda seven: bytes(range(256)) * 40, 415, "unsupported-image-format"),
        (lambda seven: pngs.SIGNATURE, 400, "invalid-image"),
        (lambda seven: pngs.encoded(seven, "GIF"), 415, "unsupported-image-format"),
        (lambda seven: pngs.encoded(seven, "JPEG"), 415, "unsupported-image-format"),
        (lambda seven: pngs.encoded(seven, "TIFF"), 415, "unsupported-image-format"),
        (lambda seven: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nshowpage\n", 415, "unsupported-image-format"),
        (lambda seven: pngs.grey_png(seven)[:-40], 400, "invalid-image"),
        (lambda seven: pngs.grey_png(seven)[:60], 400, "invalid-image"),
        (lambda seven: pngs.huge_header_png(), 413, "image-too-large"),
        (lambda seven: pngs.huge_header_png(100, 10**6), 413, "image-too-large"),
        (lambda seven: pngs.huge_header_png(2048, 2048), 413, "image-too-large"),  # 32 MiB of RGBA pixels
    ],
    ids=[
        "empty", "garbage", "signature-only", "gif", "jpeg", "tiff", "eps", "truncated-end", "truncated-data",
        "decompression-bomb", "one-tall-bomb", "too-many-bytes-of-pixels",
    ],
)
def test_bad_images_are_refused(client, seven, make, status, code):
    assert_error(post_png(client, make(seven)), status, code)
    assert_still_serving(client, seven)


def test_bad_crc_is_refused(client, seven):
    data = bytearray(pngs.grey_png(seven))
    data[29] ^= 0xFF  # the IHDR checksum
    assert_error(post_png(client, bytes(data)), 400, "invalid-image")


@pytest.mark.parametrize(
    "make",
    [
        lambda seven: pngs.grey_png(seven, interlace=True),
        lambda seven: pngs.encoded(np.stack([np.zeros_like(seven), seven], axis=-1), "PNG"),  # grey + alpha
        lambda seven: pngs.encoded((seven.astype(np.uint16) * 257), "PNG"),  # 16-bit grey
        lambda seven: pngs.encoded(np.stack([seven] * 3 + [np.full_like(seven, 255)], axis=-1), "PNG"),
        lambda seven: pngs.encoded(np.stack([255 - seven] * 3, axis=-1), "PNG"),  # RGB, dark on light
        lambda seven: pngs.animated_png([seven, np.zeros_like(seven)]),  # APNG: the first frame is read
    ],
    ids=["interlaced", "grey-alpha", "16-bit", "rgba-opaque", "rgb-inverted", "animated"],
)
def test_valid_png_variants_are_read_like_the_plain_one(client, seven, reference, make):
    response = post_png(client, make(seven))
    assert response.status_code == 200
    assert close_to(response.get_json()["input"], reference)


def text_chunk(kind: bytes, keyword: bytes, text: bytes) -> bytes:
    if kind == b"zTXt":
        return pngs.chunk(kind, keyword + b"\x00\x00" + zlib.compress(text))
    if kind == b"iTXt":
        return pngs.chunk(kind, keyword + b"\x00\x00\x00\x00\x00" + text)
    return pngs.chunk(kind, keyword + b"\x00" + text)


@pytest.mark.parametrize(
    "make",
    [
        # A text chunk called "transparency" once landed where tRNS's value belongs.
        lambda seven: pngs.grey_png(seven, before_data=(text_chunk(b"tEXt", b"transparency", b"0"),)),
        lambda seven: pngs.grey_png(seven, before_data=(text_chunk(b"zTXt", b"transparency", b"0"),)),
        lambda seven: pngs.grey_png(seven, before_data=(text_chunk(b"iTXt", b"transparency", b"0"),)),
        lambda seven: pngs.grey_png(seven, after_data=(text_chunk(b"tEXt", b"transparency", b"0"),)),
        # A colour profile after the image data, holding a name and nothing else.
        lambda seven: pngs.grey_png(seven, after_data=(pngs.chunk(b"iCCP", b"p\x00"),)),
        lambda seven: pngs.text_bomb_png(seven),  # a zTXt that inflates to 64 MiB
        lambda seven: pngs.icc_bomb_png(seven),  # 4 MiB of iCCP chunks, each inflating to 1 MiB
        lambda seven: pngs.grey_png(seven, before_data=(pngs.chunk(b"tRNS", b"\x00"),)),  # wrong length for grey
        lambda seven: pngs.grey_png(seven)[:-12],  # no IEND
        lambda seven: pngs.grey_png(seven) + b"trailing junk",
    ],
    ids=[
        "text-transparency", "ztxt-transparency", "itxt-transparency", "text-after-data", "iccp-after-data",
        "ztxt-bomb", "iccp-bomb", "short-trns", "no-iend", "trailing-junk",
    ],
)
@pytest.mark.parametrize("path", ["/api/predict", "/api/features"])
def test_odd_and_hostile_ancillary_chunks_are_ignored(client, seven, reference, make, path):
    response = client.post(path, data=make(seven), content_type="image/png")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert close_to(response.get_json()["input"], reference)


@pytest.mark.parametrize("entries", [5, 256, 1000])
@pytest.mark.parametrize("path", ["/api/predict", "/api/features"])
def test_palette_transparency_longer_than_the_palette_is_cut_to_it(client, seven, reference, entries, path):
    opaque = pngs.palette_png(seven, b"\xff" * entries)  # 4 colours, all opaque, and then more entries
    response = client.post(path, data=opaque, content_type="image/png")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert close_to(response.get_json()["input"], reference)


def test_the_decoder_sees_only_the_chunks_that_make_the_image(seven):
    """What keeps a 4 MiB PNG cheap: nothing but the image data is ever inflated (see make bench for the CPU time)."""
    bomb = pngs.icc_bomb_png(seven)
    kept = preprocess.decoder_chunks(bomb)
    kinds = []
    position = 8
    while position < len(kept):
        length, kind = struct.unpack(">I4s", kept[position : position + 8])
        kinds.append(kind)
        position += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
    assert "icc_profile" not in preprocess.decode_png(bomb).info


def test_too_many_chunks_are_refused(client, seven):
    empty_chunks = (pngs.chunk(b"tEXt", b"a\x00"),) * 5000
    assert_error(post_png(client, pngs.grey_png(seven, before_data=empty_chunks)), 400, "invalid-image")
    assert_still_serving(client, seven)


def test_palette_with_transparency_is_read(client, seven, reference):
    image = Image.fromarray(seven).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    darkest = int(np.argmin(np.asarray(image.getpalette()[0::3])[:16]))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=darkest)  # the black background is transparent
    response = post_png(client, buffer.getvalue())
    assert response.status_code == 200
    assert close_to(response.get_json()["input"], reference)


@pytest.mark.parametrize("shape", [(1, 1), (1, 60), (60, 1), (2, 300)], ids=["1x1", "1x60", "60x1", "2x300"])
@pytest.mark.parametrize("value", [0, 255])
def test_degenerate_sizes_answer(client, seven, shape, value):
    pixels = np.full(shape, value, dtype=np.uint8)
    pixels[:, : max(1, shape[1] // 2)] = 255 - value
    response = post_png(client, pngs.grey_png(pixels))
    assert response.status_code == 200
    answer = response.get_json()
    assert len(answer["input"]) == 28 and abs(sum(answer["probabilities"]) - 1) < 1e-6
    assert_still_serving(client, seven)


def test_too_many_multipart_parts(client, seven):
    fields = {f"field{index}": "x" for index in range(40)}
    fields["image"] = (io.BytesIO(pngs.grey_png(seven)), "digit.png")
    response = client.post("/api/predict", data=fields, content_type="multipart/form-data")
    assert_error(response, 413, "payload-too-large")
    assert_still_serving(client, seven)


def test_huge_multipart_text_field(client, seven):
    fields = {"note": "x" * (200 * 1024), "image": (io.BytesIO(pngs.grey_png(seven)), "digit.png")}
    response = client.post("/api/predict", data=fields, content_type="multipart/form-data")
    assert_error(response, 413, "payload-too-large")


@pytest.mark.parametrize(
    "body",
    [b"[" * 100000 + b"]" * 100000, b'{"image": ' * 50000 + b"1" + b"}" * 50000, b"\xff\xfe{", b'{"image": "x"'],
    ids=["nested-arrays", "nested-objects", "bad-utf8", "unterminated"],
)
def test_malformed_json(client, seven, body):
    response = client.post("/api/predict", data=body, content_type="application/json")
    assert_error(response, 400, "invalid-json")
    assert_still_serving(client, seven)


@pytest.mark.parametrize(
    "content_type",
    ["image/jpeg", "image/gif", "text/html", "application/octet-stream", "application/x-www-form-urlencoded"],
)
def test_wrong_content_type(client, seven, content_type):
    response = client.post("/api/predict", data=pngs.grey_png(seven), content_type=content_type)
    assert_error(response, 415, "unsupported-media-type")
