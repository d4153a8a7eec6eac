"""Every page keeps its styles at every width: phone, laptop, classroom projector.

A `@media (max-width: 979px) {` once left open made every rule after it apply only below
980 px: at 1024 px and wider the record page had no layout (its learning curves were huge
black filled shapes), the network chooser was a 19 px native select and the strip of
networks a numbered list. Each page is opened here at 390, 1024, 1280 and 1920 px and its
computed styles checked; the screenshots (both languages, light and dark) are for a person.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

WIDTHS = [390, 1024, 1280, 1920]
PAGES = {"draw": "/", "layers": "/layers", "why": "/why", "playground": "/playground", "record": "/record?model=digit-lens"}
# The panel each page is built of: a styled card (a background, a border, rounded corners, padding).
PANELS = {"draw": ".pad-panel", "layers": ".lens-panel", "why": ".lens-panel", "playground": ".pg-controls", "record": ".record-panel"}

STYLE_OF = """(selector) => {
  const node = document.querySelector(selector);
  if (!node) return null;
  const style = getComputedStyle(node);
  const box = node.getBoundingClientRect();
  return {radius: parseFloat(style.borderTopLeftRadius), padding: parseFloat(style.paddingTop),
          border: parseFloat(style.borderTopWidth), display: style.display, listStyle: style.listStyleType,
          fill: style.fill, fontSize: parseFloat(style.fontSize), height: box.height, width: box.width};
}"""


def open_page(browser, live_server, path: str, width: int, language: str = "en", scheme: str = "light"):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    separator = "&" if "?" in path else "?"
    page.goto(f"{live_server}{path}{separator}lang={language}")
    page.wait_for_load_state("networkidle")
    return context, page


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_every_page_is_styled_at_every_width(browser, live_server, name, width):
    context, page = open_page(browser, live_server, PAGES[name], width)
    try:
        panel = page.evaluate(STYLE_OF, PANELS[name])
        assert panel["radius"] >= 8 and panel["padding"] >= 12 and panel["border"] >= 1, panel
        # No page is wider than the window (nothing runs off to the right).
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        if name in ("draw", "layers", "why"):
            chooser = page.evaluate(STYLE_OF, "[data-testid=model-select]")
            assert chooser["height"] >= 36, chooser  # a chooser of normal height, not a 19 px native select
            assert chooser["radius"] >= 6, chooser
        if name == "draw":
            strip = page.evaluate(STYLE_OF, "[data-testid=compare]")
            assert strip["display"] == "grid" and strip["listStyle"] == "none", strip
        if name == "record":
            nav = page.evaluate(STYLE_OF, ".network-nav a")
            assert nav["radius"] >= 8 and nav["padding"] > 0, nav  # links as chips, not running together
            curves = page.evaluate(
                "() => [...document.querySelectorAll('.chart polyline.curve')].map((line) => getComputedStyle(line).fill)"
            )
            assert curves and set(curves) == {"none"}, curves  # lines, not filled shapes
            tick = page.evaluate(STYLE_OF, ".chart .tick")
            assert tick["fontSize"] <= 14, tick
            chart = page.evaluate(STYLE_OF, ".chart svg")
            assert chart["width"] <= 700, chart  # two charts side by side or one a column wide, never the window
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("width", [390, 1280, 1920])
def test_screenshots(browser, live_server, width, language, scheme):
    """Screenshots of every page for a person to look at (screenshots/layout-<page>-<width>-<lang>-<scheme>.png)."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    for name, path in PAGES.items():
        context, page = open_page(browser, live_server, path, width, language, scheme)
        try:
            if name == "draw":
                page.locator("[data-testid=example]").first.click()
                page.wait_for_selector("[data-testid=prediction][data-state=done]:not(:empty)")
            page.screenshot(path=os.path.join(SCREENSHOTS, f"layout-{name}-{width}-{language}-{scheme}.png"), full_page=True)
        finally:
            context.close()


HEADER_ROWS = """() => {
  const header = document.querySelector('.site-header');
  const tops = [...header.children].filter((child) => child.getBoundingClientRect().height > 0)
    .map((child) => { const box = child.getBoundingClientRect(); return box.top + box.height / 2; });
  const rows = [];
  for (const middle of tops.sort((a, b) => a - b)) if (!rows.length || middle - rows[rows.length - 1] > 12) rows.push(middle);
  return {rows: rows.length, overflow: header.scrollWidth - header.clientWidth,
          page: document.documentElement.scrollWidth, width: header.getBoundingClientRect().width};
}"""


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("width", [390, 620, 1280, 1920])  # 620: English's seven links once ran 58 px off a small tablet
@pytest.mark.parametrize("name", [*PAGES, "learn", "classroom"])
def test_the_header_is_one_row_from_1280_px(browser, live_server, name, width, language):
    """The header's brand, pages, network chooser and language on one row at 1280 px and wider (they
    once wrapped onto two at 1280 in English); on a phone, rows as needed but nothing wider than the screen."""
    path = {"learn": "/learn", "classroom": "/classroom"}.get(name) or PAGES[name]
    context, page = open_page(browser, live_server, path, width, language)
    try:
        header = page.evaluate(HEADER_ROWS)
        assert header["overflow"] <= 0 and header["page"] <= width, header
        if width >= 1280:
            assert header["rows"] == 1, header
        if language == "ja":  # the seven Japanese page links on one row on a phone (クラス once wrapped alone)
            tops = page.evaluate("() => [...document.querySelectorAll('.site-header nav:not(.language) a')]"
                                 ".map((link) => Math.round(link.getBoundingClientRect().top))")
            assert len(set(tops)) == 1, tops
    finally:
        context.close()


COMPARE_NAMES = """() => [...document.querySelectorAll('[data-testid=compare] li')].map((tile) => {
  const name = tile.querySelector('.compare-name');
  const text = document.createRange();
  text.selectNodeContents(name);
  const lines = new Set([...text.getClientRects()].map((rect) => Math.round(rect.top)));
  const button = tile.querySelector('button').getBoundingClientRect();
  const box = text.getBoundingClientRect();
  return {name: name.textContent, lines: lines.size, whole: name.scrollWidth <= name.clientWidth,
          inside: box.left >= button.left && box.right <= button.right, width: Math.round(button.width)};
})"""


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("width", [390, 768, 1024, 1280, 1920])
def test_every_network_s_name_in_the_comparison_is_one_line(browser, live_server, width, language):
    """The tiles of every network's reading on the drawing page: each name on one line, whole, inside its tile
    (at 1024 px 'simple-convnet' broke after its hyphen in a 124 px tile), and no page wider than the window."""
    context, page = open_page(browser, live_server, "/", width, language)
    try:
        tiles = page.evaluate(COMPARE_NAMES)
        assert sorted(tile["name"] for tile in tiles) == ["digit-lens", "keras-mnist", "lenet", "simple-convnet", "torch-net"]
        for tile in tiles:
            assert tile["lines"] == 1 and tile["whole"] and tile["inside"], (width, tile)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
