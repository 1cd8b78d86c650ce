"""Every audit action the code records has words for the trial team."""

from __future__ import annotations

import re
from pathlib import Path

from pro_app.staff.labels import AUDIT_ACTIONS

ROOT = Path(__file__).resolve().parents[2] / "pro_app"


def test_every_recorded_action_has_words():
    recorded = set()
    for path in ROOT.rglob("*.py"):
        recorded |= set(re.findall(r'action="([a-z_.]+)"', path.read_text()))
    assert len(recorded) > 30  # the pattern still finds the calls
    assert recorded - set(AUDIT_ACTIONS) == set()
