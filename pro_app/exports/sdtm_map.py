"""The SDTM QS mapping of each instrument version, read from its ``sdtm.toml``.

The mapping is data beside the instrument (``instruments/<id>/<version>/
sdtm.toml``): QSCAT, and per item and per score its QSTESTCD and QSTEST. An
item's evaluation interval (QSEVLINT) is not part of it: it is the item's
recall period as the instrument file states it (``Item.recall_period``),
empty where the wording has none. Where no CDISC controlled terminology could
be verified for an instrument the file says ``source = "sponsor-defined"``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pro_app.catalog import Instrument
from pro_app.exports.csvfile import Verbatim

MAPPING_FILE = "sdtm.toml"
MAX_TESTCD = 8
MAX_TEST = 40


class MappingError(Exception):
    """An instrument's SDTM mapping is missing or breaks an SDTM limit."""


@dataclass(frozen=True)
class Test:
    """One QS test: short name (QSTESTCD), name (QSTEST), evaluation interval."""

    testcd: str
    test: str
    evlint: str = ""


@dataclass(frozen=True)
class QsMapping:
    """An instrument version's QS terms: items, scores and score SEs."""

    qscat: str
    source: str
    items: dict[str, Test]
    scores: dict[str, Test]
    score_se: dict[str, Test]
    subcategory: dict[str, str]  # item id -> QSSCAT (the first scale it is in)


def instruments_dir() -> Path:
    """The catalogue folder of the running app (the default one outside it)."""
    from flask import current_app, has_app_context

    from pro_app.config import DEFAULTS

    if has_app_context():
        return Path(current_app.config["INSTRUMENTS_DIR"])
    return Path(DEFAULTS["INSTRUMENTS_DIR"])


def evaluation_interval(recall_period: str | None) -> str:
    """QSEVLINT of a recall period: ``P4W`` -> ``-P4W`` (looking back); no
    recall period, no interval."""
    # An ISO 8601 duration, not a formula: every CSV keeps its leading minus.
    return Verbatim(f"-{recall_period}") if recall_period else ""


def _test(path: Path, where: str, entry: dict, evlint: str = "") -> Test:
    unknown = sorted(set(entry) - {"testcd", "test"})
    if unknown:
        reason = "unknown key " + ", ".join(map(repr, unknown))
        if "evlint" in unknown:
            reason += " (QSEVLINT comes from recall_period in instrument.toml)"
        raise MappingError(f"{path}: {where}: {reason}")
    testcd, test = entry.get("testcd", ""), entry.get("test", "")
    if not testcd or len(testcd) > MAX_TESTCD or not testcd[0].isalpha():
        raise MappingError(f"{path}: {where}: QSTESTCD {testcd!r} is not 1-8 chars")
    if not testcd.replace("_", "").isalnum() or not testcd.isascii():
        raise MappingError(f"{path}: {where}: QSTESTCD {testcd!r} is not A-Z 0-9 _")
    if not test or len(test) > MAX_TEST:
        raise MappingError(f"{path}: {where}: QSTEST {test!r} is not 1-40 chars")
    return Test(testcd, test, evlint)


def load_mapping(instrument: Instrument, root: Path) -> QsMapping:
    """Read and check the mapping of an instrument version (every item, scale)."""
    return _load(instrument, root / instrument.id / instrument.version / MAPPING_FILE)


@cache
def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise MappingError(f"{path}: no SDTM mapping ({error.strerror})") from None


def _load(instrument: Instrument, path: Path) -> QsMapping:
    doc = _read(path)
    items, scores, score_se = {}, {}, {}
    for item in instrument.items:
        entry = doc.get("items", {}).get(item.id)
        if entry is None:
            raise MappingError(f"{path}: item {item.id} is not mapped")
        evlint = evaluation_interval(item.recall_period)
        items[item.id] = _test(path, item.id, entry, evlint)
    for scale in instrument.scales:
        entry = dict(doc.get("scores", {}).get(scale.id) or {})
        if not entry:
            raise MappingError(f"{path}: score {scale.id} is not mapped")
        se_code, se_test = entry.pop("se_testcd", ""), entry.pop("se_test", "")
        scores[scale.id] = _test(path, scale.id, entry)
        if se_code:
            se_entry = {"testcd": se_code, "test": se_test}
            score_se[scale.id] = _test(path, scale.id, se_entry)
    codes = [t.testcd for t in (*items.values(), *scores.values(), *score_se.values())]
    if len(set(codes)) != len(codes):
        raise MappingError(f"{path}: a QSTESTCD is used twice")
    # QSTEST is the label of QSTESTCD: one name per short name and the reverse
    # (SDTMIG 3.3 section 4.5.1.1 (--TESTCD/--TEST); QS in SDTMIG 3.3 6.3.5.x).
    names = [t.test for t in (*items.values(), *scores.values(), *score_se.values())]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise MappingError(f"{path}: QSTEST used twice: {twice}")
    subcategory: dict[str, str] = {}
    for scale in instrument.scales:
        for item_id in scale.items:
            subcategory.setdefault(item_id, scale.name.upper()[:200])
    return QsMapping(
        qscat=doc["qscat"],
        source=doc.get("source", ""),
        items=items,
        scores=scores,
        score_se=score_se,
        subcategory=subcategory,
    )
