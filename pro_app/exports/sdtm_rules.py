"""Structural checks of an SDTM QS dataset, written from the SDTM IG (v3.x) QS rules.

Used by the tests on every export (the CDISC open rules engine needs the
CDISC Library or its cached rule files, which are not available offline).
``check_qs`` takes the rows as dicts of strings/numbers (missing = "" or None)
and returns the problems found, one line each; an empty list is a pass.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

REQUIRED = ("STUDYID", "DOMAIN", "USUBJID", "QSSEQ", "QSTESTCD", "QSTEST", "QSCAT")
EXPECTED = ("QSORRES", "QSSTRESC", "QSSTRESN", "VISITNUM", "QSDTC", "QSDY")
MAX_LENGTH = {"QSTESTCD": 8, "QSTEST": 40}
# ISO 8601 date/time as SDTM allows it (partial dates, optional seconds/zone).
ISO_DTC = re.compile(
    r"\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?"
)
ISO_DURATION = re.compile(r"-?P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?")
TESTCD = re.compile(r"[A-Z_][A-Z0-9_]{0,7}")


def _missing(value: object) -> bool:
    return (
        value is None or value == "" or (isinstance(value, float) and math.isnan(value))
    )


def check_qs(rows: Iterable[Mapping[str, object]]) -> list[str]:
    """Return every rule broken by the QS rows (empty: all pass)."""
    problems: list[str] = []
    seqs: set[tuple[object, object]] = set()
    keys: set[tuple[object, ...]] = set()
    for n, row in enumerate(rows, 1):
        where = f"row {n}"
        for name in REQUIRED:
            if _missing(row.get(name)):
                problems.append(f"{where}: required {name} is empty")
        if row.get("DOMAIN") != "QS":
            problems.append(f"{where}: DOMAIN is not QS")
        for name, limit in MAX_LENGTH.items():
            if len(str(row.get(name) or "")) > limit:
                problems.append(f"{where}: {name} longer than {limit}")
        for name, value in row.items():
            if isinstance(value, str) and len(value.encode()) > 200:
                problems.append(f"{where}: {name} longer than 200 bytes")
        if not TESTCD.fullmatch(str(row.get("QSTESTCD") or "")):
            problems.append(f"{where}: QSTESTCD is not a valid SAS name")
        seq = (row.get("USUBJID"), row.get("QSSEQ"))
        if seq in seqs:
            problems.append(f"{where}: QSSEQ {seq[1]} repeated for {seq[0]}")
        seqs.add(seq)
        key = tuple(
            row.get(k) for k in ("USUBJID", "QSCAT", "QSTESTCD", "VISITNUM", "QSDTC")
        )
        if key in keys:
            problems.append(f"{where}: natural key {key} repeated")
        keys.add(key)
        problems += _result_rules(where, row)
    return problems


def _result_rules(where: str, row: Mapping[str, object]) -> list[str]:
    out = []
    stat, reason = row.get("QSSTAT"), row.get("QSREASND")
    results = [row.get(k) for k in ("QSORRES", "QSSTRESC", "QSSTRESN")]
    if not _missing(stat):
        if stat != "NOT DONE":
            out.append(f"{where}: QSSTAT {stat!r} is not NOT DONE")
        if _missing(reason):
            out.append(f"{where}: QSSTAT NOT DONE without QSREASND")
        if not all(_missing(v) for v in results):
            out.append(f"{where}: QSSTAT NOT DONE with a result")
    else:
        if not _missing(reason):
            out.append(f"{where}: QSREASND without QSSTAT")
        if _missing(row.get("QSORRES")):
            out.append(f"{where}: no result and no QSSTAT")
    if _missing(row.get("QSORRES")) != _missing(row.get("QSSTRESC")):
        out.append(f"{where}: QSSTRESC present without QSORRES or the reverse")
    stresn, stresc = row.get("QSSTRESN"), row.get("QSSTRESC")
    if not _missing(stresn):
        try:
            same = float(str(stresc)) == float(str(stresn))
        except ValueError:
            same = False
        if not same:
            out.append(f"{where}: QSSTRESN {stresn} differs from QSSTRESC {stresc}")
    if row.get("QSDRVFL") not in ("Y", "", None):
        out.append(f"{where}: QSDRVFL is neither Y nor null")
    dtc = row.get("QSDTC")
    if not _missing(dtc) and not ISO_DTC.fullmatch(str(dtc)):
        out.append(f"{where}: QSDTC {dtc!r} is not ISO 8601")
    evlint = row.get("QSEVLINT")
    if not _missing(evlint) and not ISO_DURATION.fullmatch(str(evlint)):
        out.append(f"{where}: QSEVLINT {evlint!r} is not an ISO 8601 duration")
    day = row.get("QSDY")
    if not _missing(day) and float(str(day)) == 0:
        out.append(f"{where}: QSDY is 0 (SDTM has no day 0)")
    return out
