"""Generated inputs by the thousand: no input may crash the decoder or the app (no 5xx), and the API keeps its OpenAPI description."""

from __future__ import annotations

import io

import numpy as np
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests import pngs
from webapp.preprocess import PreprocessError, prepare

def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,  # every run explores afresh; failures print their reproducing example
    )
SEED_PNG = pngs.grey_png(np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1)))


def prepare_or_refuse(data: bytes) -> None:
    """The decoder's contract: a 28x28 uint8 image, or a PreprocessError with an API slug."""
    try:
        prepared = prepare(data)
    except PreprocessError as error:
        assert error.code in {"invalid-image", "image-too-large", "unsupported-image-format"}
        return
    assert prepared.image.shape == (28, 28) and prepared.image.dtype == np.uint8


@fuzz(1500)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data):
    prepare_or_refuse(data)
    prepare_or_refuse(pngs.SIGNATURE + data)


@fuzz(2000)
@given(st.data())
def test_mutated_pngs(data):
    """A valid PNG with bytes flipped, cut, inserted or removed: corrupt headers, chunks and streams."""
    raw = bytearray(SEED_PNG)
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "delete", "huge"]))
        if action == "flip":
            raw[position] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del raw[position:]
        elif action == "insert":
            raw[position:position] = data.draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del raw[position : position + data.draw(st.integers(1, 16))]
        else:
            raw[position : position + 4] = b"\xff\xff\xff\x7f"
        if not raw:
            raw = bytearray(b"\x00")
    prepare_or_refuse(bytes(raw))


@fuzz(300)
@given(
    st.sampled_from(["L", "LA", "RGB", "RGBA", "P", "1", "I;16"]),
    st.integers(1, 90),
    st.integers(1, 90),
    st.integers(0, 2**32 - 1),
)
def test_any_valid_png_reads(mode, width, height, seed):
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65535, (height, width), dtype=np.uint16))
    else:
        channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "P": 1, "1": 1}[mode]
        pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8).squeeze(-1) if channels == 1 else \
            rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
        image = Image.fromarray(pixels).convert(mode) if mode in ("P", "1") else Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    prepared = prepare(buffer.getvalue())
    assert prepared.image.shape == (28, 28)


@fuzz(600)
@given(
    body=st.one_of(st.binary(max_size=2048), st.just(SEED_PNG), st.text(max_size=300).map(str.encode)),
    content_type=st.sampled_from(
        ["image/png", "application/json", "multipart/form-data", "multipart/form-data; boundary=x", "text/plain", "",
         "application/json; charset=utf-16", "image/png; charset=binary"]
    ),
    path=st.sampled_from(["/api/predict", "/api/features", "/api/explain?layer=conv2&at=3,4,5"]),
)
def test_endpoints_never_answer_5xx(client, body, content_type, path):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post(path, data=body, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) == {"code", "message"}


def check_against_openapi(schema, examples: int, headers: dict | None = None) -> None:
    """Generate requests for every operation of ``schema`` and check each answer against it."""
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{operation.method.upper()} {operation.path}" for operation in operations} >= {
        "POST /api/predict", "POST /api/features", "POST /api/explain", "GET /api/kernels", "GET /api/models",
        "GET /healthz", "GET /readyz",
    }
    for operation in operations:

        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):
            # A schema-valid body need not be a PNG (the schema cannot say "a valid PNG"), so
            # refusing one is right: every other check applies, not-a-server-error first.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()


def test_app_matches_its_openapi_description(app):
    """Schemathesis against the WSGI app, in process: many examples, fast."""
    # The in-process WSGI client does not undo gzip (a client over HTTP does): ask for the identity encoding.
    check_against_openapi(
        schemathesis.openapi.from_wsgi("/api/openapi.json", app), examples=120, headers={"Accept-Encoding": "identity"}
    )


def test_gunicorn_server_matches_its_openapi_description(live_server):
    """Schemathesis against the real server over HTTP, with the shipped model."""
    check_against_openapi(schemathesis.openapi.from_url(live_server + "/api/openapi.json"), examples=40)
