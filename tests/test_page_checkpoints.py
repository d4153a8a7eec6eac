"""The training time-lapse in Chromium: the checkpoint slider moves the maps and the reading (mouse, touch, keyboard;
English and Japanese), play steps through the training, the URL carries the checkpoint, /record marks it."""

from __future__ import annotations

import json
import os

import pytest

from tests.browser import digit_strokes, draw_with_mouse, pad_box, wait_done
from tests.conftest import SCREENSHOTS
from webapp.artifacts import ARTIFACTS, CARD_FILE

pytestmark = pytest.mark.browser

MODEL = "lenet"  # small, fast to read at any checkpoint

# A fingerprint of every conv1 map's pixels: changes whenever the maps do.
CONV1_PIXELS = """() => [...document.querySelectorAll('[data-testid=band-conv1] canvas.map')].map((canvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0;
    for (let index = 0; index < data.length; index += 4) sum = (sum * 31 + data[index] + 7 * data[index + 1]) % 1000000007;
    return sum;
}).join(',')"""

LABELS = {"en": ("untrained", "read right"), "ja": ("未学習", "正しく")}


def open_layers_drawing(page, live_server, lang: str, digit: int = 3):
    page.goto(f"{live_server}/layers?model={MODEL}&lang={lang}")
    page.wait_for_selector("[data-testid=checkpoints]:not([hidden])")
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(digit, box["width"], seed=40 + digit).strokes, box)
    assert wait_done(page) == str(digit)
    page.wait_for_selector("#bands:not([hidden]) [data-testid=band-conv1] canvas.map")


def move_and_wait(page, move, checkpoint: str | None):
    """Move the slider with ``move()`` and wait for the layers read at ``checkpoint`` (None: final)."""
    def wanted(response):
        if "/api/features" not in response.url:
            return False
        return (f"checkpoint={checkpoint}" in response.url) if checkpoint else ("checkpoint=" not in response.url)

    with page.expect_response(wanted):
        move()
    wait_done(page)
    page.wait_for_timeout(100)  # the maps are painted right after the answer


def slider_point(page, fraction: float) -> tuple[float, float]:
    """Where on screen the slider's thumb stands at ``fraction`` of its track (scrolled into view first, as a user
    would: on /layers the slider sits below the drawing in the side panel)."""
    slider = page.locator("[data-testid=checkpoint]")
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    return box["x"] + 8 + (box["width"] - 16) * fraction, box["y"] + box["height"] / 2


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("way", ["mouse", "touch", "keyboard"])
def test_the_slider_moves_the_maps_and_the_reading(browser, live_server, lang, way):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, has_touch=way == "touch")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_layers_drawing(page, live_server, lang)
    slider = page.locator("[data-testid=checkpoint]")
    last = int(slider.get_attribute("max"))
    assert last >= 4 and slider.input_value() == str(last)  # final: the network served
    served_maps, served_reading = page.evaluate(CONV1_PIXELS), page.locator("[data-testid=prediction]").text_content()

    def to_start():
        if way == "mouse":
            page.mouse.click(*slider_point(page, 0.0))
        elif way == "touch":
            page.touchscreen.tap(*slider_point(page, 0.0))
        else:
            slider.focus()
            page.keyboard.press("Home")

    def to_end():
        if way == "mouse":
            page.mouse.click(*slider_point(page, 1.0))
        elif way == "touch":
            page.touchscreen.tap(*slider_point(page, 1.0))
        else:
            page.keyboard.press("End")

    move_and_wait(page, to_start, "step-0")
    assert slider.input_value() == "0"
    assert "checkpoint=step-0" in page.url
    label = page.locator("[data-testid=checkpoint-label]").text_content()
    assert all(word in label for word in LABELS[lang]), label
    untrained_maps = page.evaluate(CONV1_PIXELS)
    assert untrained_maps != served_maps
    # Untrained, the network is about as sure of every digit: it reads nothing.
    assert page.locator("[data-testid=prediction]").text_content() in ("?", "")

    if way == "keyboard":  # one step on: the first early checkpoint
        move_and_wait(page, lambda: page.keyboard.press("ArrowRight"), "step-10")
        assert slider.input_value() == "1"
        assert page.evaluate(CONV1_PIXELS) not in (untrained_maps, served_maps)

    move_and_wait(page, to_end, None)
    assert "checkpoint=" not in page.url
    assert page.evaluate(CONV1_PIXELS) == served_maps
    assert page.locator("[data-testid=prediction]").text_content() == served_reading
    assert errors == []
    context.close()


def test_play_steps_through_the_training_and_a_copied_url_opens_the_same_checkpoint(page, live_server):
    open_layers_drawing(page, live_server, "en", digit=7)
    page.click("[data-testid=checkpoint-play]")  # at the end: starts again from step-0
    page.wait_for_function("() => Number(document.querySelector('[data-testid=checkpoint]').value) >= 2", timeout=15_000)
    assert page.get_attribute("[data-testid=checkpoint-play]", "aria-pressed") == "true"
    page.click("[data-testid=checkpoint-play]")
    assert page.get_attribute("[data-testid=checkpoint-play]", "aria-pressed") == "false"
    wait_done(page)
    value = page.locator("[data-testid=checkpoint]").input_value()
    url, reading = page.url, page.locator("[data-testid=prediction]").text_content()
    assert "checkpoint=" in url and "d=" in url

    page.goto(url)
    page.wait_for_selector("[data-testid=checkpoints]:not([hidden])")
    assert wait_done(page) == reading
    assert page.locator("[data-testid=checkpoint]").input_value() == value
    assert page.console_errors == []


def test_the_record_page_marks_the_checkpoint_and_shows_its_confusion(page, live_server):
    page.goto(f"{live_server}/record?model={MODEL}&checkpoint=step-0")
    page.wait_for_selector("[data-testid=checkpoint-record]:not([hidden]) [data-testid=checkpoint-marker]")
    text = page.locator("[data-testid=checkpoint-accuracy]").text_content()
    assert text.startswith("untrained")
    confusion = page.locator("[data-testid=checkpoint-confusion] tbody tr")
    assert confusion.count() == 10
    slider = page.locator("[data-testid=checkpoint]")
    slider.focus()
    page.keyboard.press("End")
    page.wait_for_function("() => document.querySelector('[data-testid=checkpoint-record]').dataset.checkpoint === 'final'")
    assert "checkpoint=" not in page.url
    assert page.locator("[data-testid=checkpoint-accuracy]").text_content().startswith("the network served")
    assert page.console_errors == []


# Every axis label and the "final" flag of /record's curve, with the points they stand under.
CURVE = """() => {
    const svg = document.querySelector('[data-testid=checkpoint-record] svg');
    const at = (node) => Number(node.getAttribute('x') ?? node.getAttribute('cx'));
    const points = Object.fromEntries([...svg.querySelectorAll('circle.point')].map((dot) => [dot.dataset.checkpoint, at(dot)]));
    const labels = [...svg.querySelectorAll('text[data-checkpoint]:not([data-testid])')]
      .map((label) => ({ checkpoint: label.dataset.checkpoint, x: at(label), text: label.textContent }));
    const served = svg.querySelector('[data-testid=checkpoint-served]');
    return { points, labels, served: { checkpoint: served.dataset.checkpoint, x: at(served), text: served.textContent },
             marker: at(svg.querySelector('[data-testid=checkpoint-marker]')) };
}"""


@pytest.mark.parametrize("model, lang", [("digit-lens", "en"), ("digit-lens", "ja"), ("keras-mnist", "en"),
                                         ("lenet", "en"), ("simple-convnet", "en"), ("torch-net", "en")])
def test_the_record_curve_labels_each_epoch_under_its_point_and_flags_the_served_one(page, live_server, model, lang):
    """The axis is the training's order: each label under its own epoch's point, the last epoch labelled, and
    "final" not a point after the last epoch but the flag on the epoch whose weights are served (digit-lens
    serves its best epoch on validation, the card's best_epoch)."""
    entries = page.request.get(f"{live_server}/api/checkpoints?model={model}").json()["checkpoints"]
    final = entries[-1]
    assert final["name"] == "final"
    page.goto(f"{live_server}/record?model={model}&lang={lang}")
    page.wait_for_selector("[data-testid=checkpoint-record]:not([hidden]) [data-testid=checkpoint-marker]")
    curve = page.evaluate(CURVE)
    trained = [entry for entry in entries if entry["name"] != "final"]
    assert list(curve["points"]) == [entry["name"] for entry in trained]  # 'final' is not a point of its own
    epochs = {entry["name"]: entry["epoch"] for entry in trained}
    xs = [label["x"] for label in curve["labels"]]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    for label in curve["labels"]:
        assert label["x"] == curve["points"][label["checkpoint"]], label
        assert float(label["text"]) == epochs[label["checkpoint"]], label
    assert curve["labels"][-1]["checkpoint"] == trained[-1]["name"]  # the last epoch is labelled
    # The served network: the trained checkpoint of final's step and accuracy; the marker (at final) is there.
    served = [entry for entry in trained if (entry["step"], entry["accuracy"]) == (final["step"], final["accuracy"])]
    assert served and curve["served"]["checkpoint"] == served[-1]["name"]
    assert curve["served"]["x"] == curve["points"][served[-1]["name"]] == curve["marker"]
    assert curve["served"]["text"] == {"en": "final", "ja": "最終"}[lang]
    # The flag sits on the epoch the card says was kept (digit-lens: its best on validation; the seeds: their last).
    training = json.loads((ARTIFACTS / model / CARD_FILE).read_text())["training"]
    assert served[-1]["epoch"] == training.get("best_epoch", training["epochs"])
    if served[-1]["epoch"] < trained[-1]["epoch"]:  # trained on past the kept epoch: the flag is before the end
        assert curve["served"]["x"] < curve["points"][trained[-1]["name"]]
    assert page.console_errors == []


VIEWPORTS = {
    "wide": {"width": 1920, "height": 1080},
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("size", list(VIEWPORTS))
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots(browser, live_server, lang, size, scheme):
    context = browser.new_context(viewport=VIEWPORTS[size], color_scheme=scheme, has_touch=size == "phone")
    page = context.new_page()
    page.goto(f"{live_server}/layers?model={MODEL}&lang={lang}&checkpoint=step-50")
    page.wait_for_selector("[data-testid=checkpoints]:not([hidden])")
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(4, box["width"], seed=44).strokes, box)
    wait_done(page)
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.locator("[data-testid=checkpoints]").scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(SCREENSHOTS, f"checkpoints-layers-{lang}-{size}-{scheme}.png"))
    page.goto(f"{live_server}/?model={MODEL}&lang={lang}&checkpoint=epoch-1")
    page.wait_for_selector("[data-testid=checkpoints]:not([hidden])")
    page.screenshot(path=os.path.join(SCREENSHOTS, f"checkpoints-draw-{lang}-{size}-{scheme}.png"), full_page=True)
    page.goto(f"{live_server}/record?model={MODEL}&lang={lang}&checkpoint=step-10")
    page.wait_for_selector("[data-testid=checkpoint-marker]")
    page.locator("[data-testid=checkpoint-record]").scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(SCREENSHOTS, f"checkpoints-record-{lang}-{size}-{scheme}.png"))
    context.close()
