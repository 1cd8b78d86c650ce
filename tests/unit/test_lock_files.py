"""The lock files `make run`, `make test` and CI install from are whole and current.

requirements.txt pins what `make run` installs, requirements-test.txt what `make test`
installs (the same pins plus the test extra); `make lock` writes both from
pyproject.toml, whose ranges stay for people who install the package.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "requirements.txt"
TEST = ROOT / "requirements-test.txt"
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def _entries(path: Path) -> list[str]:
    """The lock's requirement lines, continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n", " ", path.read_text())
    lines = (line.split("#", 1)[0].strip() for line in logical.splitlines())
    return [line for line in lines if line]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for entry in _entries(path):
        requirement = Requirement(entry.split(" --hash=", 1)[0])
        (spec,) = requirement.specifier
        assert spec.operator == "==", entry
        pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def _project() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]


def _declared(*extras: str) -> list[Requirement]:
    project = _project()
    named = list(project["dependencies"])
    for extra in extras:
        named += project["optional-dependencies"][extra]
    return [Requirement(r) for r in named]


@pytest.mark.parametrize(
    ("lock", "extras"),
    [(RUNTIME, ()), (TEST, ("test", "postgres"))],
    ids=["requirements.txt", "requirements-test.txt"],
)
def test_every_dependency_of_pyproject_is_pinned_within_its_range(
    lock: Path, extras: tuple[str, ...]
) -> None:
    pins = _pins(lock)
    for requirement in _declared(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock.name} has no pin for {name}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock.name} pins {name}=={pins[name]}, outside {requirement}: "
            "run make lock"
        )
        for extra in requirement.extras:
            assert canonicalize_name(f"{name}-{extra}") in pins, requirement


@pytest.mark.parametrize("lock", [RUNTIME, TEST], ids=lambda p: p.name)
def test_every_line_carries_a_hash(lock: Path) -> None:
    entries = _entries(lock)
    assert len(entries) > 10
    for entry in entries:
        assert HASH.search(entry), f"{lock.name}: no --hash for {entry}"
        hashes = entry.split(" --hash=", 1)[1]
        assert not HASH.sub("", "--hash=" + hashes).strip(), entry


def test_make_run_and_make_test_install_the_same_versions() -> None:
    runtime, test = _pins(RUNTIME), _pins(TEST)
    assert {name: test.get(name) for name in runtime} == runtime


def test_the_suite_runs_on_the_locked_versions() -> None:
    # make test installs requirements-test.txt; a venv that drifted from it tests
    # something other than what make run and CI install.
    drifted = {}
    for name, pinned in _pins(TEST).items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            drifted[name] = f"locked {pinned}, installed {installed}"
    assert drifted == {}, (
        "install the lock (.venv/bin/pip install --require-hashes -r "
        "requirements-test.txt), or change pyproject.toml and run make lock"
    )
