"""Both pages in Japanese in Chromium: no English left in what a reader sees, the switch and ?lang= work.

Screenshots of every page in Japanese, desktop and phone, go to screenshots/.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.browser import digit_strokes, draw_with_mouse, pad_box, wait_done
from tests.conftest import SCREENSHOTS
from webapp.artifacts import ARTIFACTS, discover

pytestmark = pytest.mark.browser

# Names that Japanese material leaves in Latin letters (MNIST, ReLU, Keras, the book's
# "Max プーリング" and "Affine", the letters of OH = (H + 2P − FH) / S + 1, keys) and the
# brand. Layer and network names are added from the page itself (its <code> and band ids).
KEPT = {
    "digit-lens", "MNIST", "CNN", "LeNet", "ReLU", "Keras", "PyTorch", "Affine", "Max", "Average",
    "Flatten", "Rescaling", "SimpleConvNet", "Deep", "Learning", "max", "same", "valid",
    "OH", "OW", "FH", "FW", "PH", "PW", "Ctrl", "Esc", "Enter", "Tab", "Delete", "Cmd", "Sobel", "exp",
    "exp",  # in formulas, as max is
    "DeepLearning",  # seed 000's article's title spells the book's name as one word: a title, not prose
}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]")
NUMBERED = re.compile(r"\d")  # conv1, relu3, LeNet-5: names of layers and networks, never English prose

# Every piece of text a reader meets: text nodes of rendered elements, titles, labels
# and placeholders, except inside elements marked as another language (lang="en" on the
# switch) and <code>/<kbd> (names and keys).
VISIBLE_TEXT = """() => {
    const pieces = [];
    const foreign = (node) => {
        const marked = node.closest('[lang]');
        return marked && marked.lang !== document.documentElement.lang;
    };
    const rendered = (element) => element.getClientRects().length > 0 && getComputedStyle(element).visibility !== 'hidden';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        const text = node.textContent.trim();
        if (!text || !parent || parent.closest('script, style, code, kbd') || foreign(parent) || !rendered(parent)) continue;
        pieces.push(text);
    }
    for (const element of document.querySelectorAll('[title], [aria-label], [placeholder], [alt]')) {
        if (foreign(element) || element.closest('code, kbd')) continue;
        for (const name of ['title', 'aria-label', 'placeholder', 'alt']) {
            const value = element.getAttribute(name);
            if (value) pieces.push(value);
        }
    }
    // A <select>'s options are read when it opens.
    for (const option of document.querySelectorAll('option, optgroup')) {
        if (!foreign(option)) pieces.push(option.label || option.textContent.trim());
    }
    pieces.push(document.title);
    return pieces;
}"""

NAMES = """() => [...document.querySelectorAll('code, [data-testid^=band-], [data-model], a[href^="#band-"]')].flatMap((element) =>
    [element.localName === 'code' ? element.textContent : '', element.dataset.model,
     (element.dataset.testid || '').replace('band-', ''), (element.getAttribute('href') || '').replace('#band-', '')]).filter(Boolean)"""


def english_left(page) -> list[str]:
    """The pieces of visible text that still hold English words."""
    # The served networks' names (keras-mnist, torch-net, ...) are names, like layer names.
    kept = set(KEPT) | {word for name in discover(ARTIFACTS) for word in WORD.findall(name)}
    for name in page.evaluate(NAMES):
        kept.update(WORD.findall(name))
    return [
        piece
        for piece in page.evaluate(VISIBLE_TEXT)
        if any(word not in kept and not NUMBERED.search(word) for word in WORD.findall(piece))
    ]


def open_japanese(page, live_server, path: str) -> None:
    page.goto(f"{live_server}{path}?lang=ja")
    assert page.evaluate("document.documentElement.lang") == "ja"


def draw(page, digit: int, seed: int) -> None:
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(digit, box["width"], seed=seed).strokes, box)
    assert wait_done(page) == str(digit)


def test_drawing_page_has_no_english_left(page, live_server):
    open_japanese(page, live_server, "/")
    page.wait_for_selector("[data-testid=probabilities] li")
    assert english_left(page) == []  # before drawing
    draw(page, 4, seed=41)
    status = page.locator("[data-testid=status]").text_content()
    assert status.startswith("4 と読み取りました"), status
    assert english_left(page) == []
    # A message shown when the server cannot be reached is Japanese too.
    page.route("**/api/predict?*", lambda route: route.abort("connectionrefused"))
    page.click("[data-testid=clear]")
    draw_with_mouse(page, digit_strokes(1, pad_box(page)["width"], seed=42).strokes, pad_box(page))
    wait_done(page)
    assert "サーバーに接続できません" in page.locator("[data-testid=status]").text_content()
    assert english_left(page) == []
    assert [error for error in page.console_errors if "ERR_CONNECTION_REFUSED" not in error] == []


def test_layers_page_has_no_english_left(page, live_server):
    open_japanese(page, live_server, "/layers")
    assert english_left(page) == []  # before drawing: the invitation to draw
    draw(page, 7, seed=43)
    page.wait_for_selector("#bands:not([hidden]) .band")
    assert english_left(page) == []
    conv = page.locator("[data-testid=band-conv1] .band-text").text_content()
    # The book's letters and this layer's real numbers.
    assert "OH = (H + 2P − FH) / S + 1 = (28 + 2·2 − 5) / 1 + 1 = 28" in conv, conv
    assert "ストライド 1" in conv and "パディング" in conv and "フィルター" in conv and "832" in conv
    # Where the parameters are counted: the seeds' 重みの共有 and チャンネル.
    assert "重みの共有" in conv and "チャンネル" in conv, conv
    titles = page.locator(".band-title").all_text_contents()
    for term in ("畳み込み層", "活性化関数（ReLU）", "プーリング層（Max プーリング）", "全結合層（Affine）", "ドロップアウト", "ソフトマックス関数"):
        assert any(term in title for title in titles), (term, titles)

    # The hover tooltip.
    target = page.locator("[data-testid=band-conv2] canvas.map").nth(5)
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.locator("#tooltip").wait_for(state="visible")
    assert page.locator("#tooltip .tooltip-text").text_content().startswith("conv2 · マップ #5 · 7 行 7 列：")
    assert "入力の 8〜21 行、8〜21 列を見ています" in page.locator("#tooltip .tooltip-field").text_content()
    assert english_left(page) == []

    # A click shows how the cell was computed (issue 13's panel), in Japanese too.
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_selector("[data-testid=explain][data-layer=conv2][data-state=done]")
    assert "個の部分和を足すと" in page.locator("[data-testid=explain]").text_content()
    assert english_left(page) == []

    # The enlarged map beside its filter.
    page.click("[data-testid=explain] .explain-enlarge")
    page.locator("#zoom").wait_for(state="visible")
    page.wait_for_selector("#zoom .zoom-kernel canvas")
    assert "conv2 のフィルター #5" in page.locator("#zoom .zoom-caption").first.text_content()
    assert english_left(page) == []
    assert page.console_errors == []


def test_playground_has_no_english_left(page, live_server):
    open_japanese(page, live_server, "/playground")
    page.wait_for_selector("[data-testid=pg-output] td")
    assert english_left(page) == []
    assert page.locator("[data-testid=pg-size]").text_content().startswith("OH = (H + 2P − FH) / S + 1")
    page.locator("[data-testid=pg-output] td").nth(1).click()
    assert page.locator("[data-testid=pg-sum]").text_content().startswith("セル（0, 1）：")
    page.check("input[name=pooling][value=max]")
    page.check("input[name=padding][value='1']")
    assert "Max プーリング" in page.locator("[data-testid=pg-pool-size]").text_content()
    assert english_left(page) == []
    # A filter of one's own, written wrong: the message says so in Japanese.
    page.select_option("[data-testid=pg-kernel]", "custom")
    page.fill("[data-testid=pg-custom]", "1 x")
    page.locator("#pg-error").wait_for(state="visible")
    assert page.locator("#pg-error").text_content() == "数だけを書いてください。1 行がフィルターの 1 行です。"
    assert english_left(page) == []
    assert page.console_errors == []


def test_every_page_linked_from_the_header_has_no_english_left(page, live_server):
    """Pages as they open, before any drawing: each page the header links to (new pages join by being linked)."""
    open_japanese(page, live_server, "/")
    paths = page.eval_on_selector_all("header a[href^='/']:not([hreflang])", "links => [...new Set(links.map((link) => link.getAttribute('href')))]")
    assert {"/", "/layers"} <= {path.split("?")[0] for path in paths}, paths
    for path in paths:
        page.goto(live_server + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.lang") == "ja", path
        assert english_left(page) == [], path
    assert page.console_errors == []


T_CALLS = """async () => {
    const { t, tn } = await import('/static/js/lib/i18n.js');
    return [
        t('Read as %(digit)s, %(percent)s sure.', { digit: 7, percent: '98%' }),
        tn('output %(shape)s · %(num)s parameter', 'output %(shape)s · %(num)s parameters', 1, { shape: '2×2' }),
        tn('output %(shape)s · %(num)s parameter', 'output %(shape)s · %(num)s parameters', 832, { shape: '2×2' }),
        t('A string no catalogue has, %(value)s%%', { value: 5 }),
    ];
}"""


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ja", ["7 と読み取りました（確信度 98%）。", "出力 2×2 · パラメータ 1 個", "出力 2×2 · パラメータ 832 個", "A string no catalogue has, 5%"]),
        ("en", ["Read as 7, 98% sure.", "output 2×2 · 1 parameter", "output 2×2 · 832 parameters", "A string no catalogue has, 5%"]),
    ],
)
def test_t_in_the_es_modules(page, live_server, lang, expected):
    """The modules' t()/tn(): placeholders, %%, plural forms, and English for a string without a translation."""
    page.goto(f"{live_server}/?lang={lang}")
    assert page.evaluate(T_CALLS) == expected
    assert page.console_errors == []


def test_the_switch_changes_the_language_and_remembers_it(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/layers#kept")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("h1").text_content() == "Inside the network"
    assert "Inside the network" in english_left(page)  # the check does see English
    switch = page.locator("[data-testid=lang]")
    assert switch.text_content().strip() == "日本語" and switch.locator("a").get_attribute("lang") == "ja"
    switch.click()
    page.wait_for_url("**/layers?lang=ja#kept")
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert page.locator("h1").text_content() == "ネットワークの中"
    # Remembered: the other page, without ?lang=, is Japanese although the browser asks for English.
    page.click("header nav a[href='/']")
    page.wait_for_url(f"{live_server}/")
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert page.locator("h1").text_content() == "数字を描こう"
    # And back.
    page.locator("[data-testid=lang]").click()
    page.wait_for_url("**/?lang=en")
    assert page.locator("h1").text_content() == "Draw a digit"
    page.goto(f"{live_server}/layers")
    assert page.evaluate("document.documentElement.lang") == "en"
    context.close()


def test_accept_language_and_lang_parameter(browser, live_server):
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    page.goto(f"{live_server}/")
    assert page.evaluate("document.documentElement.lang") == "ja"
    page.goto(f"{live_server}/layers?lang=en")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("[data-testid=lang] a").get_attribute("lang") == "ja"
    context.close()


@pytest.mark.parametrize(("size", "viewport"), [("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})])
def test_screenshots_in_japanese(browser, live_server, size, viewport):
    """Both pages in Japanese, for a person to look at (the CJK font comes with `make test`'s setup)."""
    context = browser.new_context(viewport=viewport, device_scale_factor=2 if size == "phone" else 1)
    page = context.new_page()
    os.makedirs(SCREENSHOTS, exist_ok=True)
    open_japanese(page, live_server, "/")
    page.wait_for_selector("[data-testid=probabilities] li")
    draw(page, 2, seed=44)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"ja-draw-{size}.png"), full_page=True)
    page.click("#to-layers")
    page.wait_for_selector("#bands:not([hidden]) .band")
    wait_done(page)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"ja-layers-{size}.png"))
    page.locator("[data-testid=band-conv1]").scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(SCREENSHOTS, f"ja-layers-conv1-{size}.png"))
    page.goto(f"{live_server}/playground")
    page.wait_for_selector("[data-testid=pg-output] td")
    page.locator("[data-testid=pg-output] td").nth(4).click()
    page.screenshot(path=os.path.join(SCREENSHOTS, f"ja-playground-{size}.png"), full_page=True)
    context.close()
