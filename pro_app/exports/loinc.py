"""The LOINC codes of each instrument version, read from its ``loinc.toml``.

The codes are data beside the instrument (``instruments/<id>/<version>/
loinc.toml``): the panel code (``Questionnaire.code``), a code per item
(``Questionnaire.item.code``) and per score (a second ``Observation.code``
coding). Only codes verified against published sources are listed there; an
item or score without a verified code is simply absent, and an instrument
without the file gets no LOINC codings at all.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pro_app.catalog import Instrument

LOINC_FILE = "loinc.toml"
LOINC_SYSTEM = "http://loinc.org"
_CODE = re.compile(r"(?P<number>[1-9][0-9]{0,6})-(?P<check>[0-9])")


class LoincError(Exception):
    """An instrument's ``loinc.toml`` names an unknown id or a malformed code."""


@dataclass(frozen=True)
class Code:
    """One LOINC code, its display (long common name) and where it was verified."""

    code: str
    display: str
    source: str

    def coding(self) -> dict[str, str]:
        """The FHIR ``Coding`` of this code."""
        return {"system": LOINC_SYSTEM, "code": self.code, "display": self.display}


@dataclass(frozen=True)
class LoincMap:
    """An instrument version's LOINC codes (any of them may be missing)."""

    panel: Code | None = None
    items: dict[str, Code] = field(default_factory=dict)
    scores: dict[str, Code] = field(default_factory=dict)


def check_digit_ok(code: str) -> bool:
    """Whether a LOINC code is well formed and its check digit is right.

    LOINC's mod 10 rule: from the right, double every other digit of the
    number part (starting with the last), add up the digits of all of them;
    the check digit takes the sum up to the next multiple of ten.
    """
    match = _CODE.fullmatch(code)
    if match is None:
        return False
    total = 0
    for position, char in enumerate(reversed(match["number"])):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit // 10 + digit % 10
    return (10 - total % 10) % 10 == int(match["check"])


def load_loinc(instrument: Instrument, root: Path) -> LoincMap:
    """Read and check the LOINC codes of an instrument version (none if no file)."""
    path = root / instrument.id / instrument.version / LOINC_FILE
    doc = _read(path)
    if doc is None:
        return LoincMap()
    panel = doc.get("panel")
    item_ids = {item.id for item in instrument.items}
    scale_ids = {scale.id for scale in instrument.scales}
    return LoincMap(
        panel=_code(path, "panel", panel) if panel else None,
        items=_codes(path, "items", doc.get("items", {}), item_ids),
        scores=_codes(path, "scores", doc.get("scores", {}), scale_ids),
    )


@cache
def _read(path: Path) -> dict | None:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return None


def _codes(path: Path, group: str, table: dict, known: set[str]) -> dict[str, Code]:
    unknown = sorted(set(table) - known)
    if unknown:
        raise LoincError(f"{path}: {group}: {', '.join(unknown)} not in the instrument")
    return {key: _code(path, f"{group}.{key}", entry) for key, entry in table.items()}


def _code(path: Path, where: str, entry: dict) -> Code:
    keys = set(entry)
    if keys != {"code", "display", "source"}:
        raise LoincError(f"{path}: {where}: needs exactly code, display and source")
    if not check_digit_ok(entry["code"]):
        raise LoincError(f"{path}: {where}: {entry['code']!r} fails the check digit")
    if not entry["display"].strip() or not entry["source"].strip():
        raise LoincError(f"{path}: {where}: display and source must not be empty")
    return Code(entry["code"], entry["display"], entry["source"])
