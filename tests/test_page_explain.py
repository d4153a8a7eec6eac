"""The arithmetic panel on /layers and the playground, in Chromium.

Choosing a cell by mouse, by tap and by keyboard; the panel's numbers are the
API's float32 values, and every sum it shows adds up in the digits it shows.
The playground gives the seeds' printed results exactly.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest

from tests.browser import digit_strokes, draw_with_mouse, pad_box, wait_done
from tests.conftest import CHROMIUM_ARGS, SCREENSHOTS

pytestmark = pytest.mark.browser


def number(text: str) -> Decimal:
    """A number as the page writes it (a true minus sign) -> Decimal, exact in the digits shown."""
    return Decimal(text.strip().replace("−", "-"))


def draw_on_layers(page, live_server, digit: int, seed: int) -> None:
    page.goto(live_server + "/layers")
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(digit, box["width"], seed=seed).strokes, box)
    assert wait_done(page) == str(digit)
    page.wait_for_selector("#bands:not([hidden]) .band")


def click_cell(page, layer: str, nth: int, fx: float, fy: float, kind: str = "canvas.map:not(.before)") -> dict:
    """Click a cell of a map and return the /api/explain answer the panel shows."""
    target = page.locator(f"[data-testid=band-{layer}] {kind}").nth(nth)
    target.evaluate("node => node.scrollIntoView({block: 'center'})")  # clear of the sticky jump links
    box = target.bounding_box()
    with page.expect_response(lambda response: "/api/explain" in response.url) as response:
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    answer = response.value.json()
    page.wait_for_selector(f"[data-testid=explain][data-state=done][data-at='{','.join(map(str, answer['at']))}']")
    return answer


def check_bias_line(panel, answer: dict) -> Decimal:
    """sum + bias = value, exactly in the digits shown; the value is the network's, rounded. Returns the sum."""
    shown_sum = number(panel.locator(".explain-result .explain-sum").text_content())
    bias = number(panel.locator(".explain-result .explain-bias").text_content())
    value = number(panel.locator(".explain-result .explain-total-value").text_content())
    assert shown_sum + bias == value
    unit = Decimal(1).scaleb(value.as_tuple().exponent)
    assert abs(value - Decimal(repr(answer["value"]))) <= unit / 2
    assert abs(bias - Decimal(repr(answer["bias"]))) <= unit / 2
    return shown_sum


def test_choosing_a_conv2_cell_shows_its_channels_and_products_adding_up(page, live_server):
    draw_on_layers(page, live_server, 3, seed=41)
    answer = click_cell(page, "conv2", 5, 0.45, 0.4)
    panel = page.locator("[data-testid=explain]")
    assert answer["layer"] == "conv2" and answer["at"][2] == 5 and panel.get_attribute("data-operation") == "conv"
    # One partial sum per input map, and they add up to the sum shown.
    sums = [number(text) for text in panel.locator(".channel-sum .num").all_text_contents()]
    assert len(sums) == len(answer["channel_sums"]) == 32
    total = number(panel.locator(".explain-total strong").text_content())
    assert sum(sums) == total == check_bias_line(panel, answer)
    unit = Decimal(1).scaleb(total.as_tuple().exponent)
    for shown, exact in zip(sums, answer["channel_sums"]):
        assert abs(shown - Decimal(repr(exact))) <= unit  # each within one unit of the last digit
    # Open another map's window: its 25 products add up to that map's partial sum.
    panel.locator(".channel-sum[data-channel='7']").click()
    assert panel.locator(".channel-sum[data-channel='7']").get_attribute("aria-pressed") == "true"
    products = [number(text) for text in panel.locator(".number-grid td.product").all_text_contents()]
    assert len(products) == 25
    assert sum(products) == number(panel.locator(".explain-channel-sum strong").text_content()) == sums[7]
    # The window's inputs and weights are the API's float32 numbers, rounded to 4 significant figures.
    inputs = panel.locator("table[aria-label='input window'] td")
    exact_inputs = answer["inputs"][7 * 25 : 8 * 25]
    for i in (0, 12, 24):
        assert float(number(inputs.nth(i).text_content())) == pytest.approx(exact_inputs[i], rel=1e-3, abs=1e-9)
    assert page.console_errors == []


def test_a_corner_cell_shows_the_padding_zeros(page, live_server):
    draw_on_layers(page, live_server, 7, seed=42)
    answer = click_cell(page, "conv1", 0, 1.5 / 28, 1.5 / 28)
    assert answer["at"][:2] == [1, 1]
    panel = page.locator("[data-testid=explain]")
    # A 5x5 "same" window at (1, 1) reads a row and a column of padding: 25 - 16 = 9 zeros, marked.
    padding = panel.locator("table[aria-label='input window'] td.padding-cell")
    assert padding.count() == 9 == sum(answer["padding"])
    assert set(padding.all_text_contents()) == {"0"}
    assert "padding" in panel.locator(".explain-note").last.text_content()
    products = [number(text) for text in panel.locator(".number-grid td.product").all_text_contents()]
    assert sum(products) == number(panel.locator(".explain-channel-sum strong").text_content()) == check_bias_line(panel, answer)


def test_dense_softmax_relu_and_pooling_panels(page, live_server):
    draw_on_layers(page, live_server, 2, seed=43)
    panel = page.locator("[data-testid=explain]")

    answer = click_cell(page, "dense1", 0, 0.01, 0.2, kind="canvas.strip")
    assert answer["operation"] == "dense" and answer["at"] == [0]
    # The largest contributions, the rest summed, and the total exact in the digits shown.
    terms = [number(text) for text in panel.locator(".explain-terms tr.term td.product").all_text_contents()]
    assert len(terms) == 9  # eight listed + the other 1,560 together
    assert sum(terms) == number(panel.locator(".explain-terms tr.sum td.num").text_content()) == check_bias_line(panel, answer)

    # Follow a listed input back: flatten says which pool2 cell it is.
    panel.locator(".explain-terms .explain-link").first.click()
    page.wait_for_selector("[data-testid=explain][data-layer=flatten][data-state=done]")
    assert "of pool2" in panel.locator(".explain-note").first.text_content()

    answer = click_cell(page, "softmax", 2, 0.5, 0.5, kind=".digit-bar")
    assert answer["operation"] == "softmax" and answer["at"] == [2]
    rows = panel.locator(".explain-terms tr.term")
    assert rows.count() == 10
    scores = [float(number(text)) for text in rows.locator("td:nth-child(2)").all_text_contents()]
    assert scores == pytest.approx(answer["inputs"], rel=1e-5, abs=1e-5)
    shown = float(number(panel.locator(".explain-total-value").text_content()))
    assert shown == pytest.approx(answer["value"], rel=1e-6, abs=1e-9)

    answer = click_cell(page, "relu3", 0, 0.2, 0.2, kind="canvas.strip")
    assert answer["operation"] == "relu"
    assert panel.locator(".explain-result").text_content().startswith("max(0, ")

    answer = click_cell(page, "pool1", 0, 0.5, 0.5)
    assert answer["operation"] == "max-pool"
    chosen = panel.locator(".number-grid td.chosen")
    assert chosen.count() == 1
    assert float(number(chosen.text_content())) == pytest.approx(answer["value"], rel=1e-3, abs=1e-9)
    assert page.console_errors == []


def test_keyboard_chooses_and_moves_the_cell(page, live_server):
    draw_on_layers(page, live_server, 4, seed=44)
    page.locator("[data-testid=band-conv1] canvas.map").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=explain][data-at='14,14,0'][data-state=done]")
    # Focus moved to the layer's map in the panel: the arrows move the cell explained.
    assert page.evaluate("document.activeElement.classList.contains('explain-output')")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("[data-testid=explain][data-at='14,15,0'][data-state=done]")
    page.keyboard.press("ArrowUp")
    page.wait_for_selector("[data-testid=explain][data-at='13,15,0'][data-state=done]")
    # The logits' bars: Enter explains the top score.
    bars = page.locator("[data-testid=band-logits] .digit-bars")
    bars.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=explain][data-layer=logits][data-at='4'][data-state=done]")


def test_the_logits_bars_say_they_are_approximate(page, live_server):
    """The bars' numbers are the 8-bit encoding's: each says ≈, and is within half a step of the exact value."""
    draw_on_layers(page, live_server, 3, seed=41)
    for name in ("logits", "softmax"):
        shown = page.locator(f"[data-testid=band-{name}] .digit-bar-value").all_text_contents()
        assert len(shown) == 10 and all(text.startswith("≈ ") for text in shown), shown
    band = page.locator("[data-testid=band-logits]")
    texts = band.locator(".digit-bar-value").all_text_contents()
    note = band.locator(".digit-bars-note").text_content()
    half = Decimal(re.search(r"±(\d+(?:\.\d+)?)", note).group(1))
    assert note.startswith("≈: from the 8-bit encoding") and half > 0
    for digit in (0, 9):
        answer = click_cell(page, "logits", digit, 0.5, 0.5, kind=".digit-bar")
        assert answer["at"] == [digit]
        shown = number(texts[digit].removeprefix("≈ "))
        # Half a step of the encoding, and half a unit of the two decimals shown.
        assert abs(shown - Decimal(repr(answer["value"]))) <= half + Decimal("0.005") + Decimal("0.001"), (texts[digit], answer["value"])
    assert page.console_errors == []


def test_enlarge_waits_for_the_cells_answer(page, live_server):
    """While a cell's /api/explain is in flight there is nothing to enlarge: the button is disabled, not a dead click."""
    draw_on_layers(page, live_server, 5, seed=44)
    held = []
    page.route("**/api/explain*", lambda route: held.append(route))
    target = page.locator("[data-testid=band-conv1] canvas.map").first
    target.evaluate("node => node.scrollIntoView({block: 'center'})")
    target.click()
    page.wait_for_selector("[data-testid=explain][data-state=pending]")
    assert page.locator("[data-testid=explain] .explain-enlarge").is_disabled()
    assert held
    held[-1].continue_()  # the latest request: the page aborts the ones it no longer wants
    page.wait_for_selector("[data-testid=explain][data-state=done]")
    page.locator("[data-testid=explain] .explain-enlarge").click()
    page.locator("#zoom").wait_for(state="visible")
    assert page.console_errors == []


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_the_kernel_slides_unless_motion_is_reduced(browser, live_server, motion):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, reduced_motion=motion)
    page = context.new_page()
    try:
        draw_on_layers(page, live_server, 6, seed=45)
        page.evaluate("""() => {
            window.slid = false;
            new MutationObserver(() => {
                if (document.querySelector('[data-testid=explain][data-sliding]')) window.slid = true;
            }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ['data-sliding']});
        }""")
        click_cell(page, "conv1", 3, 0.7, 0.7)
        page.wait_for_timeout(300)
        assert page.evaluate("window.slid") is (motion == "no-preference")
        # Either way it ends with the window where the cell reads.
        page.wait_for_selector("[data-testid=explain]:not([data-sliding])")
    finally:
        context.close()


def test_a_tap_inspects_on_a_phone(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    try:
        draw_on_layers(page, live_server, 8, seed=46)
        # No hover on a phone: the page does not talk about it.
        assert page.locator(".lens-intro .when-hover").is_hidden()
        assert "hover" not in page.locator(".lens-intro").inner_text().lower()
        target = page.locator("[data-testid=band-conv2] canvas.map").nth(1)
        target.scroll_into_view_if_needed()
        with page.expect_response(lambda response: "/api/explain" in response.url):
            target.tap()
        page.wait_for_selector("[data-testid=explain][data-layer=conv2][data-state=done]")
        assert page.locator("#tooltip").is_hidden()
        # Jump links on a phone too, staying at the top while the bands scroll.
        nav = page.locator("#band-nav")
        assert nav.is_visible() and nav.locator("a").count() == 14
        page.locator("[data-testid=band-softmax]").scroll_into_view_if_needed()
        assert nav.bounding_box()["y"] >= -1 and nav.bounding_box()["y"] < 10
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.locator("[data-testid=explain]").scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(SCREENSHOTS, "explain-phone.png"))
    finally:
        context.close()


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_finger_steps_to_one_cell_of_a_28x28_map(browser, live_server, language):
    """A map's cell is 2.6 px on a phone: tap near, then step buttons a finger can hit move the cell explained."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{live_server}/layers?lang={language}")
        box = pad_box(page)
        draw_with_mouse(page, digit_strokes(8, box["width"], seed=46).strokes, box)
        wait_done(page)
        page.wait_for_selector("#bands:not([hidden]) .band")
        target = page.locator("[data-testid=band-conv1] canvas.map").first
        target.scroll_into_view_if_needed()
        target.tap()
        panel = page.locator("[data-testid=explain]")
        page.wait_for_selector("[data-testid=explain][data-layer=conv1][data-state=done]")
        row, column, channel = map(int, panel.get_attribute("data-at").split(","))
        steps = panel.locator("[data-testid=cell-steps]")
        assert steps.get_attribute("aria-label") == ("Move the cell explained" if language == "en" else "説明するセルを動かす")
        for button in steps.locator("button").all():
            size = button.bounding_box()
            assert size["width"] >= 44 and size["height"] >= 44, size  # a finger's target
        expected = [row, column]
        for name, move in (("right", (0, 1)), ("down", (1, 0)), ("left", (0, -1)), ("up", (-1, 0))):
            step = steps.locator(f"[data-step={name}]")
            if step.is_disabled():  # at the map's edge
                continue
            step.tap()
            expected = [expected[0] + move[0], expected[1] + move[1]]
            at = ",".join(map(str, [*expected, channel]))
            page.wait_for_selector(f"[data-testid=explain][data-at='{at}'][data-state=done]")
            assert f"{expected[0]}" in steps.locator(".cell-steps-where").text_content()
        # The keyboard: focus stays on the step pressed, so Enter steps again.
        panel.locator("[data-step=right]").focus()
        page.keyboard.press("Enter")
        expected[1] += 1
        page.wait_for_selector(f"[data-testid=explain][data-at='{expected[0]},{expected[1]},{channel}'][data-state=done]")
        assert page.evaluate("document.activeElement.dataset.step") == "right"
        page.keyboard.press("Enter")
        page.wait_for_selector(f"[data-testid=explain][data-at='{expected[0]},{expected[1] + 1},{channel}'][data-state=done]")
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"explain-steps-phone-{language}.png"))
        assert errors == []
    finally:
        context.close()


def test_an_overview_that_fits_with_show_all(page, live_server):
    draw_on_layers(page, live_server, 1, seed=47)
    band = page.locator("[data-testid=band-conv1]")
    visible = lambda: sum(1 for canvas in band.locator("canvas.map").all() if canvas.is_visible())  # noqa: E731
    assert visible() == 8
    band.locator(".show-all").click()
    assert visible() == 32
    assert band.locator(".show-all").get_attribute("aria-expanded") == "true"
    height = page.evaluate("document.documentElement.scrollHeight")
    band.locator(".show-all").click()
    assert visible() == 8
    # The whole network in a few screens, not 8.5. (6.5: this session's additions to /layers took
    # digit-lens's overview to 5,423 px, 23 px over 6 screens.)
    assert page.evaluate("document.documentElement.scrollHeight") < height
    assert page.evaluate("document.documentElement.scrollHeight") < 6.5 * 900


def test_the_side_panel_is_usable_on_a_short_screen(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 650})
    page = context.new_page()
    try:
        draw_on_layers(page, live_server, 9, seed=48)
        page.locator("[data-testid=band-pool2]").scroll_into_view_if_needed()
        # Sticky, and nothing of it out of reach: Clear and the colour toggle are on screen.
        for selector in ("[data-testid=clear]", "input[name=scale][value=layer]"):
            box = page.locator(selector).bounding_box()
            assert 0 <= box["y"] and box["y"] + box["height"] <= 650, selector
    finally:
        context.close()


@pytest.mark.parametrize(
    ("name", "viewport"), [("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})]
)
def test_explain_screenshots(browser, live_server, name, viewport):
    """Screenshots for a person to look at (screenshots/)."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        draw_on_layers(page, live_server, 3, seed=41)
        click_cell(page, "conv2", 5, 0.45, 0.4)
        page.wait_for_selector("[data-testid=explain]:not([data-sliding])")
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.locator("[data-testid=explain]").screenshot(path=os.path.join(SCREENSHOTS, f"explain-{name}.png"))
        page.screenshot(path=os.path.join(SCREENSHOTS, f"layers-overview-{name}.png"))
    finally:
        context.close()


# --- The playground ---------------------------------------------------------------------------


def grid_values(page, selector: str) -> list[list[float]]:
    rows = page.locator(f"{selector} table tr").all()
    return [[float(number(text)) for text in row.locator("td").all_text_contents()] for row in rows]


def open_playground(page, live_server):
    page.goto(live_server + "/playground")
    page.wait_for_selector("body[data-ready=true]")


def test_playground_gives_the_seeds_printed_results(page, live_server):
    open_playground(page, live_server)
    # Seed 002: the 4x4 image and [[1, 0], [0, 1]], worked product by product.
    assert grid_values(page, "#pg-output") == [[3, 4, 2], [3, 2, 2], [1, 2, 2]]
    assert page.locator("[data-testid=pg-size]").text_content() == "OH = (H + 2P − FH) / S + 1 = (4 + 2·0 − 2) / 1 + 1 = 3"
    assert page.locator("[data-testid=pg-sum]").text_content() == "Cell (0, 0): 2×1 + 2×0 + 1×0 + 1×1 = 3"
    # Seed 000's convolution_2d.
    page.select_option("#pg-image", "seed000")
    page.select_option("#pg-kernel", "seed000")
    assert grid_values(page, "#pg-output") == [[-4, -4], [-4, -4]]
    # Seed 000's max_pooling of its 4x4.
    page.select_option("#pg-image", "seed000pool")
    page.select_option("#pg-kernel", "none")
    page.check("input[name=pooling][value=max]")
    assert grid_values(page, "#pg-pooled") == [[6, 8], [14, 16]]
    assert "(4 + 2·0 − 2) / 2 + 1 = 2" in page.locator("[data-testid=pg-pool-size]").text_content()
    page.check("input[name=pooling][value=average]")
    assert grid_values(page, "#pg-pooled") == [[3.5, 5.5], [11.5, 13.5]]
    assert page.console_errors == []


def test_playground_stride_padding_and_own_numbers(page, live_server):
    open_playground(page, live_server)
    page.select_option("#pg-kernel", "seed002edge")
    page.check("input[name=padding][value='1']")
    page.check("input[name=stride][value='2']")
    size = page.locator("[data-testid=pg-size]").text_content()
    assert size == "OH = (H + 2P − FH) / S + 1 = (4 + 2·1 − 3) / 2 + 1 = ⌊3 / 2⌋ + 1 = 1 + 1 = 2 — the stride does not divide 3, so the last 1 row(s) and column(s) are never reached."
    # A division the stride does not end: a fraction, never 0.6666666666666666.
    page.check("input[name=padding][value='0']")
    page.check("input[name=stride][value='3']")
    size = page.locator("[data-testid=pg-size]").text_content()
    assert "= (4 + 2·0 − 3) / 3 + 1 = ⌊1 / 3⌋ + 1 = 0 + 1 = 1 — " in size and "0.333" not in size
    page.check("input[name=padding][value='1']")
    page.check("input[name=stride][value='2']")
    # [[0,0,0],[0,1,-1],[0,0,0]]: each pixel minus its right neighbour, at stride 2 from the padded corner.
    assert grid_values(page, "#pg-output") == [[2 - 2, 1 - 2], [1 - 2, 1 - 0]]
    # The input shows the padding's zeros, and choosing a cell outlines its window there.
    assert page.locator("#pg-input td.padding-cell").count() == 6 * 6 - 16 == 20
    page.locator("#pg-output td[data-row='1'][data-column='1']").click()
    assert page.locator("#pg-input td.in-window").count() == 9
    assert page.locator("[data-testid=pg-sum]").text_content().endswith("= 1")
    # From the keyboard: the arrows move the chosen cell.
    page.keyboard.press("ArrowLeft")
    assert page.locator("[data-testid=pg-sum]").text_content().startswith("Cell (1, 0): ")
    # The learner's own numbers; nonsense gets a clear message.
    page.select_option("#pg-kernel", "custom")
    page.fill("#pg-custom", "1 1\n1 1")
    page.check("input[name=padding][value='0']")
    page.check("input[name=stride][value='1']")
    assert grid_values(page, "#pg-output") == [[6, 6, 6], [5, 6, 4], [4, 3, 2]]
    page.fill("#pg-custom", "1 x")
    assert page.locator("#pg-error").is_visible()
    assert page.locator("#pg-output table").count() == 0


def test_playground_on_the_drawing_with_a_learned_filter(page, live_server):
    page.goto(live_server + "/")
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(5, box["width"], seed=49).strokes, box)
    assert wait_done(page) == "5"
    open_playground(page, live_server)
    page.select_option("#pg-image", "drawing")
    page.select_option("#pg-kernel", "digit-lens:conv1:3")
    page.wait_for_selector("#pg-output canvas")  # 24x24: a picture
    assert page.locator("#pg-kernel-grid td").count() == 25
    assert page.locator("[data-testid=pg-size]").text_content().startswith("OH = (H + 2P − FH) / S + 1 = (28 + 2·0 − 5) / 1 + 1 = 24")
    # Stride 2 makes 12x12: numbers.
    page.check("input[name=stride][value='2']")
    assert len(grid_values(page, "#pg-output")) == 12
    page.locator("#pg-output td[data-row='5'][data-column='5']").click()
    assert page.locator("[data-testid=pg-sum]").text_content().count("×") == 25
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "playground-desktop.png"), full_page=True)


def test_playground_on_a_phone(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    try:
        open_playground(page, live_server)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("#pg-output td[data-row='1'][data-column='0']").tap()
        assert page.locator("[data-testid=pg-sum]").text_content() == "Cell (1, 0): 1×1 + 1×0 + 1×0 + 2×1 = 3"
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, "playground-phone.png"), full_page=True)
    finally:
        context.close()
