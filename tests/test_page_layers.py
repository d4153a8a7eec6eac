"""The layers page in Chromium: opens on the drawing from /, every band painted, hover, zoom, its own pad."""

from __future__ import annotations

import math
import os

import pytest

from tests.browser import digit_strokes, draw_with_mouse, pad_box, wait_done
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

LAYERS = ["input", "rescale", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2",
          "flatten", "dense1", "relu3", "dropout", "logits", "softmax"]

# For each band: how many of its canvases show more than one colour, and how many bars have a width.
BAND_CONTENT = """() => [...document.querySelectorAll('#bands .band')].map((band) => {
    const canvases = [...band.querySelectorAll('canvas')];
    const painted = canvases.filter((canvas) => {
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        const colours = new Set();
        for (let index = 0; index < data.length; index += 4) colours.add(data[index] * 65536 + data[index + 1] * 256 + data[index + 2]);
        return colours.size > 1;
    }).length;
    const bars = [...band.querySelectorAll('.digit-bar-fill')].filter((fill) => fill.getBoundingClientRect().width > 0.5).length;
    return {name: band.dataset.testid.replace('band-', ''), canvases: canvases.length, painted, bars,
            text: band.querySelector('.band-text').textContent};
})"""


def open_layers_with(page, live_server, digit: int, seed: int):
    page.goto(live_server + "/")
    page.wait_for_selector("[data-testid=probabilities] li")
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(digit, box["width"], seed=seed).strokes, box)
    assert wait_done(page) == str(digit)
    page.click("#to-layers")
    page.wait_for_url("**/layers?**")
    page.wait_for_selector("#bands:not([hidden]) .band")
    assert wait_done(page) == str(digit)


def test_every_band_renders_the_carried_drawing(page, live_server):
    open_layers_with(page, live_server, 3, seed=31)
    bands = page.evaluate(BAND_CONTENT)
    assert [band["name"] for band in bands] == LAYERS
    for band in bands:
        if band["name"] in ("logits", "softmax"):
            assert band["bars"] >= 1, band
        else:
            assert band["canvases"] >= 1 and band["painted"] >= 1, band
    by_name = {band["name"]: band for band in bands}
    assert by_name["conv1"]["canvases"] == 32 and by_name["pool1"]["canvases"] == 64  # pooled beside its source
    # The explanations carry the layer's real numbers.
    assert "(28 − 5 + 2·2) / 1 + 1 = 28" in by_name["conv1"]["text"]
    assert "832" in by_name["conv1"]["text"]
    # One filter slides everywhere: the count is the filter's weights, not the image's pixels.
    assert "Weight sharing: each filter is one set of 5·5·1 weights" in by_name["conv1"]["text"]
    assert "32 the number of output channels" in by_name["conv1"]["text"]
    assert "(28 − 2) / 2 + 1 = 14" in by_name["pool1"]["text"]
    assert "401,664" in by_name["dense1"]["text"]
    assert page.console_errors == []


def test_hover_shows_a_value_and_its_receptive_field(page, live_server):
    answers = []
    page.on("response", lambda response: answers.append(response) if "/api/features" in response.url else None)
    open_layers_with(page, live_server, 7, seed=32)
    target = page.locator("[data-testid=band-conv2] canvas.map").nth(5)
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    tooltip = page.locator("#tooltip")
    tooltip.wait_for(state="visible")
    text = tooltip.locator(".tooltip-text").text_content()
    assert text.startswith("conv2 · map #5 · row 7, column 7: ≈ ")
    # An 8-bit value is shown with no more decimals than its step supports (never 4 significant figures of it).
    shown = text.rsplit("≈ ", 1)[1]
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    conv2 = next(layer for layer in answers[-1].json()["layers"] if layer["name"] == "conv2")
    step = (conv2["max"][5] - conv2["min"][5]) / 255
    assert decimals == max(0, math.ceil(-math.log10(step)))
    float(shown.replace("−", "-"))
    # conv2 cell (7, 7) sees input rows 2*7-6 .. 2*7+7.
    assert "rows 8–21, columns 8–21" in tooltip.locator(".tooltip-field").text_content()


def test_flatten_tooltip_names_the_pooled_cell_it_came_from(page, live_server):
    open_layers_with(page, live_server, 7, seed=32)
    strip = page.locator("[data-testid=band-flatten] canvas.strip")
    strip.scroll_into_view_if_needed()
    box = strip.bounding_box()
    columns = int(strip.get_attribute("data-columns"))
    # Entry 65 of the flatten: row 1 of the strip, column 1.
    page.mouse.move(box["x"] + (1.5 / columns) * box["width"], box["y"] + 1.5 * box["width"] / columns)
    tooltip = page.locator("#tooltip")
    tooltip.wait_for(state="visible")
    text = tooltip.locator(".tooltip-text").text_content()
    assert text.startswith("flatten · unit 65: ≈ ")
    # 65 = (row 0 * 7 + column 2) * 32 + map 1: a pool2 cell with a 16x16 receptive field, not "the whole input".
    assert "= pool2, row 0, column 2, map #1" in text
    field = tooltip.locator(".tooltip-field").text_content()
    assert "whole input" not in field and "rows 0–9, columns 2–17" in field


def test_the_panel_enlarges_a_map_beside_its_filter(page, live_server):
    open_layers_with(page, live_server, 5, seed=33)
    target = page.locator("[data-testid=band-relu1] canvas.map").nth(2)
    target.scroll_into_view_if_needed()
    target.click()
    panel = page.locator("[data-testid=explain]")
    panel.locator(".explain-enlarge").click()
    dialog = page.locator("#zoom")
    dialog.wait_for(state="visible")
    assert dialog.locator(".zoom-title").text_content() == "relu1, map #2"
    caption = dialog.locator(".zoom-caption").first.text_content()
    assert "Filter #2 of conv1: 5×5 weights" in caption and "reward ink" in caption
    # conv1's filter as 25 numbers on their colours, with a colour key.
    weights = dialog.locator(".weights-grid td")
    assert weights.count() == 25
    float(weights.first.text_content().replace("−", "-"))
    assert dialog.locator(".kernel-legend").count() == 1
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    target = page.locator("[data-testid=band-pool2] canvas.map.after").nth(0)
    target.scroll_into_view_if_needed()
    target.click()
    page.wait_for_selector("[data-testid=explain][data-layer=pool2][data-state=done]")
    panel.locator(".explain-enlarge").click()
    dialog.wait_for(state="visible")
    # conv2 reads feature maps, not ink: its caption says so; 32 labelled tiles, one set of numbers at a time.
    caption = dialog.locator(".zoom-caption").first.text_content()
    assert "not the ink" in caption and "reward ink" not in caption
    tiles = dialog.locator(".kernel-tile")
    assert tiles.count() == 32 and tiles.nth(31).text_content().strip() == "#31"
    tiles.nth(7).click()
    assert dialog.locator(".kernel-numbers .zoom-caption").text_content() == "Weights on input map #7:"
    assert dialog.locator(".kernel-numbers .weights-grid td").count() == 25


def test_its_own_pad_reads_a_new_drawing(page, live_server):
    open_layers_with(page, live_server, 1, seed=34)
    page.click("[data-testid=clear]")
    assert wait_done(page) == ""
    # The last drawing's bands stay, dimmed, so the page does not collapse under the reader.
    assert page.locator("#bands").is_visible()
    assert page.locator("#bands").get_attribute("data-stale") == "true"
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(8, box["width"], seed=35).strokes, box)
    assert wait_done(page) == "8"
    assert page.locator("#bands").get_attribute("data-stale") is None
    top = page.locator("[data-testid=band-softmax] .digit-bar.top .digit-bar-label").text_content()
    assert top == "8"


def test_scale_toggle_repaints(page, live_server):
    open_layers_with(page, live_server, 2, seed=36)
    legend = page.locator("[data-testid=band-conv1] .legend .legend-value").first
    assert legend.text_content() == "−max"
    page.check("input[name=scale][value=layer]")
    value = float(legend.text_content().replace("−", "-"))
    assert value < 0


@pytest.mark.parametrize(
    ("name", "viewport", "scheme"),
    [("desktop", {"width": 1280, "height": 900}, "light"), ("phone", {"width": 390, "height": 844}, "dark")],
)
def test_screenshots(browser, live_server, name, viewport, scheme):
    """Screenshots for a person to look at (screenshots/)."""
    context = browser.new_context(viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    try:
        open_layers_with(page, live_server, 4, seed=37)
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"layers-{name}.png"), full_page=True)
        # Maps stay legible on a phone: at least 40 css px each.
        width = page.locator("[data-testid=band-conv1] canvas.map").first.bounding_box()["width"]
        assert width >= 40
    finally:
        context.close()


def test_maps_are_reachable_by_keyboard(page, live_server):
    open_layers_with(page, live_server, 0, seed=38)
    tab_stops = page.evaluate("document.querySelectorAll('[data-testid=band-conv1] canvas.map[tabindex=\"0\"]').length")
    assert tab_stops == 1  # one stop per band, not 32
    first = page.locator("[data-testid=band-conv1] canvas.map").first
    first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.channel") == "2"
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=explain][data-layer=conv1][data-at='14,14,2'][data-state=done]")


def test_a_non_digit_still_shows_every_layer_and_the_lesson(page, live_server):
    """The layers page on a letter: every band painted, the softmax still picks a digit, and the page says why."""
    import numpy as np

    from train.drawings import NON_DIGITS, shaped_drawing

    page.goto(live_server + "/layers")
    box = pad_box(page)
    drawing = shaped_drawing(np.random.default_rng(2), NON_DIGITS["H"][1], canvas_size=round(box["width"]))
    draw_with_mouse(page, drawing.strokes, box)
    assert wait_done(page) == "?"
    page.wait_for_selector("#bands:not([hidden]) .band")
    bands = page.evaluate(BAND_CONTENT)
    assert [band["name"] for band in bands] == LAYERS
    assert {band["name"]: band for band in bands}["softmax"]["bars"] >= 1
    status = page.locator("[data-testid=status]").text_content()
    assert status.startswith("Not a digit.") and "always picks one of them, unless it is taught otherwise" in status
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "layers-not-a-digit.png"))
    assert page.console_errors == []
