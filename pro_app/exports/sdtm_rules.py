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


def check_qs_dataset(rows: Iterable[Mapping[str, object]]) -> list[str]:
    """``check_qs`` plus the rules across records: one QSTEST per QSTESTCD and
    the reverse (QSTEST is QSTESTCD's name), and QSBLFL "Y" only with a result
    and at most once per subject and test (SDTMIG 3.3 QS: QSBLFL "Y" or null)."""
    rows = list(rows)
    problems = check_qs(rows)
    names: dict[object, set[object]] = {}
    codes: dict[object, set[object]] = {}
    flagged: set[tuple[object, ...]] = set()
    for n, row in enumerate(rows, 1):
        names.setdefault(row.get("QSTESTCD"), set()).add(row.get("QSTEST"))
        codes.setdefault(row.get("QSTEST"), set()).add(row.get("QSTESTCD"))
        flag = row.get("QSBLFL")
        if _missing(flag):
            continue
        if flag != "Y":
            problems.append(f"row {n}: QSBLFL is neither Y nor null")
        if _missing(row.get("QSORRES")):
            problems.append(f"row {n}: QSBLFL on a record without a result")
        key = (row.get("USUBJID"), row.get("QSCAT"), row.get("QSTESTCD"))
        if key in flagged:
            problems.append(f"row {n}: QSBLFL twice for {key}")
        flagged.add(key)
    problems += [
        f"QSTESTCD {c} has names {sorted(map(str, t))}"
        for c, t in names.items()
        if len(t) > 1
    ]
    problems += [
        f"QSTEST {t!r} names {sorted(map(str, c))}"
        for t, c in codes.items()
        if len(c) > 1
    ]
    return problems


def _common(
    rows: list[Mapping[str, object]],
    domain: str,
    required: tuple[str, ...],
    key: tuple[str, ...],
    exempt: Iterable[str] = (),
) -> list[str]:
    """Required variables filled, the domain's code, a unique natural key."""
    problems: list[str] = []
    seen: set[tuple[object, ...]] = set()
    exempt = set(exempt)
    for n, row in enumerate(rows, 1):
        for name in required:
            if name not in exempt and _missing(row.get(name)):
                problems.append(f"row {n}: required {name} is empty")
        if "DOMAIN" in row and row.get("DOMAIN") != domain:
            problems.append(f"row {n}: DOMAIN is not {domain}")
        for name, value in row.items():
            if isinstance(value, str) and len(value.encode()) > 200:
                problems.append(f"row {n}: {name} longer than 200 bytes")
        found = tuple(row.get(k) for k in key)
        if found in seen:
            problems.append(f"row {n}: {'/'.join(key)} {found} repeated")
        seen.add(found)
    return problems


def _dates(n: int, row: Mapping[str, object], names: Iterable[str]) -> list[str]:
    return [
        f"row {n}: {name} {row.get(name)!r} is not ISO 8601"
        for name in names
        if not _missing(row.get(name)) and not ISO_DTC.fullmatch(str(row.get(name)))
    ]


# SDTMIG 3.3 section 5.2 DM: Req variables. SEX and COUNTRY are Req too; a
# caller names those it documents as not collected (``not_collected``).
DM_REQUIRED = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "SUBJID",
    "SITEID",
    "SEX",
    "ARMCD",
    "ARM",
    "COUNTRY",
)


def check_dm(
    rows: Iterable[Mapping[str, object]], not_collected: Iterable[str] = ()
) -> list[str]:
    """DM: one record per subject; the arm rules; ISO 8601 dates."""
    rows = list(rows)
    problems = _common(rows, "DM", DM_REQUIRED, ("USUBJID",), not_collected)
    for n, row in enumerate(rows, 1):
        problems += _dates(n, row, ("RFSTDTC", "RFICDTC"))
        if row.get("DTHFL") not in ("Y", "", None):
            problems.append(f"row {n}: DTHFL is neither Y nor null")
        # IG 3.3 DM: ACTARMCD null only with ARMNRS saying why; both not.
        if _missing(row.get("ACTARMCD")) == _missing(row.get("ARMNRS")):
            problems.append(f"row {n}: ACTARMCD and ARMNRS must have one value")
        if _missing(row.get("ACTARMCD")) != _missing(row.get("ACTARM")):
            problems.append(f"row {n}: ACTARMCD without ACTARM or the reverse")
        for name, limit in (("ARMCD", 20), ("ACTARMCD", 20)):
            if len(str(row.get(name) or "")) > limit:
                problems.append(f"row {n}: {name} longer than {limit}")
    return problems


def check_sv(
    rows: Iterable[Mapping[str, object]], subjects: Iterable[object] = ()
) -> list[str]:
    """SV (SDTMIG 3.3 section 5.4): one record per subject and visit, dates
    ISO 8601, the end not before the start, no study day 0, every subject in
    DM (``subjects``: DM's USUBJIDs, when given)."""
    rows = list(rows)
    required = ("STUDYID", "DOMAIN", "USUBJID", "VISITNUM", "SVSTDTC")
    problems = _common(rows, "SV", required, ("USUBJID", "VISITNUM"))
    known = set(subjects)
    for n, row in enumerate(rows, 1):
        problems += _dates(n, row, ("SVSTDTC", "SVENDTC"))
        start, end = row.get("SVSTDTC"), row.get("SVENDTC")
        if not _missing(end) and str(end)[:10] < str(start)[:10]:
            problems.append(f"row {n}: SVENDTC before SVSTDTC")
        for name in ("SVSTDY", "SVENDY"):
            value = row.get(name)
            if not _missing(value) and float(str(value)) == 0:
                problems.append(f"row {n}: {name} is 0 (SDTM has no day 0)")
        if known and row.get("USUBJID") not in known:
            problems.append(f"row {n}: USUBJID {row.get('USUBJID')} not in DM")
    return problems


QNAM = re.compile(r"[A-Z][A-Z0-9_]{0,7}")


def check_supp(
    rows: Iterable[Mapping[str, object]],
    parent: Iterable[Mapping[str, object]],
    rdomain: str,
) -> list[str]:
    """SUPP-- (SDTMIG 3.3 section 8.4): QNAM a SAS name, QLABEL at most 40,
    one value per parent key and QNAM, and every IDVAR/IDVARVAL naming
    records of the parent domain."""
    rows = list(rows)
    required = ("STUDYID", "RDOMAIN", "USUBJID", "QNAM", "QLABEL", "QVAL", "QORIG")
    key = ("USUBJID", "IDVAR", "IDVARVAL", "QNAM")
    problems = _common(rows, rdomain, required, key)
    parent_keys: dict[str, set[tuple[object, str]]] = {}
    parent = list(parent)
    for n, row in enumerate(rows, 1):
        if row.get("RDOMAIN") != rdomain:
            problems.append(f"row {n}: RDOMAIN is not {rdomain}")
        if not QNAM.fullmatch(str(row.get("QNAM") or "")):
            problems.append(f"row {n}: QNAM is not a valid SAS name")
        if len(str(row.get("QLABEL") or "")) > 40:
            problems.append(f"row {n}: QLABEL longer than 40")
        idvar = row.get("IDVAR")
        if _missing(idvar):
            continue
        if idvar not in parent_keys:
            parent_keys[str(idvar)] = {
                (p.get("USUBJID"), _text(p.get(str(idvar)))) for p in parent
            }
        if (row.get("USUBJID"), _text(row.get("IDVARVAL"))) not in parent_keys[
            str(idvar)
        ]:
            problems.append(f"row {n}: {idvar}={row.get('IDVARVAL')} has no parent")
    return problems


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if _missing(value) else str(value)
