"""A streaming SPSS system file (.sav) writer, after the PSPP developers'
guide ("System File Format"). Pure: no Flask or SQLAlchemy.

Rows are spooled to a temporary file as they arrive (``spool.RowSpool``), so
the header can state the exact number of cases and each string variable's
exact width, and memory does not grow with the dataset. The file is then
emitted in chunks: header record, variable records (with labels), value
labels (records 3 and 4), machine integer and floating-point info (7/3,
7/4), measurement level and display width (7/11), long variable names
(7/13), character encoding "UTF-8" (7/20), dictionary termination (999) and
the uncompressed little-endian data.

Numbers are 8-byte doubles, system-missing is -DBL_MAX; a column that
declares missing-value reasons (``missing.py``) stores each as its code,
declared as a discrete user-missing value (record 2) with a value label;
times are DATETIME20 (seconds since 1582-10-14 00:00, wall clock), dates
DATE11 (the seconds of their midnight); strings are UTF-8, 1 to 255 bytes
wide (wider values, non-text, and numbers out of range are refused with
:class:`SavError`, never cut). Labels are cut at a character boundary to
SPSS's limits: 256 bytes for a variable label, 120 for a value label.
Trailing blanks of a string value are not kept (the format pads with them).
"""

from __future__ import annotations

import math
import re
import struct
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import IO

from pro_app.exports.layout import Variable
from pro_app.exports.missing import Reason, reasons_of
from pro_app.exports.spool import (
    KINDS,
    Rules,
    chunks,
    row_assembler,
    spooled,
    utf8,
)

SYSMIS = -sys.float_info.max
LOWEST = math.nextafter(SYSMIS, 0.0)
MAX_STRING = 255  # wider strings need "very long string" segments: not written
MAX_LABEL = 256
MAX_VALUE_LABEL = 120
MAX_NAME = 64
MAX_MISSING = 3  # discrete user-missing values of one variable
EPOCH = datetime(1582, 10, 14)
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_RESERVED = {"ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR"}
_RESERVED |= {"TO", "WITH"}
_HEADER = struct.Struct("<4s60siiiiid9s8s64s3s")
_VARIABLE = struct.Struct("<iiiiii8s")
_INFO = struct.Struct("<iiii")  # record type 7: subtype, size, count
# Format codes: (type << 16) | (width << 8) | decimals; A = 1, F = 5, DATETIME = 22.
_FORMAT_DATETIME = (22 << 16) | (20 << 8)
_FORMAT_DATE = (20 << 16) | (11 << 8)  # DATE11: dd-mmm-yyyy
_MEASURE = {"nominal": 1, "ordinal": 2, "scale": 3}


class SavError(ValueError):
    """The dataset cannot be written as an SPSS system file as given."""


def _code(reason: Reason) -> float:
    return float(reason.spss)


RULES = Rules(
    SavError, MAX_STRING, SYSMIS, LOWEST, sys.float_info.max, EPOCH, 1, 86_400, _code
)


def labels(variable: Variable) -> dict[float, str]:
    """Value labels of a column: its codes', then its missing values'."""
    out = {float(c): t for c, t in variable.value_labels.items()}
    out.update((float(r.spss), r.label) for r in reasons_of(variable))
    return out


def _up(size: int, unit: int) -> int:
    """``size`` rounded up to a multiple of ``unit``."""
    return -(-size // unit) * unit


def measure(variable: Variable) -> str:
    """Measurement level: text nominal, coded (labelled) ordinal, else scale."""
    if variable.type == "string":
        return "nominal"
    return "ordinal" if variable.value_labels else "scale"


def cut(text: str, limit: int) -> bytes:
    """``text`` as UTF-8, cut to at most ``limit`` bytes between characters
    (and without a blank left dangling at the cut)."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return raw
    return raw[:limit].decode("utf-8", "ignore").rstrip().encode("utf-8")


def short_names(names: Sequence[str]) -> list[str]:
    """Unique 8-byte upper-case names for the variable records.

    SPSS keeps the real (long) name in record 7/13; the short one only has to
    be unique and valid: the long name cut to 8, with a number at the end
    when that is taken (``RAND36_Q``, ``RAND36_1``...).
    """
    used: set[str] = set()
    out = []
    for name in names:
        short, n = name.upper()[:8], 0
        while short in used or short in _RESERVED:
            n += 1
            short = name.upper()[: 8 - len(str(n))] + str(n)
        used.add(short)
        out.append(short)
    return out


def _check(variables: Sequence[Variable]) -> None:
    if not variables:
        raise SavError("a system file needs at least one variable")
    seen: set[str] = set()
    for v in variables:
        if not _NAME.match(v.name) or len(v.name) > MAX_NAME:
            raise SavError(f"{v.name!r} is not an SPSS name (ASCII, 1-{MAX_NAME})")
        if v.name.upper() in _RESERVED or v.name.upper() in seen:
            raise SavError(f"{v.name!r} is reserved or repeats (case aside)")
        seen.add(v.name.upper())
        utf8(v.label, SavError, f"label of {v.name}")
        if v.type not in KINDS:
            raise SavError(f"{v.name}: type must be one of {KINDS}")
        if v.value_labels and v.type != "numeric":
            raise SavError(f"{v.name}: only numeric variables carry value labels")
        for code, text in v.value_labels.items():
            if isinstance(code, bool) or not isinstance(code, int | float):
                raise SavError(f"{v.name}: value label for non-number {code!r}")
            utf8(text, SavError, f"{v.name}: value label for {code!r}")
            if not math.isfinite(code):
                raise SavError(f"{v.name}: value label for {code!r}, not finite")
        reasons = reasons_of(v)
        if reasons and v.type != "numeric":
            raise SavError(f"{v.name}: only numeric variables carry missing codes")
        if len(reasons) > MAX_MISSING:
            raise SavError(f"{v.name}: more than {MAX_MISSING} user-missing codes")
        for reason in reasons:
            if reason.spss in v.value_labels:
                raise SavError(f"{v.name}: missing code {reason.spss} is a response")


def _variable_records(
    variables: Sequence[Variable], widths: list[int], names: list[str]
) -> tuple[bytes, list[int], int]:
    """Type 2 records (with continuations), each variable's dictionary index
    (1-based, continuations counted) and the number of 8-byte case units."""
    out, index, position = [], [], 1
    strings = iter(widths)
    for v, short in zip(variables, names, strict=True):
        width = max(next(strings), 1) if v.type == "string" else 0
        if v.type == "string":
            fmt = (1 << 16) | (width << 8)
        elif v.type == "datetime":
            fmt = _FORMAT_DATETIME
        elif v.type == "date":
            fmt = _FORMAT_DATE
        else:  # codes show as whole numbers; scores with 2 decimals
            fmt = (5 << 16) | (8 << 8) | (0 if v.value_labels else 2)
        label = cut(v.label, MAX_LABEL)
        name = short.encode("ascii").ljust(8)
        codes = [float(r.spss) for r in reasons_of(v)]
        out.append(
            _VARIABLE.pack(2, width, int(bool(label)), len(codes), fmt, fmt, name)
        )
        if label:  # padded to a multiple of 4 bytes
            out.append(struct.pack("<i", len(label)) + label.ljust(_up(len(label), 4)))
        out.append(struct.pack(f"<{len(codes)}d", *codes))  # discrete user-missing
        index.append(position)
        segments = _up(width, 8) // 8 if width else 1
        for _ in range(segments - 1):  # continuation records of a long string
            out.append(_VARIABLE.pack(2, -1, 0, 0, fmt, fmt, b" " * 8))
        position += segments
    return b"".join(out), index, position - 1


def _value_labels(variables: Sequence[Variable], index: list[int]) -> bytes:
    """One record 3 + 4 pair per distinct set of labels, shared by variables."""
    sets: dict[tuple[tuple[float, bytes], ...], list[int]] = {}
    for v, at in zip(variables, index, strict=True):
        if all_labels := labels(v):
            key = tuple(
                sorted((c, cut(t, MAX_VALUE_LABEL)) for c, t in all_labels.items())
            )
            sets.setdefault(key, []).append(at)
    out = []
    for pairs, members in sets.items():
        out.append(struct.pack("<ii", 3, len(pairs)))
        for value, text in pairs:
            # Length byte and text padded together to a multiple of 8.
            entry = struct.pack("<dB", value, len(text)) + text
            out.append(entry.ljust(8 + _up(len(text) + 1, 8), b" "))
        out.append(struct.pack(f"<ii{len(members)}i", 4, len(members), *members))
    return b"".join(out)


def _extensions(
    variables: Sequence[Variable], widths: list[int], names: list[str]
) -> bytes:
    """Records 7/3, 7/4, 7/11, 7/13 and 7/20."""
    # Version 20.0.0, machine -1, IEEE, compression 1, little-endian, UTF-8.
    out = [_INFO.pack(7, 3, 4, 8) + struct.pack("<8i", 20, 0, 0, -1, 1, 1, 2, 65001)]
    out.append(
        _INFO.pack(7, 4, 8, 3) + struct.pack("<3d", SYSMIS, sys.float_info.max, LOWEST)
    )
    display = []
    strings = iter(widths)
    for v in variables:
        if v.type == "string":
            columns, align = min(max(next(strings), 1), 40), 0
        else:
            columns = {"datetime": 20, "date": 11}.get(v.type, 8)
            align = 1
        display.append(struct.pack("<3i", _MEASURE[measure(v)], columns, align))
    out.append(_INFO.pack(7, 11, 4, 3 * len(variables)) + b"".join(display))
    pairs = "\t".join(f"{s}={v.name}" for s, v in zip(names, variables, strict=True))
    out.append(_INFO.pack(7, 13, 1, len(pairs)) + pairs.encode("ascii"))
    out.append(_INFO.pack(7, 20, 1, 5) + b"UTF-8")
    return b"".join(out)


def dictionary(
    variables: Sequence[Variable],
    widths: list[int],
    cases: int,
    created: datetime,
    label: str = "",
) -> bytes:
    """Everything before the first case: ``widths`` in bytes, per string column."""
    _check(variables)
    utf8(label, SavError, "file label")
    names = short_names([v.name for v in variables])
    records, index, units = _variable_records(variables, widths, names)
    date = f"{created.day:02d} {_MONTHS[created.month - 1]} {created.year % 100:02d}"
    header = _HEADER.pack(
        b"$FL2",
        b"@(#) SPSS DATA FILE pro-app".ljust(60),
        2,  # layout code: this file's integers are little-endian
        units,  # "nominal case size": 8-byte units per case
        0,  # not compressed
        0,  # not weighted
        cases if cases < 2**31 else -1,  # -1: "unknown", past int32
        100.0,  # compression bias (unused)
        date.encode("ascii"),
        created.strftime("%H:%M:%S").encode("ascii"),
        cut(label, 64).ljust(64),
        b"\0\0\0",
    )
    return (
        header
        + records
        + _value_labels(variables, index)
        + _extensions(variables, widths, names)
        + struct.pack("<ii", 999, 0)
    )


def sav_chunks(
    variables: Sequence[Variable],
    rows: Iterable[Sequence[object]],
    created: datetime,
    label: str = "",
    spool: IO[bytes] | None = None,
) -> Iterator[bytes]:
    """Yield a .sav file of ``rows``, chunk by chunk.

    Values: str or None for ``string`` variables, int, float or None (NaN is
    missing too) for ``numeric``, naive ``datetime`` or None for ``datetime``,
    ``date`` or None for ``date``; a :class:`~pro_app.exports.missing.Reason`
    the column declares, in a numeric column.
    Every row is spooled (to ``spool`` if given, else to an anonymous
    temporary file) before the first byte is yielded. Raises
    :class:`SavError` on the first value the format cannot hold.
    """
    _check(variables)
    with spooled(variables, RULES, rows, spool) as filled:
        widths = filled.field_widths
        yield dictionary(variables, widths, filled.rows, created, label)
        stored = [_up(w, 8) for w in widths]
        yield from chunks(filled, row_assembler(filled.kinds, stored, b" "))
