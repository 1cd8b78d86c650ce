"""Make the repository importable from a benchmark script, tests/ included.

Scripts in benchmarks/ import the app and the test helpers. The repository goes
first on sys.path, and ``tests`` is bound to this repository's tests/ folder:
fhir.resources installs a top-level ``tests`` package into site-packages that
would otherwise shadow it (pytest's importlib mode sidesteps that; a plain
script does not).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def use_repo() -> Path:
    """Put the repository on sys.path and bind ``tests``; return its root."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    package = types.ModuleType("tests")
    package.__path__ = [str(REPO / "tests")]
    sys.modules["tests"] = package
    return REPO
