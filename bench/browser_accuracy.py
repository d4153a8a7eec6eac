"""make eval (part 2): digits drawn with the mouse on the real page in Chromium, read through the whole app.

Each drawing (train/drawings.py: style, size, place, slant, rotation, wobble at
random) is drawn with Playwright's mouse on the pad of `/`, the page sends its
PNG, and the digit the page shows when `data-state` turns `done` is compared
with the label. Empty or `?` counts as wrong.

    python -m bench.browser_accuracy [--drawings 300]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from bench.server import gunicorn, wait_ready
from tests.browser import draw_with_mouse, pad_box, wait_done
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from train.drawings import random_drawing

VIEWPORTS = [{"width": 1280, "height": 900}, {"width": 390, "height": 844}, {"width": 900, "height": 700}]


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(prog="python -m bench.browser_accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
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
        browser.close()
    print(f"drawn with the mouse in Chromium: {right / args.drawings:.2%} read right ({right}/{args.drawings})")
    for width, (good, total) in per_pad.items():
        print(f"  pad {width} px wide: {good}/{total}")
    for (digit, style, shown), count in misread.most_common():
        print(f"  {digit} (style {style}) read as {shown}: {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
