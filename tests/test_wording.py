"""The project's generated stroke drawings are called what they are in every text a reader meets.

`train/drawings.py` draws them from random strokes: no person wrote them, so README, docs,
templates, the Japanese catalogue and the cards never call them handwritten (手描き) or
"drawn digits" (which reads as a person's), and the README says what they are.
MNIST's digits are handwriting; "handwritten" stays right for them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MISLEADING = re.compile(r"drawn digits|hand-?drawn|手描き|手書きの数字の正解率|手書きの例", re.IGNORECASE)


def texts() -> dict[str, str]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "templates").glob("*.html"))]
    found = {str(path.relative_to(ROOT)): path.read_text() for path in files}
    catalogue = (ROOT / "webapp" / "translations" / "ja" / "LC_MESSAGES" / "messages.po").read_text()
    found["messages.po (msgstr)"] = "\n".join(re.findall(r'^msgstr "(.*)"$', catalogue, re.MULTILINE))
    return found


def test_no_text_calls_the_generated_drawings_handwriting():
    wrong = {name: MISLEADING.findall(text) for name, text in texts().items() if MISLEADING.search(text)}
    assert wrong == {}


def test_the_readme_says_what_the_drawings_are():
    readme = (ROOT / "README.md").read_text()
    assert "generated stroke drawings" in readme and "not handwriting" in readme


def test_every_card_says_its_drawn_set_is_generated():
    for card in sorted((ROOT / "webapp" / "artifacts").glob("*/card.json")):
        drawn = json.loads(card.read_text()).get("drawn")
        if drawn:
            assert drawn["what"].startswith("generated stroke drawings, not handwriting"), card
