"""Unit tests of the URL's drawing code (static/js/lib/strokecode.js and share.js), run in Chromium."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

IMPORT = "const code = await import('/static/js/lib/strokecode.js'); const share = await import('/static/js/lib/share.js');"


@pytest.fixture()
def module_page(page, live_server):
    page.goto(live_server + "/")
    page.wait_for_selector("[data-testid=probabilities] li")
    return page


def run(page, body: str, argument=None):
    return page.evaluate(f"async (argument) => {{ {IMPORT} {body} }}", argument)


def test_round_trip_gives_back_the_snapped_drawing(module_page):
    """Random drawings of 1-6 strokes: decode(encode(x)) is exactly x snapped, and snapping again changes nothing."""
    result = run(
        module_page,
        """
        let seed = 12345;
        const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
        const failures = [];
        for (let trial = 0; trial < 300; trial += 1) {
          const strokes = [];
          for (let s = 0; s < 1 + Math.floor(random() * 6); s += 1) {
            const stroke = [[random(), random()]];
            for (let p = 0; p < Math.floor(random() * 120); p += 1) {
              const [x, y] = stroke[stroke.length - 1];
              stroke.push([Math.min(1, Math.max(0, x + (random() - 0.5) * 0.05)), Math.min(1, Math.max(0, y + (random() - 0.5) * 0.05))]);
            }
            strokes.push(stroke);
          }
          const snapped = code.snapStrokes(strokes);
          const text = code.encodeStrokes(strokes);
          const back = code.decodeStrokes(text);
          if (JSON.stringify(back) !== JSON.stringify(snapped)) failures.push(['round trip', trial]);
          if (JSON.stringify(code.snapStrokes(snapped)) !== JSON.stringify(snapped)) failures.push(['snap twice', trial]);
          if (code.encodeStrokes(back) !== text) failures.push(['re-encode', trial]);
          if (!/^[A-Za-z0-9_-]+$/.test(text)) failures.push(['alphabet', trial]);
          // Every drawn point lies within 1.5 grid steps of the snapped stroke (rounding plus simplifying):
          // about 2.7 px on a 460 px pad, invisible under its 25 px pen.
          const toSegment = ([px, py], [ax, ay], [bx, by]) => {
            const length2 = (bx - ax) ** 2 + (by - ay) ** 2;
            const t = length2 ? Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / length2)) : 0;
            return Math.hypot(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay)));
          };
          for (const stroke of strokes) {
            const kept = code.snapStroke(stroke);
            for (const point of stroke) {
              let nearest = Math.hypot(point[0] - kept[0][0], point[1] - kept[0][1]);
              for (let i = 1; i < kept.length; i += 1) nearest = Math.min(nearest, toSegment(point, kept[i - 1], kept[i]));
              if (nearest > 1.5 / code.GRID) failures.push(['moved', trial, nearest * code.GRID]);
            }
          }
        }
        return failures;
        """,
    )
    assert result == []


def test_a_drawn_digit_is_a_short_url(module_page):
    """A 4 of two strokes sampled every 2 px (as a mouse gives) takes well under 500 characters."""
    length = run(
        module_page,
        """
        const line = (ax, ay, bx, by, n) => Array.from({length: n + 1}, (_, i) => [ax + (bx - ax) * i / n, ay + (by - ay) * i / n]);
        const arc = Array.from({length: 150}, (_, i) => [0.5 + 0.3 * Math.sin(i / 24), 0.2 + i * 0.004]);
        return code.encodeStrokes([arc, line(0.6, 0.2, 0.6, 0.85, 150)]).length;
        """,
    )
    assert length < 120


MALFORMED = ["", "x", "!!!", "AQ", "AA", "Ag", "AQE", "AQEA", "AQH_____", "AQE=", "A%Q", "AQ.E", "AgEAAA",
             "AQP_____DwAA", "a" * 4001, "AQEA" + "A" * 7, None, 42, ["AQ"]]


def test_malformed_codes_decode_to_nothing(module_page):
    """Bad characters, padding, another version, truncation, an empty stroke, an endless varint, not a string."""
    decoded = run(module_page, "return argument.map((text) => code.decodeStrokes(text));", MALFORMED)
    assert {repr(text): value for text, value in zip(MALFORMED, decoded, strict=True) if value is not None} == {}


def test_points_off_the_pad_are_refused(module_page):
    # One stroke of one point at (255, 255), then a step of +1: off the grid.
    result = run(
        module_page,
        """
        const ok = code.encodeStrokes([[[1, 1]]]);
        const bytes = [1, 2, 0xfe, 0x03, 0xfe, 0x03, 2, 0];
        const text = btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
        return [code.decodeStrokes(ok), code.decodeStrokes(text)];
        """,
    )
    assert result == [[[[1, 1]]], None]


QUERIES = [
    ("?mnist=0", {"mnist": 0}),
    ("?mnist=9999", {"mnist": 9999}),
    ("?mnist=10000", {"invalid": True}),
    ("?mnist=-1", {"invalid": True}),
    ("?mnist=1e3", {"invalid": True}),
    ("?mnist=", {"invalid": True}),
    ("?mnist=%00", {"invalid": True}),
    ("?mnist=12&d=AQEAAA", {"mnist": 12}),
    ("?d=%%%", {"invalid": True}),
    ("?d=", {"invalid": True}),
    ("?d=AQIAAAIC", {"strokes": [[[0, 0], [1 / 255, 1 / 255]]]}),
    ("?model=lenet&lang=ja", None),
    ("", None),
]


def test_queries_give_a_picture_or_say_they_are_invalid(module_page):
    queries = [query for query, _ in QUERIES]
    found = run(module_page, "return argument.map((query) => share.pictureFromQuery(query));", queries)
    assert dict(zip(queries, found, strict=True)) == dict(QUERIES)


def test_urls_carry_network_language_and_picture(module_page):
    urls = run(
        module_page,
        """
        // A scribble too long for a request line is left out rather than making a URL the server refuses.
        const scribble = [Array.from({length: 4000}, (_, i) => [(i * 0.37) % 1, (i * 0.61) % 1])];
        return [share.urlFor('/layers', {mnist: 42}), share.urlFor('/', {strokes: [[[0, 0], [1, 1]]]}), share.urlFor('/record', null),
                share.urlFor('/', {strokes: scribble}), code.encodeStrokes(scribble).length];
        """,
    )
    assert urls[0] == "/layers?model=digit-lens&lang=en&mnist=42"
    assert urls[1].startswith("/?model=digit-lens&lang=en&d=")
    assert urls[2] == "/record"  # without a picture, only what the URL already had
    assert urls[3] == "/?model=digit-lens&lang=en" and urls[4] > 3500
