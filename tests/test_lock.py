"""pyproject.toml and the locks in requirements/ agree (offline: reads files, resolves nothing).

pyproject.toml holds the ranges; requirements/serve.txt and requirements/test.txt hold what
`make` and CI install (exact versions with hashes). When someone edits one without `make lock`,
this fails and says which requirement is out of step.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def pins(lock: Path) -> dict[str, Version]:
    """Package -> pinned version, from a lock written by `make lock`."""
    found = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[canonicalize_name(match[1])] = Version(match[2])
    return found


def hashed(lock: Path) -> bool:
    """Whether every pin of ``lock`` carries at least one --hash (what pip's --require-hashes needs)."""
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text())
    return all("--hash=sha256:" in block for block in blocks if PIN.match(block))


def direct(lock: Path) -> set[str]:
    """The packages ``lock`` pins because pyproject.toml asks for them (uv's "# via digit-lens")."""
    names, current = set(), None
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match[1])
        elif current and re.match(r"^\s+#\s+(via\s+)?digit-lens\b", line):
            names.add(current)
    return names


BUILD = [Requirement(text) for text in PYPROJECT["build-system"]["requires"]]
SERVING = [Requirement(text) for text in PYPROJECT["project"]["dependencies"]]
EXTRAS = {name: [Requirement(text) for text in texts] for name, texts in PYPROJECT["project"]["optional-dependencies"].items()}
LOCKS = {
    # lock file -> what it must hold: the serving dependencies, the build backend, and its extras
    "serve.txt": SERVING + BUILD,
    "test.txt": SERVING + BUILD + EXTRAS["train"] + EXTRAS["test"],
}


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_requirement_is_pinned_within_its_range(lock):
    locked = pins(REQUIREMENTS / lock)
    out_of_step = []
    for requirement in LOCKS[lock]:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        version = locked.get(canonicalize_name(requirement.name))
        if version is None:
            out_of_step.append(f"{requirement} is not in requirements/{lock}")
        elif not requirement.specifier.contains(version, prereleases=True):
            out_of_step.append(f"{requirement} but requirements/{lock} pins {version}")
    assert not out_of_step, "; ".join(out_of_step) + ": run `make lock` and commit the result"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_pins_nothing_pyproject_no_longer_asks_for(lock):
    asked = {canonicalize_name(requirement.name) for requirement in LOCKS[lock]}
    stale = direct(REQUIREMENTS / lock) - asked
    assert not stale, f"requirements/{lock} still pins {sorted(stale)} for digit-lens; run `make lock`"


@pytest.mark.parametrize("lock", [*sorted(LOCKS), "tools.txt"])
def test_every_pin_has_a_hash(lock):
    assert pins(REQUIREMENTS / lock) and hashed(REQUIREMENTS / lock)


def test_the_two_locks_agree_where_they_overlap():
    """Installing the test lock over the serving one changes no version (make install-test does exactly that)."""
    serving, testing = pins(REQUIREMENTS / "serve.txt"), pins(REQUIREMENTS / "test.txt")
    differing = {name: (str(version), str(testing.get(name))) for name, version in serving.items() if testing.get(name) != version}
    assert not differing, f"serve.txt and test.txt pin differently: {differing}; run `make lock`"


def test_build_in_is_pyprojects_build_backend():
    declared = {str(requirement) for requirement in BUILD}
    listed = {
        str(Requirement(line.split("#")[0].strip()))
        for line in (REQUIREMENTS / "build.in").read_text().splitlines()
        if line.split("#")[0].strip()
    }
    assert listed == declared
