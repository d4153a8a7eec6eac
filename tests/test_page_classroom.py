"""The classroom pages in Chromium: a teacher and two students, each in their own browser context, in English
and Japanese, on SQLite and on PostgreSQL; screenshots at desktop and phone width, light and dark."""

from __future__ import annotations

import io
import os
import re
import zipfile

import pytest
from playwright.sync_api import expect

from bench.server import gunicorn, wait_ready
from tests.browser import digit_strokes, draw_with_mouse, pad_box
from tests.classroom_support import postgres  # noqa: F401 - fixture
from tests.conftest import SCREENSHOTS, SERVED_NETWORKS

pytestmark = pytest.mark.browser
# The machine may be busy (a class's page polls, five networks read each drawing): be patient.
expect.set_options(timeout=30_000)

TEXT = {
    "en": {"join": "Join a class", "kept": "Kept. Draw the next digit.", "deleted": "already deleted"},
    "ja": {"join": "クラスに参加する", "kept": "保存しました。次の数字を描いてください。", "deleted": "すでに削除"},
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def classroom_server(request, tmp_path_factory):
    """gunicorn (2 workers, the shipped networks) on a fresh SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('classroom') / 'classroom.sqlite3'}"
    else:
        cluster = request.getfixturevalue("postgres")
        url = cluster.url(cluster.new_database())
    with gunicorn(workers=2, extra_env={"DATABASE_URL": url}) as (port, _master):
        wait_ready(port, workers=2)
        yield f"http://127.0.0.1:{port}"


# Words of the accuracy table's headers and network names that are split over two lines (each word's line
# boxes, words being what lies between spaces: "このクラス" once broke after "この", "keras-mnist" at its hyphen).
HEADER_LINES = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll('[data-testid=accuracy] th')) {
    const text = cell.firstChild && cell.firstChild.nodeType === Node.TEXT_NODE ? cell.firstChild : null;
    if (!text) continue;
    for (const match of text.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(text, match.index); range.setEnd(text, match.index + match[0].length);
      if (new Set([...range.getClientRects()].map((box) => Math.round(box.top))).size > 1) broken.push(match[0]);
    }
  }
  return broken.length ? {ok: false, broken} : {ok: true};
}"""


def new_page(browser, width: int = 1280, height: int = 900, scheme: str = "light", scale: int = 1):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme,
                                  device_scale_factor=scale, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    return page


def open_class(page, base: str, language: str) -> tuple[str, str]:
    page.goto(f"{base}/classroom?lang={language}")
    assert page.locator("html").get_attribute("lang") == language
    assert page.get_by_role("heading", name=TEXT[language]["join"]).is_visible()
    page.click("[data-testid=open-class]")
    page.wait_for_selector("[data-testid=opened]:not([hidden])")
    code = page.locator("[data-testid=class-code]").text_content().strip()
    link = page.locator("[data-testid=teacher-link]").get_attribute("href")
    assert re.fullmatch(r"[0-9A-Z]{8}", code) and "#teacher=" in link
    return code, link


def join(page, base: str, code: str, language: str) -> None:
    page.goto(f"{base}/classroom?lang={language}")
    page.fill("[data-testid=join-code]", code.lower())
    page.press("[data-testid=join-code]", "Enter")
    page.wait_for_url(re.compile(rf"/classroom/{code}$"))
    expect(page.locator("[data-testid=join-status]")).to_have_text(re.compile(".+"))


def draw_and_keep(page, digit: int, language: str, keyboard: bool = False) -> None:
    box = pad_box(page)
    draw_with_mouse(page, digit_strokes(digit, box["width"], seed=40 + digit).strokes, box)
    keep = page.locator("[data-testid=keep]")
    if keyboard:
        page.focus("input[name=label][value='0']")
        for _ in range(digit):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Tab")
        expect(page.locator("[data-testid=consent]")).to_be_focused()
        assert keep.is_disabled()  # no consent yet
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
    else:
        page.check(f"input[name=label][value='{digit}']", force=True)
        assert keep.is_disabled()  # no consent yet
        page.check("[data-testid=consent]")
        keep.click()
    expect(page.locator("[data-testid=keep-status]")).to_have_text(TEXT[language]["kept"], timeout=15_000)
    assert not page.locator("[data-testid=consent]").is_checked()  # consent is per drawing


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_teacher_and_two_students(browser, classroom_server, language):
    base = classroom_server
    teacher = new_page(browser)
    first = new_page(browser, 390, 844, scale=2)
    second = new_page(browser)
    code, link = open_class(teacher, base, language)

    join(first, base, code, language)
    draw_and_keep(first, 3, language)
    readings = first.locator("[data-testid=readings] li")
    assert readings.count() == len(SERVED_NETWORKS)  # every served network (imported ones too)
    assert first.locator("[data-testid=my-drawings] li[data-id]").count() == 1

    join(second, base, code, language)
    draw_and_keep(second, 7, language, keyboard=True)
    draw_and_keep(second, 1, language)
    assert second.locator("[data-testid=my-drawings] li[data-id]").count() == 2

    teacher.goto(link)
    teacher.wait_for_selector("body[data-loaded=true]")
    assert "#teacher" not in teacher.url  # the token leaves the address bar
    expect(teacher.locator("[data-testid=drawing-count]")).to_have_text("3")
    counts = teacher.locator("[data-testid=per-digit] .bar-value").all_text_contents()
    assert counts == ["0", "1", "0", "1", "0", "0", "0", "1", "0", "0"]
    assert teacher.locator("[data-testid=accuracy] tbody tr").count() == len(SERVED_NETWORKS)
    assert teacher.locator("[data-testid=hardest] li").count() >= 1
    # Only digits some network misread are called hard; none of them was read right every time.
    hard = teacher.locator("[data-testid=hardest] li:not(.none)").all_text_contents()
    assert not any("100.0" in text for text in hard), hard
    # A cell of row 3 opens the drawing.
    row_three = teacher.locator("[data-testid=confusion] tbody tr").nth(3).locator("button.cell")
    assert row_three.count() == 1
    row_three.click()
    teacher.wait_for_selector("[data-testid=cell-drawings]:not([hidden]) #cell-grid li")
    assert teacher.locator("#cell-grid li").count() == 1

    # The first student deletes their own drawing; the class page follows.
    first.click("[data-testid=delete-mine]")
    expect(first.locator("[data-testid=my-drawings] li[data-id]")).to_have_count(0)
    expect(teacher.locator("[data-testid=drawing-count]")).to_have_text("2", timeout=15_000)

    # The teacher exports, then deletes one of the second student's drawings from a confusion cell.
    with teacher.expect_download() as download:
        teacher.click("[data-testid=export-idx]")
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
    assert sorted(archive.namelist()) == ["images-idx3-ubyte", "labels-idx1-ubyte"]
    teacher.locator("[data-testid=confusion] tbody tr").nth(7).locator("button.cell").click()
    teacher.wait_for_selector("#cell-grid li")
    teacher.click("#cell-grid [data-testid=delete-drawing]")
    expect(teacher.locator("[data-testid=drawing-count]")).to_have_text("1", timeout=15_000)
    # The second student's token for it finds it gone, and forgets it.
    second.reload()
    second.locator("[data-testid=my-drawings] li[data-id]").first.wait_for()
    seven = second.locator("[data-testid=my-drawings] li[data-id]").filter(has_text="7")
    seven.locator("[data-testid=delete-mine]").click()
    expect(second.locator("[data-testid=keep-status]")).to_contain_text(TEXT[language]["deleted"])
    assert second.locator("[data-testid=my-drawings] li[data-id]").count() == 1

    os.makedirs(SCREENSHOTS, exist_ok=True)
    for width, height, scale, name in ((1280, 900, 1, "desktop"), (390, 844, 2, "phone")):
        for scheme in ("light", "dark"):
            shot = new_page(browser, width, height, scheme, scale)
            shot.goto(link.replace("/teacher#", f"/teacher?lang={language}#"))
            shot.wait_for_selector("body[data-loaded=true]")
            # Every column header of the accuracy table on one line: "このクラス" once broke after "この" at 390 px.
            assert shot.evaluate(HEADER_LINES) == {"ok": True}, (width, language)
            shot.screenshot(path=os.path.join(SCREENSHOTS, f"classroom-teacher-{language}-{name}-{scheme}.png"),
                            full_page=True)
            join(shot, base, code, language)
            box = pad_box(shot)
            draw_with_mouse(shot, digit_strokes(4, box["width"], seed=4).strokes, box)
            shot.check("input[name=label][value='4']", force=True)
            shot.screenshot(path=os.path.join(SCREENSHOTS, f"classroom-student-{language}-{name}-{scheme}.png"),
                            full_page=True)
            shot.context.close()

    # The teacher deletes the class (a refresh already in flight may then meet a 403: not counted).
    errors_before_deletion = list(teacher.console_errors)
    teacher.once("dialog", lambda dialog: dialog.accept())
    teacher.click("[data-testid=delete-class]")
    teacher.wait_for_selector("body[data-deleted=true]")
    # The one refusal expected: the second student's 403 for the drawing the teacher had deleted.
    assert [error for error in second.console_errors if "403" not in error] == [], second.console_errors
    assert errors_before_deletion == [] and first.console_errors == [], (teacher.console_errors, first.console_errors)
    for page in (teacher, first, second):
        page.context.close()


CLOSE = {"en": "Close", "ja": "閉じる"}


def tab_to(page, selector: str, presses: int = 60, back: bool = False) -> int:
    """Press Tab (Shift+Tab with ``back``) until the focused element matches ``selector``; how many presses."""
    for count in range(1, presses + 1):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if page.evaluate("(selector) => document.activeElement?.matches(selector) ?? false", selector):
            return count
    raise AssertionError(f"{selector} not reached in {presses} presses of Tab; focus is on "
                         + page.evaluate("document.activeElement?.outerHTML?.slice(0, 200)"))


def focused(page) -> dict:
    return page.evaluate("""() => ({testid: document.activeElement?.dataset?.testid ?? null,
        id: document.activeElement?.id ?? null, label: document.activeElement?.dataset?.label ?? null,
        predicted: document.activeElement?.dataset?.predicted ?? null})""")


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_teacher_does_everything_by_keyboard(browser, classroom_server, language):
    """Open a class, reach the confusion matrix's cells, open the drawings behind one, close them (Escape
    and the Close button), with no mouse at all; focus stays put while the page refreshes itself."""
    from tests.test_classroom_server import PNGS, call

    base = classroom_server
    port = int(base.rsplit(":", 1)[1])
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ja-JP" if language == "ja" else "en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/classroom?lang={language}")
    tab_to(page, "[data-testid=open-class]")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=teacher-link]")).to_be_focused()  # the page takes the teacher there
    code = page.locator("[data-testid=class-code]").text_content().strip()
    for label in (3, 3, 7):
        status, body = call(port, "POST", f"/api/classes/{code}/drawings?label={label}&consent=true", PNGS[label],
                            content_type="image/png")
        assert status == 201, body
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/classroom/{code}/teacher$"))
    page.wait_for_selector("body[data-loaded=true]")
    assert page.locator("html").get_attribute("lang") == language
    expect(page.locator("[data-testid=drawing-count]")).to_have_text("3")

    # Tab from the top of the page reaches the exports, the network chooser, then the matrix's cells.
    page.locator("body").focus()
    tab_to(page, "[data-testid=export-idx]")
    tab_to(page, "[data-testid=confusion-model]")
    tab_to(page, "[data-testid=confusion] button.cell")
    first = focused(page)
    cells = page.locator("[data-testid=confusion] button.cell")
    assert first["label"] is not None and cells.count() >= 1
    expected = int(page.evaluate("document.activeElement.textContent"))

    # Enter opens the cell's drawings, and focus moves to what opened.
    page.keyboard.press("Enter")
    panel = page.locator("[data-testid=cell-drawings]")
    expect(panel).to_be_visible()
    expect(page.locator("#cell-grid li")).to_have_count(expected)
    expect(page.locator("#cell-title")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("[data-testid=close-cell]")).to_be_focused()
    expect(page.locator("[data-testid=close-cell]")).to_have_text(CLOSE[language])
    page.keyboard.press("Tab")
    expect(page.locator("#cell-grid li [data-testid=delete-drawing]").first).to_be_focused()
    # Escape closes it and puts the teacher back on the same cell.
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert focused(page) == first

    # Space opens it again; the Close button closes it, back on the cell.
    page.keyboard.press("Space")
    expect(page.locator("#cell-title")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(panel).to_be_hidden()
    assert focused(page) == first

    # A student keeps a drawing meanwhile: the page redraws the matrix and the keyboard keeps its place.
    status, _body = call(port, "POST", f"/api/classes/{code}/drawings?label=7&consent=true", PNGS[7],
                         content_type="image/png")
    assert status == 201
    expect(page.locator("[data-testid=drawing-count]")).to_have_text("4", timeout=15_000)
    assert focused(page) == first

    # The next cells are one Tab away each, and Shift+Tab goes back.
    if cells.count() > 1:
        page.keyboard.press("Tab")
        second = focused(page)
        assert second["label"] is not None and second != first
        page.keyboard.press("Shift+Tab")
        assert focused(page) == first
    assert errors == []
    context.close()
