"""make eval (part 2): digits drawn with the mouse and with a finger on the real page in Chromium, read through the whole app.

Each drawing (train/drawings.py: style, size, place, slant, rotation, wobble at
random) is drawn with Playwright's mouse on the pad of `/`, the page sends its
PNG, and the digit the page shows when `data-state` turns `done` is compared
with the label. Empty or `?` counts as wrong.

Then at phone sizes (360, 390, 430 px wide, a touch screen) the same drawings
are drawn twice, at a finger's pace so that live readings arrive mid-stroke:
once with real touch events, once with the mouse. The finger aims at the screen
where the pad was when it came down, as a person's does: a pad that moves under
it spoils the drawing.

    python -m bench.browser_accuracy [--drawings 300] [--phone-drawings 20]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from bench.server import gunicorn, wait_ready
from tests.browser import draw_with_mouse, draw_with_touch, pad_box, wait_done
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from train.drawings import random_drawing

VIEWPORTS = [{"width": 1280, "height": 900}, {"width": 390, "height": 844}, {"width": 900, "height": 700}]
PHONES = [{"width": 360, "height": 740}, {"width": 390, "height": 844}, {"width": 430, "height": 932}]
FINGER_PAUSE_MS = 15  # between two samples of a stroke: about a finger's pace


def draw_slowly_with_mouse(page, strokes, box: dict) -> None:
    """The mouse at the finger's pace, for a fair comparison with touch."""
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.wait_for_timeout(FINGER_PAUSE_MS)
            page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.up()
        page.wait_for_timeout(10 * FINGER_PAUSE_MS)


def phone_figures(browser, port: int, count: int, seed: int) -> dict[int, dict[str, int]]:
    """Digits read right per phone width, drawn by touch and by mouse: {width: {"touch": n, "mouse": n}}."""
    figures = {}
    for viewport in PHONES:
        tally = {"touch": 0, "mouse": 0}
        for way in tally:
            rng = np.random.default_rng(seed)  # the same drawings both ways
            context = browser.new_context(viewport=viewport, has_touch=way == "touch", is_mobile=way == "touch")
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("[data-testid=probabilities] li")
            box = pad_box(page)
            for number in range(count):
                digit = number % 10
                drawing = random_drawing(rng, digit, canvas_size=round(box["width"]))
                if way == "touch":
                    draw_with_touch(page, drawing.strokes, box, pause_ms=FINGER_PAUSE_MS)
                else:
                    draw_slowly_with_mouse(page, drawing.strokes, box)
                tally[way] += wait_done(page) == str(digit)
                page.click("[data-testid=clear]")
                wait_done(page)
            context.close()
        figures[viewport["width"]] = tally
    return figures


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.browser_accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--phone-drawings", type=int, default=20, help="per phone width and way of drawing (0: none)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    right = 0
    misread: Counter = Counter()
    per_pad: dict[int, list[int]] = {}
    with gunicorn(1) as (port, _), sync_playwright() as playwright:
        wait_ready(port, 1)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for index, viewport in enumerate(VIEWPORTS):
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("[data-testid=probabilities] li")
            box = pad_box(page)
            tally = per_pad.setdefault(round(box["width"]), [0, 0])
            count = args.drawings // len(VIEWPORTS) + (index < args.drawings % len(VIEWPORTS))
            for number in range(count):
                digit = number % 10
                drawing = random_drawing(rng, digit, canvas_size=round(box["width"]))
                draw_with_mouse(page, drawing.strokes, box)
                shown = wait_done(page)
                tally[1] += 1
                if shown == str(digit):
                    right += 1
                    tally[0] += 1
                else:
                    misread[(digit, drawing.style, shown or "empty")] += 1
                page.click("[data-testid=clear]")
                wait_done(page)
            context.close()
        phones = phone_figures(browser, port, args.phone_drawings, args.seed) if args.phone_drawings else {}
        browser.close()
    print(f"drawn with the mouse in Chromium: {right / args.drawings:.2%} read right ({right}/{args.drawings})")
    for width, (good, total) in per_pad.items():
        print(f"  pad {width} px wide: {good}/{total}")
    for (digit, style, shown), count in misread.most_common():
        print(f"  {digit} (style {style}) read as {shown}: {count}")
    if phones:
        print(f"at phone sizes, drawn at a finger's pace ({args.phone_drawings} drawings per width, the same both ways):")
        for width, tally in phones.items():
            print(f"  {width} px wide: by touch {tally['touch']}/{args.phone_drawings}, by mouse {tally['mouse']}/{args.phone_drawings}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
