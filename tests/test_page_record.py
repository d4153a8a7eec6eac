"""The record page says what its numbers are: the sources by name, generated drawings as generated.

Both languages: a learner of the seeds knows SimpleConvNet as the book's (『ゼロから作るDeep
Learning』 ch. 7) and each seed by its article's title, not "seed 000"; the project's stroke
drawings are made by a program, so they are never called handwritten (手描き).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

SEED_000 = "ゼロから作るDeepLearning #10 - 畳み込みニューラルネットワーク -"
BOOK = "ゼロから作るDeep Learning"


def record_text(page, live_server, model: str, language: str) -> str:
    page.goto(f"{live_server}/record?model={model}&lang={language}")
    return page.locator("main").inner_text()


@pytest.mark.parametrize("language", ["en", "ja"])
def test_generated_drawings_are_never_called_handwritten(page, live_server, language):
    for model in ("digit-lens", "lenet"):
        text = record_text(page, live_server, model, language)
        assert "手描き" not in text and "handwritten" not in text.lower() and "hand-drawn" not in text.lower()
        if language == "en":
            assert "Generated stroke drawings read right" in text and "not handwriting" in text
        else:
            assert "生成した線画の数字の正解率" in text and "人の手書きではありません" in text


@pytest.mark.parametrize("language", ["en", "ja"])
def test_each_network_names_its_source_as_its_readers_know_it(page, live_server, language):
    text = record_text(page, live_server, "simple-convnet", language)
    assert f"『{BOOK}』" in text
    assert ("chapter 7" in text) if language == "en" else ("7 章" in text)
    text = record_text(page, live_server, "lenet", language)
    assert f"「{SEED_000}」" in text and "Qiita" in text
    for model in ("torch-net", "keras-mnist"):
        text = record_text(page, live_server, model, language)
        assert "「" in text  # an article's title
    text = record_text(page, live_server, "keras-mnist", language)
    assert "このネットワークの出典" not in text and "this network’s source" not in text


@pytest.mark.parametrize("language", ["en", "ja"])
def test_why_validation_loss_sits_below_training_loss(page, live_server, language):
    text = record_text(page, live_server, "digit-lens", language)
    if language == "en":
        assert "dropout" in text.lower() and "only while training" in text
    else:
        assert "ドロップアウト" in text and "訓練のときだけ" in text


def test_the_tables_scroll_from_the_keyboard(browser, live_server):
    """On a phone the tables are wider than the screen: each scrolling region is a tab stop with a name."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/record?model=digit-lens")
        regions = page.evaluate(
            """() => [...document.querySelectorAll('.table-scroll')].map((node) => ({
                 tabindex: node.getAttribute('tabindex'), role: node.getAttribute('role'),
                 label: node.getAttribute('aria-label') || node.getAttribute('aria-labelledby'),
                 scrolls: node.scrollWidth > node.clientWidth}))"""
        )
        assert regions and any(region["scrolls"] for region in regions), regions
        for region in regions:
            assert region["tabindex"] == "0" and region["role"] == "region" and region["label"], region
        table = page.locator(".table-scroll:has([data-testid=layer-parameters])")
        table.focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(200)
        assert table.evaluate("(node) => node.scrollLeft") > 0
    finally:
        context.close()


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_playground_names_the_articles_its_examples_come_from(page, live_server, language):
    page.goto(f"{live_server}/playground?lang={language}")
    menus = page.evaluate(
        """() => [...document.querySelectorAll('#pg-image, #pg-kernel')].flatMap((select) =>
             [...select.querySelectorAll('optgroup')].map((group) => group.label)
             .concat([...select.options].map((option) => option.textContent)))"""
    )
    text = " ".join(menus)
    assert "Seed 00" not in text and "記事 00" not in text
    assert f"「{SEED_000}」" in text and f"『{BOOK}』" in text and "「畳み込みニューラルネットワーク」" in text
    # The options still choose the seeds' examples.
    page.select_option("#pg-image", "seed000")
    page.select_option("#pg-kernel", "seed000")
    ending = "(「ゼロから作るDeepLearning #10」)" if language == "en" else "（「ゼロから作るDeepLearning #10」）"
    assert page.locator("#pg-image option:checked").text_content().endswith(ending)
