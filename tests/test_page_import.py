"""Imported networks in Chromium: served from an operator's folder (DIGIT_LENS_ARTIFACTS_DIR) beside the shipped
ones, in the chooser and the strip, every layer a band, and each new kind's cell explained on /layers."""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest

from tests.browser import digit_strokes, draw_with_mouse, pad_box, wait_done
from tests.conftest import SCREENSHOTS, SHIPPED_NETWORKS
from tests.test_import import imported, kinds, model_files  # noqa: F401 - fixtures used here
from tests.test_page_networks import check_every_layer_shown
from webapp.gate import GATE_FOLDER
from webapp.artifacts import ARTIFACTS, KERAS_FILE, discover

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


def test_why_shows_every_network_when_grad_cam_cannot_explain_one(page, operator_server):
    """Grad-CAM beside the others on /why: the dense-only network (centroid) shows its reading and why it has no
    map, instead of the whole page reading nothing (its compare request once answered 400 for every network)."""
    url, _ = operator_server
    page.goto(url + "/why?method=grad-cam")
    assert draw(page, 7, seed=11) == "7"
    maps = "[data-testid=attribution-maps]"
    page.wait_for_selector(f"{maps}[data-state=done] .why-map[data-model=digit-lens] canvas:not([hidden])")
    centroid = page.locator(f"{maps} .why-map[data-model=centroid]")
    assert centroid.get_attribute("data-unavailable") == "no-convolution"
    assert centroid.locator("canvas").is_hidden()
    assert "no convolution" in centroid.locator("[data-role=note]").text_content()
    assert centroid.locator("[data-role=reading]").text_content().strip() in {f"reads {digit}" for digit in range(10)} | {"no digit"}
    for name in ("digit-lens", "every-kind-28"):
        assert page.locator(f"{maps} .why-map[data-model={name}]").get_attribute("data-unavailable") == ""
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


# The learning page on an imported network: (network, the layer whose output gradient is chosen, the operation
# of the next layer, which the gradient comes back through). Each view's numbers are checked against TensorFlow.
GRADIENTS = [
    ("every-kind-28", "rescale", "zero-padding"),
    ("every-kind-28", "conv1_relu", "batch-norm"),
    ("every-kind-28", "conv2", "tanh"),
    ("every-kind-28", "dense1", "sigmoid"),
    ("every-kind-32", "act", "global-average-pool"),
    ("every-kind-32", "gap", "linear"),
]
LEARNED = "#learn-result:not([hidden])[data-state=done] [data-testid=gradient-bands] .gradient-band"


def learned_steps(page, url: str, name: str) -> list[dict]:
    """A 3 drawn on /learn for network ``name``: the answers of its /api/learn step requests (probe=0), once shown."""
    learned = []
    page.on("response", lambda response: learned.append(response) if "/api/learn?" in response.url else None)
    page.goto(f"{url}/learn?model={name}")
    draw(page, 3, seed=33)
    page.wait_for_selector(LEARNED, timeout=90_000)
    steps = [response.json() for response in learned if response.ok and "probe=0" in response.url]
    assert steps, [(response.status, response.url) for response in learned]
    return steps


@pytest.mark.parametrize(("name", "layer", "operation"), GRADIENTS, ids=[f"{name}-{layer}" for name, layer, _ in GRADIENTS])
def test_the_learning_page_explains_the_gradient_through_each_new_kind(page, operator_server, name, layer, operation):
    """A gradient cell chosen on /learn: the view of the next layer's kind, its δ and factor, their product and the
    sum the page shows are TensorFlow's (GradientTape on the network's Keras model, on the image the network saw)."""
    url, folder = operator_server
    steps = learned_steps(page, url, name)
    target = page.locator(f"[data-testid=gradient-band-{layer}] canvas:not(.mask)").first
    target.scroll_into_view_if_needed()
    with page.expect_response(lambda response: "/api/learn/explain" in response.url) as answered:
        target.click()
    assert answered.value.ok, answered.value.text()
    answer = answered.value.json()
    assert (answer["operation"], answer["layer"], answer["of"]) == (operation, layer, "output")
    page.wait_for_selector("#gradient-panel[data-state=done]", timeout=60_000)
    assert page.get_attribute("#gradient-panel", "data-layer") == layer

    # TensorFlow's numbers for the same image and label.
    names = [layer_name for layer_name, _ in kinds(folder, name)]
    position, at = names.index(layer), tuple(answer["at"])
    assert answer["through"] == names[position + 1]
    model, gradients, outputs = keras_gradients(folder / name, steps[-1]["input"], answer["label"])
    expected = float(gradients[position][0][at])
    scale = float(np.abs(gradients[position]).max())
    assert abs(answer["value"] - expected) <= 1e-4 * scale, (answer["value"], expected, scale)
    keras_layer = model.get_layer(answer["through"])
    if operation == "zero-padding":
        (top, _), (left, _) = keras_layer.padding
        where, factor = (at[0] + top, at[1] + left, at[2]), 1.0
    elif operation == "batch-norm":
        variables = {variable.name.split("/")[-1]: variable.numpy() for variable in keras_layer.weights}
        gamma = variables["gamma"][at[2]] if "gamma" in variables else 1.0
        deviation = np.sqrt(np.float64(variables["moving_variance"][at[2]]) + keras_layer.epsilon)
        where, factor = at, gamma / deviation
    elif operation in ("tanh", "sigmoid"):
        y = float(outputs[position + 1][0][at])
        where, factor = at, (1 - y * y if operation == "tanh" else y * (1 - y))
    elif operation == "global-average-pool":
        height, width = outputs[position].shape[1:3]
        where, factor = (at[2],), 1 / (height * width)
    else:  # linear
        where, factor = at, 1.0
    delta = float(gradients[position + 1][0][where])
    delta_scale = float(np.abs(gradients[position + 1]).max())

    # What the panel shows: one term, δ × factor; the sum; the backward pass's value in the title and below.
    panel = page.locator("#gradient-panel")
    rows = panel.locator(".terms-table tbody tr:not(.terms-total)")
    assert rows.count() == 1
    shown_delta, shown_factor, shown_term = (rows.first.locator("td.num").nth(index).text_content() for index in range(3))
    assert_shown(shown_delta, delta, 1e-4 * delta_scale)
    assert_shown(shown_factor, factor, 1e-6 * abs(factor))
    assert_shown(shown_term, expected, 1e-4 * scale)
    assert_shown(panel.locator(".terms-total td.num").text_content(), expected, 1e-4 * scale)
    title = panel.locator(".explain-title").text_content()
    assert title.startswith(f"∂L/∂{layer}[{','.join(map(str, at))}] = "), title
    assert_shown(title.split(" = ")[-1], expected, 1e-4 * scale)
    backpropagated, added = panel.locator(".gradient-value").text_content().split("(float32)")[1].split(";")
    assert_shown(re.findall(NUMBER, backpropagated)[0], answer["value"], 0)  # to the digits shown
    assert_shown(re.findall(NUMBER, added.split("give")[-1])[0], answer["computed"], 0)
    # The rule says which kind it went through, with that kind's own numbers.
    rule = panel.locator(".gradient-rule").text_content()
    assert rule.startswith(answer["through"]), rule
    if operation in ("tanh", "sigmoid"):
        _, y_part, slope_part = rule.split(" = ")  # "... y = Y, and ... = SLOPE: δ × ..."
        shown_y, shown_slope = re.findall(NUMBER, y_part)[0], re.findall(NUMBER, slope_part)[0]
        assert_shown(shown_y, y, 1e-6)
        assert_shown(shown_slope, factor, 1e-6)
    elif operation == "batch-norm":
        shown_gamma, shown_deviation = re.findall(NUMBER, rule.split(" = ")[-1])[:2]
        assert_shown(shown_gamma, gamma, 1e-6 * abs(gamma))
        assert_shown(shown_deviation, deviation, 1e-6 * deviation)
    elif operation == "zero-padding":
        assert f"row {where[0]}, column {where[1]}" in rule, rule
    # The gradient check (勾配確認) agrees: float64 numerical differentiation of the whole network.
    check = re.findall(NUMBER, panel.locator(".gradient-check li").nth(1).text_content().split("=")[-1])[0]
    assert_shown(check, expected, 1e-3 * scale + 1e-6)
    assert page.console_errors == []


NUMBER = r"[−-]?[0-9]+(?:[.,][0-9]+)*(?:e[−+-]?[0-9]+| × 10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?"
SUPERSCRIPTS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def shown(text: str) -> tuple[float, float]:
    """A number as the learning page writes it (a real minus, "1.2e-5" or "1.2 × 10⁻⁵") and half a unit of its
    last digit (its rounding error at most)."""
    text = text.strip().replace("\u2212", "-").replace(",", "")
    if "×" in text:
        mantissa, power = text.split("×")
        exponent = int(power.strip()[2:].translate(SUPERSCRIPTS))
    elif "e" in text:
        mantissa, power = text.split("e")
        exponent = int(power)
    else:
        mantissa, exponent = text, 0
    mantissa = mantissa.strip()
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return float(mantissa) * 10.0**exponent, 0.5 * 10.0 ** (exponent - decimals)


def assert_shown(text: str, expected: float, tolerance: float) -> None:
    """The number ``text`` shows is ``expected``, to its last digit (and ``tolerance`` for float32 rounding)."""
    value, half = shown(text)
    assert abs(value - expected) <= half * 1.0001 + tolerance, (text, expected, tolerance)


def keras_gradients(folder, image, label: int):
    """(the Keras model, d loss / d every layer's output, every layer's output), input first, by GradientTape."""
    import keras
    import tensorflow as tf

    model = keras.saving.load_model(folder / KERAS_FILE, compile=False)
    with tf.GradientTape() as tape:
        x = tf.constant(np.asarray(image, np.float32)[None, ..., None])
        tape.watch(x)
        tensors = [x]
        for keras_layer in model.layers:
            if not isinstance(keras_layer, keras.layers.InputLayer):
                tensors.append(keras_layer(tensors[-1], training=False))
        loss = -tf.math.log(tensors[-1][0, label])
    gradients = [np.asarray(gradient) for gradient in tape.gradient(loss, tensors)]
    return model, gradients, [np.asarray(tensor) for tensor in tensors]


@pytest.mark.parametrize("variable", ["gamma", "beta"])
def test_the_learning_page_explains_a_batch_norms_gamma_and_beta(page, operator_server, variable):
    """A γ (β) cell clicked under a batch normalization's band: the panel's value, its terms' sum and the update
    w' = w − η·g are TensorFlow's d loss / d γ[c] (GradientTape on the weights, on the image the network saw)."""
    from tests.test_import import tensorflow_gradients

    url, folder = operator_server
    steps = learned_steps(page, url, "every-kind-28")
    band = page.locator("[data-testid=gradient-band-norm]")
    assert band.locator("canvas.strip[data-of=gamma]").count() == 1 and band.locator("canvas.strip[data-of=beta]").count() == 1
    assert "γ" in band.locator(".band-text").text_content()
    strip = band.locator(f"canvas.strip[data-of={variable}]")
    strip.scroll_into_view_if_needed()
    box = strip.bounding_box()
    with page.expect_response(lambda response: "/api/learn/explain" in response.url) as answered:
        page.mouse.click(box["x"] + box["width"] * 2.5 / 4, box["y"] + box["height"] / 2)  # channel 2 of 4
    assert answered.value.ok, answered.value.text()
    answer = answered.value.json()
    assert (answer["layer"], answer["of"], answer["at"]) == ("norm", variable, [2])
    page.wait_for_selector("#gradient-panel[data-state=done]", timeout=60_000)
    assert page.get_attribute("#gradient-panel", "data-of") == variable

    import keras

    model = keras.saving.load_model(folder / "every-kind-28" / KERAS_FILE, compile=False)
    _, weights = tensorflow_gradients(model, np.asarray(steps[-1]["input"], np.float32)[None], np.array([answer["label"]]))
    expected = float(weights["norm"][variable][2])
    scale = float(np.abs(weights["norm"][variable]).max())
    panel = page.locator("#gradient-panel")
    title = panel.locator(".explain-title").text_content()
    symbol = {"gamma": "γ", "beta": "β"}[variable]
    assert title.startswith(f"∂L/∂{symbol}_norm[2] = "), title
    assert_shown(title.split(" = ")[-1], expected, 1e-4 * scale)
    # The terms the page lists add up, in the digits shown, to the value: the shown rows and the row of the rest.
    rows = panel.locator(".terms-table tbody tr:not(.terms-total)")
    shown_terms = [shown(row.locator("td.num").last.text_content()) for row in rows.all()]
    total, half = shown(panel.locator(".terms-total td.num").text_content())
    assert abs(sum(value for value, _ in shown_terms) - total) <= sum(step for _, step in shown_terms) * 1.0001 + half
    assert_shown(panel.locator(".terms-total td.num").text_content(), expected, 1e-4 * scale)
    # The update of this weight: w' = w − η·g with γ's own numbers (SGD, the page's default rate).
    weight = float(model.get_layer("norm").get_weights()[0 if variable == "gamma" else 1][2])
    numbers = re.findall(NUMBER, panel.locator(".update-numbers").text_content())
    assert_shown(numbers[0], weight, 1e-6 * abs(weight))
    assert_shown(numbers[-1], weight - answer["update"]["rate"] * answer["value"], 1e-6 * abs(weight))
    if variable == "gamma":  # x̂'s mean and √(variance + ε) for the channel, the layer's own numbers
        mean, deviation = re.findall(NUMBER, panel.locator(".gradient-statistics").text_content().split("=")[-1])[:2]
        moving_mean, moving_variance = (model.get_layer("norm").get_weights()[index][2] for index in (2, 3))
        assert_shown(mean, float(moving_mean), 1e-6)
        assert_shown(deviation, float(np.sqrt(np.float64(moving_variance) + 1e-3)), 1e-6)
    assert page.console_errors == []


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_screenshots_of_the_learning_page_with_a_batch_norm(browser, operator_server, lang, scheme, width, height):
    url, _ = operator_server
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme, locale=lang)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{url}/learn?model=every-kind-28&lang={lang}")
    draw(page, 3, seed=33)
    page.wait_for_selector(LEARNED, timeout=90_000)
    strip = page.locator("[data-testid=gradient-band-norm] canvas.strip[data-of=gamma]")
    strip.scroll_into_view_if_needed()
    strip.click()
    page.wait_for_selector("#gradient-panel[data-state=done]", timeout=60_000)
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.locator("[data-testid=gradient-band-norm]").screenshot(
        path=os.path.join(SCREENSHOTS, f"import-learn-norm-{width}-{lang}-{scheme}.png"))
    page.screenshot(path=os.path.join(SCREENSHOTS, f"import-learn-{width}-{lang}-{scheme}.png"))
    assert errors == []
    context.close()
