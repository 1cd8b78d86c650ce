"""A subject-id pattern that admits a non-ASCII id is refused at import:
SAS XPORT (SDTM) could never hold that participant's USUBJID."""

from __future__ import annotations

import re
import tomllib

import pytest

from pro_app.config import REPO_ROOT
from pro_app.studies.protocol import ProtocolError, parse_protocol
from pro_app.studies.subject_ids import ascii_pattern_problem

SHIPPED = REPO_ROOT / "studies" / "nct06737380.toml"
# Non-ASCII characters Python's str patterns let in: Arabic-Indic digits for
# \d, accented and Greek letters for \w, no-break space for \s, the Kelvin
# sign and the long s for (?i) k and s.
NON_ASCII = "١٢é\u00a0Ω\u212aſ"

ADMITTING = [
    r"LK-\d{3}",
    r"\w+",
    r"LK\s\d",
    r"LK-.{3}",
    r"[^-]+",
    r"(?i)lk-[0-9]{3}",
    r"[A-Za-zé]+",
    "LK-é",
    r"(?:A|\d)+",
    r"(A)?(?(1)\d|B)",
]
ASCII_ONLY = [
    r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}",  # the app's default
    r"LK-[0-9]{3}",
    r"(?a)LK-\d{3}",
    r"(?a)(?i)lk-\w+",
    r"(?:LK|MK)-[0-9]{3}(?!.*x)",
    r"\bLK[0-9]?\b",
    r"(?a:\d+)",
]


@pytest.mark.parametrize("pattern", ADMITTING)
def test_patterns_that_admit_non_ascii_are_refused(pattern):
    problem = ascii_pattern_problem(pattern)
    assert problem is not None
    assert "non-ASCII" in problem


@pytest.mark.parametrize("pattern", [p for p in ADMITTING if "(?(" not in p])
def test_each_refused_pattern_really_admits_a_non_ascii_id(pattern):
    # The refusal is not over-cautious for these: an id outside ASCII fits.
    candidates = [
        "LK-١٢٣",
        "é",
        "LK\u00a0١",
        "LK-éé\u00a0",
        "é",
        "l\u212a-123",
        "é",
        "LK-é",
        "١",
    ]
    assert any(re.fullmatch(pattern, c) for c in candidates)


@pytest.mark.parametrize("pattern", ASCII_ONLY)
def test_ascii_only_patterns_are_accepted(pattern):
    problem = ascii_pattern_problem(pattern)
    assert problem is None
    compiled = re.compile(pattern)
    assert not any(compiled.search(ch) for ch in NON_ASCII)


def test_a_malformed_pattern_is_refused():
    assert "not a regular expression" in ascii_pattern_problem("LK-[0-9")


def _doc(pattern: str) -> dict:
    doc = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    doc.setdefault("settings", {})["subject_id_pattern"] = pattern
    return doc


def test_the_protocol_import_refuses_a_pattern_admitting_non_ascii_ids():
    with pytest.raises(ProtocolError) as raised:
        parse_protocol(SHIPPED, _doc(r"LK-\d{3}"), None)
    message = str(raised.value)
    assert "settings.subject_id_pattern" in message
    assert "non-ASCII" in message
    assert "XPORT" in message


def test_the_protocol_keeps_an_ascii_pattern_for_enrolment():
    protocol = parse_protocol(SHIPPED, _doc(r"(?a)LK-\d{3}"), None)
    assert protocol.settings_dict()["subject_id_pattern"] == r"(?a)LK-\d{3}"
