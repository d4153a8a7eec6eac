"""The drawing page in Chromium: draw with mouse and finger, live reading, undo/clear, stale answers, server down."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from tests.browser import digit_strokes, draw_with_mouse, draw_with_pen, draw_with_touch, pad_box, wait_done
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

PREDICTION = "[data-testid=prediction]"


def open_pad(page, live_server):
    page.goto(live_server + "/")
    page.wait_for_selector("[data-testid=probabilities] li")
    return pad_box(page)


@pytest.mark.parametrize("digit", range(10))
def test_drawn_digit_is_read(page, live_server, digit):
    box = open_pad(page, live_server)
    drawing = digit_strokes(digit, box["width"], seed=100 + digit)
    draw_with_mouse(page, drawing.strokes, box)
    assert wait_done(page) == str(digit)
    bars = page.locator("[data-testid=probabilities] li")
    assert bars.count() == 10
    assert page.locator("[data-testid=probabilities] li.top").get_attribute("data-digit") == str(digit)
    # The 28x28 image the model saw is painted: some cells are bright.
    bright = page.evaluate(
        """() => {
            const canvas = document.querySelector('[data-testid=model-input]');
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let count = 0;
            for (let index = 0; index < pixels.length; index += 4) if (pixels[index] > 200) count += 1;
            return count;
        }"""
    )
    assert bright > 500
    assert page.console_errors == []


def test_state_is_pending_while_a_reading_is_in_flight(page, live_server):
    box = open_pad(page, live_server)
    assert page.locator(PREDICTION).get_attribute("data-state") == "done"
    assert page.locator(PREDICTION).text_content().strip() == ""
    page.route("**/api/predict?*", lambda route: (time.sleep(0.6), route.continue_()))
    draw_with_mouse(page, digit_strokes(7, box["width"], seed=1).strokes, box)
    assert page.locator(PREDICTION).get_attribute("data-state") == "pending"
    assert wait_done(page) == "7"


def test_undo_and_clear(page, live_server):
    box = open_pad(page, live_server)
    four = digit_strokes(4, box["width"], seed=3, style=0)  # two strokes
    draw_with_mouse(page, four.strokes, box)
    assert wait_done(page) == "4"
    page.click("[data-testid=undo]")
    after_undo = wait_done(page)
    assert after_undo != "4"  # one stroke of a 4 is not a 4
    page.keyboard.press("Control+z")
    assert wait_done(page) == ""
    assert page.locator("[data-testid=undo]").is_disabled()

    draw_with_mouse(page, four.strokes, box)
    assert wait_done(page) == "4"
    page.click("[data-testid=clear]")
    assert wait_done(page) == ""
    assert page.locator("[data-testid=probabilities] li.top").count() == 0
    assert "Draw a digit" in page.locator("[data-testid=status]").text_content()

    draw_with_mouse(page, four.strokes, box)
    assert wait_done(page) == "4"
    page.keyboard.press("Escape")
    assert wait_done(page) == ""


def test_touch_drawing_reads_and_does_not_scroll(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 700}, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(live_server + "/")
        page.wait_for_selector("[data-testid=probabilities] li")
        kinds = page.evaluate_handle(
            """() => { const kinds = []; document.querySelector('[data-testid=pad]')
                .addEventListener('pointerdown', (event) => kinds.push(event.pointerType)); return kinds; }"""
        )
        box = pad_box(page)
        scroll_before = page.evaluate("window.scrollY")
        # A downward stroke on a scrollable page would scroll it if touch-action allowed it.
        draw_with_touch(page, digit_strokes(1, box["width"], seed=5, style=0).strokes, box)
        assert wait_done(page) == "1"
        assert page.evaluate("window.scrollY") == scroll_before
        assert "touch" in kinds.json_value()
    finally:
        context.close()


def test_only_the_latest_drawing_answer_is_shown(page, live_server):
    """The first reading is held back and says 1; the finished drawing's answer must win and stay."""
    box = open_pad(page, live_server)
    held = []
    stale = {"digit": 1, "probabilities": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0], "confidence": 1.0, "reason": None,
             "input": [[0] * 28 for _ in range(28)]}

    def handle(route):
        if not held:
            held.append(route)  # the first reading gets no answer yet ...
        else:
            route.continue_()

    page.route("**/api/predict?*", handle)
    four = digit_strokes(4, box["width"], seed=3, style=0)  # two strokes
    draw_with_mouse(page, four.strokes, box)
    assert wait_done(page) == "4"
    try:  # ... and answers after the newer one, unless the page aborted it
        held[0].fulfill(status=200, content_type="application/json", body=json.dumps(stale))
    except Exception:  # noqa: BLE001 - aborted: what should happen
        pass
    page.wait_for_timeout(500)
    assert page.locator(PREDICTION).text_content().strip() == "4"
    assert page.locator(PREDICTION).get_attribute("data-state") == "done"


def test_server_down_shows_a_message_and_the_next_stroke_retries(page, live_server):
    box = open_pad(page, live_server)
    page.route("**/api/predict?*", lambda route: route.abort("connectionrefused"))
    drawing = digit_strokes(3, box["width"], seed=9)
    draw_with_mouse(page, drawing.strokes, box)
    wait_done(page)
    status = page.locator("[data-testid=status]")
    assert status.get_attribute("data-kind") == "error"
    assert "cannot be reached" in status.text_content()
    page.unroute("**/api/predict?*")
    page.click("[data-testid=clear]")
    draw_with_mouse(page, drawing.strokes, box)
    assert wait_done(page) == "3"
    assert status.get_attribute("data-kind") != "error"
    assert [error for error in page.console_errors if "ERR_CONNECTION_REFUSED" not in error] == []


def test_server_error_message_is_shown(page, live_server):
    box = open_pad(page, live_server)
    # A code the page has no words of its own for: it shows the API's message.
    body = json.dumps({"error": {"code": "something-new", "message": "The server failed."}})
    page.route("**/api/predict?*", lambda route: route.fulfill(status=500, content_type="application/json", body=body))
    draw_with_mouse(page, digit_strokes(2, box["width"], seed=10).strokes, box)
    wait_done(page)
    assert "The server failed." in page.locator("[data-testid=status]").text_content()


def test_buttons_work_from_the_keyboard(page, live_server):
    box = open_pad(page, live_server)
    draw_with_mouse(page, digit_strokes(5, box["width"], seed=11).strokes, box)
    assert wait_done(page) == "5"
    page.focus("[data-testid=clear]")
    page.keyboard.press("Enter")
    assert wait_done(page) == ""


def test_layers_link_carries_the_drawing(page, live_server):
    box = open_pad(page, live_server)
    draw_with_mouse(page, digit_strokes(6, box["width"], seed=12).strokes, box)
    assert wait_done(page) == "6"
    page.click("#to-layers")
    page.wait_for_url("**/layers?**")
    assert "d=" in page.url  # the drawing travels in the URL ...
    stored = page.evaluate("JSON.parse(localStorage.getItem('digit-lens.drawing'))")
    assert len(stored) >= 1 and all(0 <= value <= 1 for stroke in stored for point in stroke for value in point)
    assert wait_done(page) == "6"  # ... and the layers page reads it


@pytest.mark.parametrize(
    ("name", "viewport", "scheme"),
    [("desktop", {"width": 1280, "height": 860}, "light"), ("phone", {"width": 390, "height": 844}, "dark")],
)
def test_screenshots(browser, live_server, name, viewport, scheme):
    """Screenshots for a person to look at (screenshots/), of a page that has read a digit."""
    context = browser.new_context(viewport=viewport, color_scheme=scheme, device_scale_factor=2 if name == "phone" else 1)
    page = context.new_page()
    try:
        box = open_pad(page, live_server)
        draw_with_mouse(page, digit_strokes(2, box["width"], seed=21).strokes, box)
        assert wait_done(page) == "2"
        # The reading is in view on both sizes without scrolling past the pad.
        assert page.locator(PREDICTION).is_visible()
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"draw-{name}.png"), full_page=True)
    finally:
        context.close()


def test_page_sends_an_8_bit_grey_png_of_fixed_size(page, live_server):
    import io

    from PIL import Image

    bodies = []
    page.route("**/api/predict?*", lambda route: (bodies.append(route.request.post_data_buffer), route.continue_()))
    box = open_pad(page, live_server)
    draw_with_mouse(page, digit_strokes(9, box["width"], seed=13).strokes, box)
    assert wait_done(page) == "9"
    image = Image.open(io.BytesIO(bodies[-1]))
    image.load()
    assert image.format == "PNG" and image.mode == "L" and image.size == (280, 280)
    assert image.getextrema() == (0, 255)  # black ink on white


def test_pen_drawing_reads(page, live_server):
    kinds = []
    box = open_pad(page, live_server)
    page.expose_function("reportPointer", lambda kind: kinds.append(kind))
    page.evaluate("document.querySelector('[data-testid=pad]').addEventListener('pointerdown', (e) => reportPointer(e.pointerType))")
    draw_with_pen(page, digit_strokes(7, box["width"], seed=14, style=0).strokes, box)
    assert wait_done(page) == "7"
    assert kinds and set(kinds) == {"pen"}


def test_pad_is_sharp_on_high_dpi_screens(browser, live_server):
    context = browser.new_context(viewport={"width": 800, "height": 900}, device_scale_factor=3)
    page = context.new_page()
    try:
        page.goto(live_server + "/")
        page.wait_for_selector("[data-testid=probabilities] li")
        backing, css = page.evaluate(
            """() => { const pad = document.querySelector('[data-testid=pad]');
                       return [pad.width, pad.getBoundingClientRect().width]; }"""
        )
        assert abs(backing - 3 * css) <= 1  # one canvas pixel per device pixel
    finally:
        context.close()


@pytest.mark.parametrize("name", ["A", "dash", "hash"])
def test_a_drawn_non_digit_says_so(page, live_server, name):
    """A letter, a dash, a symbol: no digit shown, and words a learner understands about why."""
    from train.drawings import NON_DIGITS, shaped_drawing

    box = open_pad(page, live_server)
    drawing = shaped_drawing(np.random.default_rng(1), NON_DIGITS[name][1], canvas_size=round(box["width"]))
    draw_with_mouse(page, drawing.strokes, box)
    assert wait_done(page) == "?"
    assert page.locator(PREDICTION).get_attribute("data-reason") == "not-a-digit"
    status = page.locator("[data-testid=status]").text_content()
    assert "does not look like a digit" in status
    assert "always picks one" in page.locator("[data-testid=explanation]").text_content()
    # The network's own ten probabilities are still drawn.
    assert page.locator("[data-testid=probabilities] li.top").count() == 1
    if name == "A":
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, "draw-not-a-digit.png"), full_page=True)
    assert page.console_errors == []


def test_a_tap_is_nothing_to_read(page, live_server):
    box = open_pad(page, live_server)
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.6)
    assert wait_done(page) == "?"
    assert page.locator(PREDICTION).get_attribute("data-reason") == "empty"
