"""The module layout's one-way arrows: the serving side never imports train/, and has no import circles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEBAPP = sorted((ROOT / "webapp").rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function (``from . import x`` resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_the_webapp_modules_are_found():
    assert {"__init__.py", "api.py", "registry.py", "artifacts.py", "idx.py"} <= {path.name for path in WEBAPP}


@pytest.mark.parametrize("path", WEBAPP, ids=lambda path: str(path.relative_to(ROOT)))
def test_webapp_never_imports_train(path):
    """The wheel serves without train/ (Keras, TensorFlow and the training code stay out of a worker)."""
    offending = sorted(name for name in imported_modules(path) if name == "train" or name.startswith("train."))
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}; the serving side must not use train/"


def webapp_graph() -> dict[str, set[str]]:
    """webapp module -> the webapp modules it imports."""
    modules = {".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path for path in WEBAPP}
    graph = {}
    for module, path in modules.items():
        graph[module] = {name for name in imported_modules(path) if name in modules and name != module}
    return graph


def test_webapp_has_no_import_circles():
    """The arrows point one way (pages and api -> registry -> model, gate -> artifacts), the package's own
    ``webapp`` (create_app) aside: its modules import it only for create_app's wiring, at call time."""
    graph = {module: imports - {"webapp"} for module, imports in webapp_graph().items() if module != "webapp"}
    circles = []

    def visit(module: str, path: list[str], done: set[str]) -> None:
        if module in path:
            circles.append([*path[path.index(module):], module])
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, [*path, module], done)
        done.add(module)

    done: set[str] = set()
    for module in sorted(graph):
        visit(module, [], done)
    assert not circles, f"import circles: {circles}"
