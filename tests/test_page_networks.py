"""Both pages with every served network in Chromium: the chooser, the strip of readings, ?model= in the URL."""

from __future__ import annotations

import json
import os

import pytest

from tests.browser import digit_strokes, draw_with_mouse, pad_box, wait_done
from tests.conftest import SCREENSHOTS
from tests.conftest import SERVED_ARTIFACTS as ARTIFACTS
from tests.conftest import SERVED_NETWORKS, SHIPPED_NETWORKS
from webapp.artifacts import LAYERS_JSON

pytestmark = pytest.mark.browser

NETWORKS = SERVED_NETWORKS  # imported ones too, when the operator's folder holds some
COMPARE_ENTRIES = """() => [...document.querySelectorAll('[data-testid=compare] > li')].map((item) => ({
    model: item.dataset.model, reason: item.dataset.reason, current: item.getAttribute('aria-current'),
    digit: item.querySelector('[data-role=digit]').textContent,
    confidence: item.querySelector('[data-role=confidence]').textContent}))"""


def layer_names(name: str) -> list[str]:
    return [layer["name"] for layer in json.loads((ARTIFACTS / name / LAYERS_JSON).read_text())["layers"]]


def shown_share(fraction: float) -> str:
    """A share as the pages say it: whole percent, unless that would round a part to 0% or 100%."""
    for decimals in range(4):
        percent = round(100 * fraction, decimals)
        if fraction in (0, 1) or 0 < percent < 100:
            return f"{percent:.{decimals}f}%"
    return f"{100 * fraction:.3f}%"


def test_a_share_never_rounds_a_part_to_the_whole():
    assert shown_share(432100 / 433890) == "99.6%"  # simple-convnet's affine1: not "100%"
    assert shown_share(401664 / 430698) == "93%"
    assert shown_share(0.0004) == "0.04%"


def draw(page, digit: int, seed: int) -> str:
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(digit, box["width"], seed=seed).strokes, box)
    return wait_done(page)


def test_the_strip_shows_every_networks_reading_from_one_request(page, live_server):
    assert set(SHIPPED_NETWORKS) <= set(NETWORKS)
    requests = []
    # The readings' requests (the page also asks /api/models for the networks' checkpoints).
    page.on("request", lambda request: requests.append(request.url) if "/api/predict" in request.url else None)
    page.goto(live_server + "/")
    entries = page.evaluate(COMPARE_ENTRIES)
    assert sorted(entry["model"] for entry in entries) == NETWORKS
    assert [entry["model"] for entry in entries if entry["current"]] == ["digit-lens"]
    assert page.locator("[data-testid=model-select]").input_value() == "digit-lens"

    assert draw(page, 4, seed=41) == "4"
    page.wait_for_timeout(300)
    entries = page.evaluate(COMPARE_ENTRIES)
    readings = {entry["model"]: entry["digit"] for entry in entries}
    assert {name: readings[name] for name in SHIPPED_NETWORKS} == {name: "4" for name in SHIPPED_NETWORKS}
    assert all(entry["confidence"].endswith("%") for entry in entries)
    # One request per reading answers for all five networks.
    assert requests and all("/api/predict?model=digit-lens&compare=1" in url for url in requests)
    page.screenshot(path=os.path.join(SCREENSHOTS, "networks-compare-desktop.png"), full_page=True)
    assert page.console_errors == []


def test_choosing_a_network_puts_it_in_the_url_and_reads_the_drawing_again(page, live_server):
    page.goto(live_server + "/")
    assert draw(page, 2, seed=22) == "2"
    with page.expect_response(lambda response: "model=lenet" in response.url) as answer:
        page.select_option("[data-testid=model-select]", "lenet")
    assert answer.value.ok and len(answer.value.json()["input"]) == 32
    assert wait_done(page) == "2"
    assert "/?model=lenet" in page.url  # and, with a drawing, lang= and the drawing (issue 15)
    assert page.locator("[data-testid=compare] > li[aria-current=true]").get_attribute("data-model") == "lenet"
    # What the network saw is 32x32 now, and the caption says so.
    assert page.locator(".caption[data-input-size='32']").is_visible()
    assert not page.locator(".caption[data-input-size='28']").is_visible()
    assert "32 by 32" in page.locator("[data-testid=model-input]").get_attribute("aria-label")
    # A network can be picked from the strip too.
    page.click("[data-testid=compare] > li[data-model=torch-net] button")
    page.wait_for_url("**/?model=torch-net*")
    assert page.locator("[data-testid=model-select]").input_value() == "torch-net"
    assert page.console_errors == []


def test_the_layers_page_opens_on_the_network_chosen_on_the_drawing_page(page, live_server):
    page.goto(live_server + "/?model=simple-convnet")
    assert draw(page, 7, seed=71) == "7"
    page.click("#to-layers")
    page.wait_for_url("**/layers?model=simple-convnet*")
    page.wait_for_selector("#bands:not([hidden]) .band")
    assert wait_done(page) == "7"
    assert page.locator("[data-testid=model-select]").input_value() == "simple-convnet"
    names = page.evaluate("() => [...document.querySelectorAll('#bands .band')].map((band) => band.dataset.testid)")
    assert names == [f"band-{name}" for name in layer_names("simple-convnet")]
    conv1 = page.locator("[data-testid=band-conv1]").text_content()
    assert "(28 − 5 + 2·0) / 1 + 1 = 24" in conv1 and "780" in conv1
    assert "432,100" in page.locator("[data-testid=band-affine1]").text_content()
    assert page.locator("#band-nav a").all_text_contents() == layer_names("simple-convnet")
    # And back: the drawing page's link keeps the network.
    page.click("nav a[href^='/?']")
    page.wait_for_url("**/?model=simple-convnet*")
    assert page.locator("[data-testid=model-select]").input_value() == "simple-convnet"
    assert page.console_errors == []


@pytest.mark.parametrize("name", NETWORKS)
def test_every_network_shows_all_its_layers_with_its_own_numbers(page, live_server, name):
    check_every_layer_shown(page, live_server, ARTIFACTS, name, digit="3" if name in SHIPPED_NETWORKS else None)
    if name == "lenet":
        page.screenshot(path=os.path.join(SCREENSHOTS, "networks-layers-lenet-desktop.png"))


def check_every_layer_shown(page, url: str, folder, name: str, digit: str | None) -> None:
    """/layers for network ``name`` of ``folder``: a band per layer of its layers.json, in order, each with the
    network's own numbers (input size, the first convolution's output side, each hidden dense layer's share of the
    parameters). ``digit``: what it must read the drawn 3 as (None: an untrained network reads what it reads).
    Used for the imported networks too (tests/test_page_import.py)."""
    page.goto(f"{url}/layers?model={name}")
    read = draw(page, 3, seed=33)
    if digit is not None:
        assert read == digit
    page.wait_for_selector("#bands:not([hidden]) .band")
    names = page.evaluate("() => [...document.querySelectorAll('#bands .band')].map((band) => band.dataset.testid)")
    layers = json.loads((folder / name / LAYERS_JSON).read_text())["layers"]
    assert names == [f"band-{layer['name']}" for layer in layers]
    size = layers[0]["output_shape"][0]
    text = page.locator("[data-testid=band-input]").text_content()
    assert f"{size}×{size}" in text
    assert ("2-pixel blank border" in text) == (size == 32)
    convolutions = [index for index, layer in enumerate(layers) if layer["kind"] == "Conv2D"]
    if convolutions:  # the first one's output side, by the rule its band states (layers.json's padding)
        conv = layers[convolutions[0]]
        kernel, stride = conv["settings"]["kernel_size"][0], conv["settings"]["strides"][0]
        top, bottom = conv["padding"][:2]
        height, side = layers[convolutions[0] - 1]["output_shape"][0], conv["output_shape"][0]
        rule = f"({height} − {kernel} + 2·{top}) / {stride} + 1 = {side}" if top == bottom else (
            f"({height} − {kernel} + {top} + {bottom}) / {stride} + 1 = {side}")
        assert rule in page.locator(f"[data-testid=band-{conv['name']}]").text_content()
    for previous, layer in zip(layers, layers[1:]):
        if layer["kind"] == "MaxPooling2D":
            k, before = layer["settings"]["pool_size"][0], previous["output_shape"][0]
            stride = (layer["settings"].get("strides") or layer["settings"]["pool_size"])[0]
            text = page.locator(f"[data-testid=band-{layer['name']}]").text_content()
            top, bottom = layer["padding"][:2]
            padded = f" + {top} + {bottom}" if top + bottom else ""
            assert f"({before} − {k}{padded}) / {stride} + 1 = {layer['output_shape'][0]}" in text
    total = sum(layer["parameters"] for layer in layers)
    for layer in layers:
        if layer["kind"] == "Dense" and layer["settings"]["units"] != 10:
            share = shown_share(layer["parameters"] / total)
            assert f"{share} of the network's {total:,} parameters" in page.locator(f"[data-testid=band-{layer['name']}]").text_content()
    assert page.console_errors == []


def test_a_padded_pooling_layer_is_explained_with_its_padding_and_side_from_layers_json(page, live_server):
    """No shipped network pools with "same" padding; an imported one may: the band reads layers.json's geometry."""
    page.goto(f"{live_server}/layers?lang=en")
    text = page.evaluate("""async () => {
        const { explain } = await import('/static/js/lib/bands.js');
        const previous = { kind: 'ReLU', height: 7, width: 7, channels: 4, settings: {} };
        const layer = { kind: 'MaxPooling2D', height: 4, width: 4, padding: [0, 1, 0, 1],
                        settings: { pool_size: [2, 2], strides: [2, 2], padding: 'same' } };
        return explain(layer, previous, 100).text;
    }""")
    assert 'Padding "same" adds 0 rows above and 1 below' in text
    assert "from 7×7 to (7 − 2 + 0 + 1) / 2 + 1 = 4, rounded down" in text
    assert page.console_errors == []


def test_switching_networks_on_the_layers_page_rebuilds_the_bands(page, live_server):
    page.goto(f"{live_server}/layers?model=keras-mnist")
    assert draw(page, 5, seed=55) == "5"
    page.wait_for_selector("[data-testid=band-dropout1]")
    page.select_option("[data-testid=model-select]", "torch-net")
    page.wait_for_selector("[data-testid=band-fc1]")
    assert wait_done(page) == "5"
    assert "/layers?model=torch-net" in page.url
    assert page.locator("[data-testid=band-dropout1]").count() == 0
    # A chosen cell is explained with torch-net's own 5x5 weights (keras-mnist's are 3x3).
    with page.expect_response(lambda response: "/api/explain" in response.url) as explained:
        page.locator("[data-testid=band-conv1] canvas.map").first.click()
    assert "model=torch-net" in explained.value.url and explained.value.ok
    answer = explained.value.json()
    assert answer["layer"] == "conv1" and len(answer["weights"]) == 5 * 5 * 1
    assert page.console_errors == []


def test_the_strip_gives_no_confidence_for_a_drawing_that_is_not_a_digit(page, live_server):
    """The gate says "not a digit" for every network: a "? 100%" beside it would be the network's blind pick."""
    import numpy as np

    from train.drawings import NON_DIGITS, shaped_drawing

    page.goto(live_server + "/")
    box = pad_box(page)
    drawing = shaped_drawing(np.random.default_rng(1), NON_DIGITS["A"][1], canvas_size=round(box["width"]))
    draw_with_mouse(page, drawing.strokes, box)
    assert wait_done(page) == "?"
    entries = page.evaluate(COMPARE_ENTRIES)
    assert {entry["reason"] for entry in entries} == {"not-a-digit"}
    for entry in entries:
        assert entry["digit"] == "?" and "%" not in entry["confidence"], entry
        assert entry["confidence"] == "not a digit", entry
    page.goto(page.url.replace("lang=en", "lang=ja"))  # the URL carries the drawing and the language
    page.wait_for_selector("[data-testid=compare] li[data-reason=not-a-digit]")
    assert wait_done(page) == "?"
    assert {entry["confidence"] for entry in page.evaluate(COMPARE_ENTRIES)} == {"数字ではない"}
