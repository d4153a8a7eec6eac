"""Helpers for driving the pages like a person: draw digits with the mouse or a finger."""

from __future__ import annotations

import numpy as np

from train.drawings import Drawing, random_drawing


def pad_box(page, selector: str = "[data-testid=pad]") -> dict:
    page.locator(selector).scroll_into_view_if_needed()
    return page.locator(selector).bounding_box()


def digit_strokes(digit: int, size: float, seed: int, style: int | None = None) -> Drawing:
    """A random drawing of ``digit`` in pad pixels (see train/drawings.py)."""
    return random_drawing(np.random.default_rng(seed), digit, canvas_size=round(size), style=style)


def draw_with_mouse(page, strokes, box: dict, steps_per_segment: int = 1) -> None:
    """Draw ``strokes`` (pad pixels) with the mouse, one press per stroke."""
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=steps_per_segment)
        page.mouse.up()


def draw_with_touch(page, strokes, box: dict, pause_ms: float = 0, hold=None) -> None:
    """Draw ``strokes`` with a finger: real touch input through the DevTools protocol.

    The finger goes where ``box`` (the pad's box before drawing) says, as a real finger aims at
    the screen, not at the pad: if the pad moves meanwhile, the stroke lands elsewhere on it.
    ``pause_ms`` between moves draws slowly, so live readings arrive while the finger is down.
    ``hold``, when given, is called with the finger down a third and two thirds of the way along
    each stroke of six points or more, as a hesitating finger rests there: a test waits in it for
    a live reading, so that readings arrive mid-stroke however busy the machine is.
    """
    session = page.context.new_cdp_session(page)
    for stroke in strokes:
        points = [{"x": box["x"] + x, "y": box["y"] + y} for x, y in stroke]
        rests = {len(points) // 3, 2 * len(points) // 3} if hold is not None and len(points) >= 6 else set()
        session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [points[0]]})
        for index, point in enumerate(points[1:], start=1):
            if index in rests:
                hold()
            if pause_ms:
                page.wait_for_timeout(pause_ms)
            session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        if pause_ms:
            page.wait_for_timeout(10 * pause_ms)  # the finger lifts and comes down again
    session.detach()


def wait_done(page, timeout: float = 10_000) -> str:
    """Wait until the answer for the latest stroke is shown; return the predicted text."""
    page.wait_for_selector("[data-testid=prediction][data-state=done]", timeout=timeout)
    return page.locator("[data-testid=prediction]").text_content().strip()


def draw_with_pen(page, strokes, box: dict) -> None:
    """Draw ``strokes`` with a pen (stylus): mouse events of pointer type "pen" through the DevTools protocol."""
    session = page.context.new_cdp_session(page)

    def send(kind: str, x: float, y: float, buttons: int) -> None:
        session.send(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": box["x"] + x, "y": box["y"] + y, "button": "left", "buttons": buttons,
             "clickCount": 1, "pointerType": "pen", "force": 0.5},
        )

    for stroke in strokes:
        send("mousePressed", *stroke[0], 1)
        for x, y in stroke[1:]:
            send("mouseMoved", x, y, 1)
        send("mouseReleased", *stroke[-1], 0)
    session.detach()
