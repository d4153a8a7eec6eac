"""Every stylesheet the app serves parses cleanly, with every block closed.

A browser forgives a missing `}`: it closes the block at the end of the file, and every
rule after the brace silently moves inside it. That is how `@media (max-width: 979px) {`
once left the record page unstyled above 979 px while every test passed. A real CSS
parser (tinycss2, the CSS Syntax Module's algorithm) finds it: a rule appended to the file
lands at the top level only when every block was closed where the author meant.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tinycss2

ROOT = Path(__file__).resolve().parent.parent
STYLESHEETS = sorted((ROOT / "static").rglob("*.css"))
# At-rules whose block holds rules (the rest hold declarations, or nothing).
RULE_BLOCKS = {"media", "supports", "layer", "container", "document", "scope", "starting-style"}


def parse_errors(nodes, where: str) -> list[str]:
    """Every ParseError in a list of nodes, with its line, descending into blocks."""
    errors = []
    for node in nodes:
        if node.type == "error":
            errors.append(f"{where}:{node.source_line}:{node.source_column}: {node.kind}: {node.message}")
        elif node.type == "qualified-rule":
            errors += parse_errors(tinycss2.parse_blocks_contents(node.content), where)
        elif node.type == "at-rule" and node.content is not None:
            if node.lower_at_keyword in RULE_BLOCKS:
                errors += parse_errors(tinycss2.parse_rule_list(node.content), where)
            else:
                errors += parse_errors(tinycss2.parse_blocks_contents(node.content), where)
        elif node.type == "declaration":
            errors += parse_errors(node.value, where)
    return errors


# Appended to a stylesheet: when every block was closed, it parses as the last rule at the top level.
SENTINEL = "@digit-lens-end-of-file;"


def unclosed_blocks(text: str) -> list[str]:
    """Blocks ({}, (), []) that the end of the file closed instead of the author, or a stray closing brace.

    A parser closes whatever is open at the end of the file, so an at-rule appended to the
    text lands at the top level only if nothing was left open (and no stray `}` began a rule).
    """
    rules = tinycss2.parse_stylesheet(text + "\n" + SENTINEL, skip_comments=True, skip_whitespace=True)
    last = rules[-1] if rules else None
    if last is not None and last.type == "at-rule" and last.lower_at_keyword == SENTINEL[1:-1]:
        return []
    opened = []
    node = last
    while node is not None:
        opened.append(f"line {node.source_line}")
        children = getattr(node, "content", None) or getattr(node, "prelude", None) or []
        node = next((child for child in reversed(children) if SENTINEL[1:-1] in tinycss2.serialize([child])), None)
    return [f"a block is still open at the end of the file (opened at {' > '.join(opened[:-1]) or opened[0]})"]


def test_there_are_stylesheets():
    assert STYLESHEETS, "no stylesheet found under static/"


@pytest.mark.parametrize("path", STYLESHEETS, ids=lambda p: str(p.relative_to(ROOT)))
def test_stylesheet_parses_without_errors(path: Path):
    text = path.read_text(encoding="utf-8")
    name = str(path.relative_to(ROOT))
    rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
    problems = parse_errors(rules, name) + unclosed_blocks(text)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "text, found",
    [
        ("a { color: red; }\n@media (max-width: 979px) {\n  b { color: blue; }\nc { color: green; }\n", True),
        ("a { color: red; }}\n", True),
        ("a { color: red; }\n@media (min-width: 1px) { b { color: blue; } }\n", False),
        ("a::after { content: '}'; } /* { */\n", False),
    ],
)
def test_the_check_finds_an_unbalanced_block(text: str, found: bool):
    rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
    problems = parse_errors(rules, "example.css") + unclosed_blocks(text)
    assert bool(problems) is found, problems
