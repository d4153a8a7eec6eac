"""Imported networks in Chromium: served from an operator's folder (DIGIT_LENS_ARTIFACTS_DIR) beside the shipped
ones, in the chooser and the strip, every layer a band, and each new kind's cell explained on /layers."""

from __future__ import annotations

import math
import os
import re

import pytest

from tests.browser import digit_strokes, draw_with_mouse, pad_box, wait_done
from tests.conftest import SCREENSHOTS, SHIPPED_NETWORKS
from tests.test_import import imported, kinds, model_files  # noqa: F401 - fixtures used here
from tests.test_page_networks import check_every_layer_shown
from webapp.gate import GATE_FOLDER
from webapp.artifacts import ARTIFACTS, discover

pytestmark = pytest.mark.browser

IMPORTED = ["centroid", "every-kind-28", "every-kind-32", "strided-same"]


@pytest.fixture(scope="module")
def operator_server(imported, tmp_path_factory):  # noqa: F811
    """gunicorn serving an operator's folder: the shipped networks and the gate (linked) and the imported ones."""
    from bench.server import gunicorn, wait_ready

    artifacts, _ = imported
    folder = tmp_path_factory.mktemp("operator") / "networks"
    folder.mkdir()
    for name in [*discover(ARTIFACTS), GATE_FOLDER]:
        (folder / name).symlink_to(ARTIFACTS / name)
    for name in discover(artifacts):
        (folder / name).symlink_to(artifacts / name)
    with gunicorn(workers=1, extra_env={"DIGIT_LENS_ARTIFACTS_DIR": str(folder)}) as (port, _):
        wait_ready(port, workers=1)
        yield f"http://127.0.0.1:{port}", folder


def draw(page, digit: int, seed: int) -> str:
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(digit, box["width"], seed=seed).strokes, box)
    return wait_done(page)


def test_imported_networks_are_chosen_and_compared_like_the_shipped_ones(page, operator_server):
    url, folder = operator_server
    page.goto(url + "/")
    options = page.locator("[data-testid=model-select] option").evaluate_all("(nodes) => nodes.map((node) => node.value)")
    assert set(options) == set(SHIPPED_NETWORKS) | set(IMPORTED)
    draw(page, 7, seed=77)
    page.wait_for_timeout(300)
    strip = page.locator("[data-testid=compare] > li").evaluate_all("(nodes) => nodes.map((node) => node.dataset.model)")
    assert set(strip) == set(SHIPPED_NETWORKS) | set(IMPORTED)
    page.select_option("[data-testid=model-select]", "centroid")
    page.wait_for_url("**/?model=centroid*")
    assert wait_done(page) == "7"  # the nearest-mean reader, imported with --input-scale 1, reads it
    assert page.console_errors == []


@pytest.mark.parametrize("name", IMPORTED)
def test_every_imported_network_shows_all_its_layers_with_its_own_numbers(page, operator_server, name):
    """The shipped networks' test (tests/test_page_networks.py), on each imported one."""
    url, folder = operator_server
    check_every_layer_shown(page, url, folder, name, digit=None)


# (network, layer, cell to click: row, column as fractions of the map, the operation it explains)
NEW_KINDS = [
    ("every-kind-28", "pad", "zero-padding"),
    ("every-kind-28", "norm", "batch-norm"),
    ("every-kind-28", "tanh", "tanh"),
    ("every-kind-28", "dense1_sigmoid", "sigmoid"),
    ("every-kind-28", "pool2", "average-pool"),
    ("every-kind-32", "gap", "global-average-pool"),
    ("every-kind-32", "act", "relu"),
    ("every-kind-32", "linear", "linear"),
    ("strided-same", "conv1", "conv"),
]


@pytest.mark.parametrize(("name", "layer", "operation"), NEW_KINDS, ids=[f"{name}-{layer}" for name, layer, _ in NEW_KINDS])
def test_each_new_kind_has_its_band_and_its_arithmetic(page, operator_server, name, layer, operation):
    url, folder = operator_server
    page.goto(f"{url}/layers?model={name}")
    draw(page, 3, seed=33)
    page.wait_for_selector("#bands:not([hidden]) .band")
    bands = page.evaluate("() => [...document.querySelectorAll('#bands .band')].map((band) => band.dataset.testid)")
    assert bands == [f"band-{layer_name}" for layer_name, _ in kinds(folder, name)]
    band = page.locator(f"[data-testid=band-{layer}]")
    text = band.locator(".band-text").text_content()
    assert text.strip(), f"{layer} has no explanation"
    target = band.locator("canvas").first
    with page.expect_response(lambda response: "/api/explain" in response.url) as explained:
        target.click()
    assert explained.value.ok and f"model={name}" in explained.value.url
    panel = page.locator("[data-testid=explain]")
    panel.locator(".explain-total-value").first.wait_for()
    assert panel.get_attribute("data-operation") == operation
    assert panel.get_attribute("data-layer") == layer
    # The result the panel shows is the server's value of that cell, to the digits shown.
    answer = explained.value.json()
    assert answer["operation"] == operation
    for selector in (".explain-total-value", ".explain-value"):
        text = panel.locator(selector).first.text_content()
        assert abs(number(text) - answer["value"]) <= half_unit(text) * 1.0001, (selector, text, answer["value"])
    assert page.console_errors == []


def number(text: str) -> float:
    """A number as the panel prints it (a minus sign, thin spaces or commas between thousands)."""
    return float(text.strip().replace("\u2212", "-").replace(",", "").replace("\u2009", ""))


def half_unit(text: str) -> float:
    """Half a unit of the last digit a number is shown with (its rounding error at most)."""
    value = number(text)
    if value == 0:
        return 0.0
    digits = len(re.sub(r"[^0-9]", "", text).lstrip("0"))
    return 0.5 * 10 ** (math.floor(math.log10(abs(value))) - digits + 1)


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280, 1920])
def test_screenshots_of_an_imported_network(browser, operator_server, lang, scheme, width):
    url, _ = operator_server
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme, locale=lang)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{url}/layers?model=every-kind-28&lang={lang}")
    draw(page, 3, seed=33)
    band = page.locator("[data-testid=band-norm]")
    band.locator("canvas").first.click()
    page.locator("[data-testid=explain][data-operation=batch-norm] .explain-total-value").wait_for()
    page.locator("[data-testid=explain]").scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(SCREENSHOTS, f"import-layers-{width}-{lang}-{scheme}.png"))
    band.scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(SCREENSHOTS, f"import-band-{width}-{lang}-{scheme}.png"))
    assert errors == []
    context.close()
