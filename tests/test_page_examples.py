"""Examples, the drawing in the URL, undoable clearing (both pages), and the record page, in Chromium."""

from __future__ import annotations

import base64
import json
import os

import numpy as np
import pytest

from tests.browser import digit_strokes, draw_with_mouse, pad_box, wait_done
from tests.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

PREDICTION = "[data-testid=prediction]"
LABEL = "[data-testid=example-label]"
PAGES = {"/": "**/api/predict*", "/layers": "**/api/features*"}


def open_page(page, live_server, path="/", query=""):
    page.goto(live_server + path + query)
    page.wait_for_selector("[data-testid=example]")
    return page


def record_bodies(page, pattern):
    """Collect the PNG bodies the page sends for readings."""
    bodies = []
    page.route(pattern, lambda route: (bodies.append(route.request.post_data_buffer), route.continue_()))
    return bodies


def tab_to(page, predicate: str, limit: int = 60):
    """Press Tab until the focused element satisfies ``predicate`` (a JS expression on `element`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const element = document.activeElement; return Boolean({predicate}); }})()"):
            return
    raise AssertionError(f"no focusable element where {predicate} within {limit} tabs")


def mnist_digit(live_server, page, index: int) -> dict:
    answer = page.request.get(f"{live_server}/api/mnist/{index}").json()
    answer["pixels"] = np.frombuffer(base64.b64decode(answer["pixels"]), dtype=np.uint8).reshape(28, 28)
    return answer


@pytest.mark.parametrize("path", ["/", "/layers"])
def test_keyboard_only_an_example_gets_a_reading(page, live_server, path):
    """Tab to the random MNIST example, press Enter: a reading, then the digit's true label."""
    open_page(page, live_server, path)
    tab_to(page, "element.dataset.testid === 'example' && element.dataset.label === undefined && element.dataset.example === 'mnist'")
    page.keyboard.press("Enter")
    page.wait_for_url("**mnist=*")
    shown = wait_done(page)
    page.wait_for_selector(f"{LABEL}:not([hidden])")
    index = int(page.url.split("mnist=")[1].split("&")[0])
    digit = mnist_digit(live_server, page, index)
    label = page.locator(LABEL)
    # A random digit: the learner guesses first, then asks for the label (Tab, Enter).
    assert label.get_attribute("data-label") is None and "Its label" not in label.text_content()
    tab_to(page, "element.dataset.testid === 'reveal-label'")
    page.keyboard.press("Enter")
    assert label.get_attribute("data-label") == str(digit["label"])
    assert f"#{index}. Its label: {digit['label']}." in label.text_content()
    assert shown in {str(value) for value in range(10)} | {"?"}
    verdict = "read it right" if shown == str(digit["label"]) else "The network"
    assert verdict in label.text_content()
    assert page.console_errors == []


def test_the_label_is_hidden_until_the_reading_arrives(page, live_server):
    open_page(page, live_server)
    released = []
    page.route("**/api/predict*", lambda route: released.append(route))
    page.click("[data-example=mnist][data-label='3']")
    page.wait_for_selector("[data-testid=prediction][data-state=pending]")
    page.wait_for_timeout(300)
    assert page.locator(LABEL).is_hidden()
    released[0].continue_()
    wait_done(page)
    page.wait_for_selector(f"{LABEL}:not([hidden])")
    assert page.locator(LABEL).get_attribute("data-label") == "3"


def test_an_mnist_digit_is_sent_as_its_own_28x28_pixels(page, live_server):
    """The pad shows MNIST's pixels, and the server receives exactly those pixels (dark on white)."""
    import io

    from PIL import Image

    open_page(page, live_server)
    bodies = record_bodies(page, "**/api/predict*")
    page.click("[data-example=mnist][data-label='7']")
    page.wait_for_url("**mnist=*")
    assert wait_done(page) in {str(value) for value in range(10)} | {"?"}
    index = int(page.url.split("mnist=")[1].split("&")[0])
    digit = mnist_digit(live_server, page, index)
    assert digit["label"] == 7
    image = Image.open(io.BytesIO(bodies[-1]))
    assert image.size == (28, 28) and image.mode == "L"
    assert np.array_equal(255 - np.asarray(image), digit["pixels"])


@pytest.mark.parametrize("digit", range(10))
def test_one_example_per_digit(page, live_server, digit):
    open_page(page, live_server)
    page.locator(f"[data-example=mnist][data-label='{digit}']").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**mnist=*")
    wait_done(page)
    page.wait_for_selector(f"{LABEL}:not([hidden])")
    assert page.locator(LABEL).get_attribute("data-label") == str(digit)


@pytest.mark.parametrize(
    ("case", "lesson"),
    [("flagged-one", "A 1 with a flag"), ("crossed-seven", "A 7 with a crossbar"), ("open-four", "A 4 open"),
     ("not-a-digit", "not a digit")],
)
def test_drawn_cases_are_read_and_explained(page, live_server, case, lesson):
    open_page(page, live_server)
    page.click(f"[data-example={case}]")
    wait_done(page)
    assert "d=" in page.url
    page.wait_for_selector(f"{LABEL}:not([hidden])")
    assert lesson in page.locator(LABEL).text_content()
    # Drawing over the case is a new drawing: its lesson goes away.
    box = pad_box(page)
    draw_with_mouse(page, [[(20, 20), (40, 40)]], box)
    wait_done(page)
    assert page.locator(LABEL).is_hidden()


@pytest.mark.parametrize("path", ["/", "/layers"])
def test_a_copied_url_gives_the_same_drawing_and_reading(browser, live_server, path):
    """Draw, copy the URL, open it in a fresh browser (no shared storage): same PNG sent, same reading."""
    first = browser.new_context(viewport={"width": 1280, "height": 900})
    second = browser.new_context(viewport={"width": 390, "height": 844})  # another pad size, too
    try:
        page = first.new_page()
        open_page(page, live_server, path)
        sent = record_bodies(page, PAGES[path])
        box = pad_box(page)
        draw_with_mouse(page, digit_strokes(2, box["width"], seed=41).strokes, box)
        assert wait_done(page) == "2"
        bars = page.locator("[data-testid=probabilities]").text_content() if path == "/" else None
        url = page.url
        assert "d=" in url and "model=digit-lens" in url and "lang=en" in url
        assert len(url) < 1000

        other = second.new_page()
        received = record_bodies(other, PAGES[path])
        other.goto(url)
        assert wait_done(other) == "2"
        assert received[-1] == sent[-1]  # the very same PNG: the same drawing at the same size
        if bars is not None:
            assert other.locator("[data-testid=probabilities]").text_content() == bars
        assert other.url == url
    finally:
        first.close()
        second.close()


def test_a_shared_mnist_url_opens_that_digit(page, live_server):
    open_page(page, live_server, "/", "?mnist=1232")
    assert wait_done(page) != ""
    page.wait_for_selector(f"{LABEL}:not([hidden])")
    assert "#1232. Its label: 9." in page.locator(LABEL).text_content()


@pytest.mark.parametrize(
    ("query", "said"),
    [("?d=%%%", True), ("?d=AQ", True), ("?d=" + "A" * 3000, True), ("?mnist=99999", True), ("?mnist=abc", True),
     ("?mnist=-4", True), ("?d=AgEAAA&model=<script>", True), ("?lang=xx&d=AQH_____", True), ("?d[]=1&mnist[]=2", False)],
)
@pytest.mark.parametrize("path", ["/", "/layers"])
def test_malformed_urls_never_break_the_page(page, live_server, path, query, said):
    open_page(page, live_server, path, query)
    assert wait_done(page) == ""
    status = page.locator("[data-testid=status]").text_content()
    assert ("could not be read" in status) == said
    # The page still works: an example gives a reading.
    page.click("[data-example=mnist][data-label='5']")
    wait_done(page)
    page.wait_for_selector(f"{LABEL}:not([hidden])")
    assert page.console_errors == []


@pytest.mark.parametrize("path", ["/", "/layers"])
@pytest.mark.parametrize("how", ["Escape", "Delete", "button"])
def test_clearing_is_undoable(page, live_server, path, how):
    open_page(page, live_server, path)
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(3, box["width"], seed=42).strokes, box)
    assert wait_done(page) == "3"
    drawn_url = page.url
    height = page.evaluate("document.documentElement.scrollHeight")
    if how == "button":
        page.click("[data-testid=clear]")
    else:
        page.keyboard.press(how)
    assert wait_done(page) == ""
    assert "d=" not in page.url
    if path == "/layers":  # the page does not collapse under the reader
        assert page.evaluate("document.documentElement.scrollHeight") == height
    assert page.locator("[data-testid=undo]").is_enabled()
    page.keyboard.press("Control+z")
    assert wait_done(page) == "3"
    assert page.url == drawn_url


def test_undo_steps_back_through_examples_and_drawing(page, live_server):
    open_page(page, live_server)
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(6, box["width"], seed=43).strokes, box)
    assert wait_done(page) == "6"
    drawn = page.url
    page.click("[data-example=mnist][data-label='0']")
    page.wait_for_url("**mnist=*")  # the digit is fetched first
    assert wait_done(page) == "0"
    page.click("[data-example=not-a-digit]")
    page.wait_for_url("**d=*")
    wait_done(page)
    page.click("[data-testid=undo]")
    assert wait_done(page) == "0" and "mnist=" in page.url
    page.click("[data-testid=undo]")
    assert wait_done(page) == "6" and page.url == drawn


def test_escape_is_left_to_dialogs_and_other_controls(page, live_server):
    open_page(page, live_server, "/layers")
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(5, box["width"], seed=44).strokes, box)
    assert wait_done(page) == "5"
    # Esc in the enlarged map's dialog closes the dialog, not the drawing.
    target = page.locator("[data-testid=band-conv1] canvas.map").first
    target.scroll_into_view_if_needed()
    target.click()
    page.locator("[data-testid=explain] .explain-enlarge").click()
    page.locator("#zoom").wait_for(state="visible")
    page.keyboard.press("Escape")
    page.locator("#zoom").wait_for(state="hidden")
    # Esc or Delete on another control (a radio button, a map in a band) leaves the pad alone.
    page.focus("input[name=scale][value=layer]")
    page.keyboard.press("Escape")
    page.keyboard.press("Delete")
    page.locator("[data-testid=band-conv1] canvas.map[tabindex='0']").focus()
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert page.locator(PREDICTION).text_content().strip() == "5"
    assert "d=" in page.url
    # Back on the pad, Esc clears.
    pad_box(page)
    page.locator("[data-testid=pad]").focus()
    page.keyboard.press("Escape")
    assert wait_done(page) == ""


def test_record_pages_confusion_matrix_matches_the_card_and_opens_its_digits(page, live_server):
    card = json.loads(open(os.path.join(os.path.dirname(__file__), "..", "webapp", "artifacts", "digit-lens", "card.json")).read())
    matrix = card["test"]["confusion_matrix"]
    page.goto(live_server + "/")
    page.click("a[href^='/record']")
    page.wait_for_url("**/record*")
    shown = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=confusion] tbody tr')].map((row) =>
              [...row.querySelectorAll('td')].map((cell) => Number(cell.textContent.trim() || 0)))"""
    )
    assert shown == matrix
    # Every 9 read as 4: as many digits as the card counts, each opening on the layers page.
    page.click("[data-testid=confusion] button[data-label='9'][data-predicted='4']")
    page.wait_for_selector("#cell-grid a")
    links = page.locator("#cell-grid a.test-digit")
    assert links.count() == matrix[9][4]
    assert page.locator("#cell-title").text_content() == f"Test digits labelled 9, read as 4: {matrix[9][4]}"
    first = links.first
    index = int(first.get_attribute("data-index"))
    first.click()
    page.wait_for_url(f"**/layers?**mnist={index}*")
    # The layers page reads it through the app's preprocessing: usually as the card recorded, not always.
    assert wait_done(page) != ""
    page.wait_for_selector(f"{LABEL}:not([hidden])")
    assert f"#{index}. Its label: 9." in page.locator(LABEL).text_content()
    assert page.console_errors == []


def test_record_page_pages_through_a_large_cell(page, live_server):
    card = json.loads(open(os.path.join(os.path.dirname(__file__), "..", "webapp", "artifacts", "digit-lens", "card.json")).read())
    page.goto(live_server + "/record")
    page.click("[data-testid=confusion] button[data-label='0'][data-predicted='0']")
    page.wait_for_selector("#cell-grid a")
    assert page.locator("#cell-grid a").count() == 100
    page.click("#cell-more")
    page.locator("#cell-grid a").nth(199).wait_for()
    assert page.locator("#cell-grid a").count() == 200
    assert f"200 of {card['test']['confusion_matrix'][0][0]}" in page.locator("#cell-more").text_content()


@pytest.mark.parametrize(
    ("name", "viewport", "scheme"),
    [("desktop", {"width": 1280, "height": 900}, "light"), ("phone", {"width": 390, "height": 844}, "dark")],
)
def test_screenshots(browser, live_server, name, viewport, scheme):
    """Screenshots for a person to look at (screenshots/): an example read, the record page, a cleared layers page."""
    context = browser.new_context(viewport=viewport, color_scheme=scheme, device_scale_factor=2 if name == "phone" else 1)
    page = context.new_page()
    try:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        open_page(page, live_server, "/", "?mnist=1232")
        wait_done(page)
        page.wait_for_selector(f"{LABEL}:not([hidden])")
        page.screenshot(path=os.path.join(SCREENSHOTS, f"example-{name}.png"), full_page=True)
        page.goto(live_server + "/record")
        page.click("[data-testid=confusion] button[data-label='7'][data-predicted='2']")
        page.wait_for_selector("#cell-grid a")
        page.screenshot(path=os.path.join(SCREENSHOTS, f"record-{name}.png"), full_page=True)
        # The matrix fits or scrolls inside its panel; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        open_page(page, live_server, "/layers", "?mnist=1232")
        wait_done(page)
        page.locator("[data-testid=clear]").click()
        wait_done(page)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"layers-cleared-{name}.png"))
    finally:
        context.close()


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_random_digits_label_waits_until_the_learner_asks(page, live_server, language):
    """Guess first: the reading comes, the label does not, until "Show its label"."""
    page.goto(f"{live_server}/?lang={language}")
    page.wait_for_selector("[data-testid=probabilities] li")
    page.click("[data-example=mnist]:not([data-label])")
    page.wait_for_url("**mnist=*")
    wait_done(page)
    page.wait_for_selector(f"{LABEL}:not([hidden])")
    page.wait_for_timeout(500)  # the label used to follow the reading ~0.1 s later
    label = page.locator(LABEL)
    assert label.get_attribute("data-label") is None
    index = int(page.url.split("mnist=")[1].split("&")[0])
    truth = mnist_digit(live_server, page, index)["label"]
    reveal = label.locator("[data-testid=reveal-label]")
    assert reveal.text_content() == ("Show its label" if language == "en" else "正解のラベルを見る")
    reveal.click()
    assert label.get_attribute("data-label") == str(truth)
    assert (f"Its label: {truth}." if language == "en" else str(truth)) in label.text_content()
    # A digit whose label the learner chose: nothing to guess, the label comes with the reading.
    page.click("[data-example=mnist][data-label='5']")
    page.wait_for_selector(f"{LABEL}[data-label='5']")


@pytest.mark.parametrize(("language", "width"), [("en", 1280), ("ja", 390)])
def test_a_fresh_layers_page_offers_the_examples_where_the_layers_will_be(browser, live_server, language, width):
    """A fresh /layers is not an empty pane: it offers examples there, by mouse, tap or keyboard."""
    context = browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/layers?lang={language}")
        start = page.locator("[data-testid=start-examples]")
        assert start.is_visible()
        buttons = start.locator("button")
        assert buttons.count() == 4
        if language == "ja":
            assert buttons.first.text_content() == "MNIST のテスト用の数字をランダムに"
        # The keyboard: the random digit, with Enter.
        buttons.first.focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**mnist=*")
        wait_done(page)
        page.wait_for_selector("#bands:not([hidden]) .band")
        assert page.locator("#bands-empty").is_hidden()
        assert page.evaluate("document.activeElement.dataset.testid") == "example"  # focus stays with the examples
        # The crossed seven from a fresh visit, by a click.
        page.goto(f"{live_server}/layers?lang={language}")
        start.locator("button").nth(2).click()
        assert wait_done(page) == "7"
        page.wait_for_selector("#bands:not([hidden]) .band")
    finally:
        context.close()
