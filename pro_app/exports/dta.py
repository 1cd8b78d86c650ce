"""A streaming Stata .dta writer, format 118 (Stata 14 and later, UTF-8).
Pure: no Flask or SQLAlchemy.

The header holds the number of observations N before the data, and each
``str#`` variable's width before the first value. So rows are spooled to a
temporary file as they arrive (``spool.RowSpool``: constant memory), then
the file is emitted in chunks: header, map (every section's offset, known
once N and the widths are), descriptors, the data read back from the spool,
and value labels.

Numbers are doubles, missing is ``.`` (0x7FE0000000000000), and a column
that declares missing-value reasons (``missing.py``) stores each as its
extended missing value (``.a``, ``.b``...), labelled in its value labels; times are
doubles with format ``%tc`` (milliseconds since 1960-01-01 00:00, wall
clock), dates ``%td`` (days since 1960-01-01); strings are ``str#`` of the
widest value, 1 to 2045 bytes of UTF-8
(longer values, non-text, and numbers beyond Stata's range are refused with
:class:`DtaError`, never cut). Variable and dataset labels are cut to
Stata's 80 characters. Value labels map whole numbers to text.
"""

from __future__ import annotations

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

#: ``.``, the double that means missing; everything from it up is missing.
MISSING = struct.unpack("<d", bytes.fromhex("000000000000e07f"))[0]
LARGEST = struct.unpack("<d", bytes.fromhex("ffffffffffffdf7f"))[0]
MAX_STRING = 2045  # longer would be strL: not written
MAX_LABEL = 80  # characters, in a variable, dataset or (here) any label name
MAX_NAME = 32
# Stata's nonmissing range of a "long", the type value labels are defined on.
MIN_CODE, MAX_CODE = -2_147_483_647, 2_147_483_620
EPOCH = datetime(1960, 1, 1)
DOUBLE = 65526  # variable type code; str# is the width itself
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_RESERVED = set(
    "_all _b byte _coef _cons double float if in int long _n _N _pi _pred _rc "
    "_skip strL using with".split()
)


class DtaError(ValueError):
    """The dataset cannot be written as a Stata .dta file as given."""


def _extended(reason: Reason) -> float:
    return reason.stata_double


RULES = Rules(
    DtaError,
    MAX_STRING,
    MISSING,
    -sys.float_info.max,
    LARGEST,
    EPOCH,
    1000,
    1,
    _extended,
)


def labels(variable: Variable) -> dict[int, str]:
    """Value labels of a column: its codes', then its extended missing values'
    (under the long codes Stata labels them by)."""
    out = dict(variable.value_labels)
    out.update((r.stata_label_code, r.label) for r in reasons_of(variable))
    return out


def _field(text: str, size: int) -> bytes:
    """UTF-8, at most ``size - 1`` bytes, NUL-padded to ``size``."""
    raw = text.encode("utf-8")[: size - 1].decode("utf-8", "ignore").encode("utf-8")
    return raw.ljust(size, b"\0")


def _label(text: str) -> str:
    """A label cut to Stata's 80 characters (no blank left dangling at the cut)."""
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL].rstrip()


def _tag(name: str, content: bytes) -> bytes:
    return b"<%s>%s</%s>" % (name.encode(), content, name.encode())


def _check(variables: Sequence[Variable]) -> None:
    if not 1 <= len(variables) <= 32_767:
        raise DtaError("a format 118 file has 1 to 32,767 variables")
    seen: set[str] = set()
    for v in variables:
        if not _NAME.match(v.name) or len(v.name) > MAX_NAME or v.name in _RESERVED:
            raise DtaError(f"{v.name!r} is not a Stata name (ASCII, 1-{MAX_NAME})")
        if re.fullmatch(r"str(\d+|L)", v.name) or v.name in seen:
            raise DtaError(f"{v.name!r} is reserved or repeats")
        seen.add(v.name)
        utf8(v.label, DtaError, f"label of {v.name}")
        if v.type not in KINDS:
            raise DtaError(f"{v.name}: type must be one of {KINDS}")
        if v.value_labels and v.type != "numeric":
            raise DtaError(f"{v.name}: only numeric variables carry value labels")
        for code, text in v.value_labels.items():
            if isinstance(code, bool) or not isinstance(code, int):
                raise DtaError(f"{v.name}: value label for non-integer {code!r}")
            if not MIN_CODE <= code <= MAX_CODE:
                raise DtaError(f"{v.name}: value label code {code} out of range")
            raw = utf8(text, DtaError, f"{v.name}: value label for {code}")
            if b"\0" in raw or len(raw) > 32_000:
                raise DtaError(f"{v.name}: value label for {code} is not storable")
        if reasons_of(v) and v.type != "numeric":
            raise DtaError(f"{v.name}: only numeric variables carry missing codes")


def _label_sets(variables: Sequence[Variable]) -> dict[str, str]:
    """Variable name -> value label name; a set shared by several variables
    is stored once, named after the first of them."""
    names: dict[tuple[tuple[int, str], ...], str] = {}
    out = {}
    for v in variables:
        if all_labels := labels(v):
            key = tuple(sorted(all_labels.items()))
            out[v.name] = names.setdefault(key, v.name)
    return out


def _value_labels(variables: Sequence[Variable], sets: dict[str, str]) -> bytes:
    out = []
    for v in variables:
        if sets.get(v.name) != v.name:
            continue  # unlabelled, or another variable's set
        entries = sorted(labels(v).items())
        offsets, text = [], b""
        for _code, label in entries:
            offsets.append(len(text))
            text += label.encode("utf-8") + b"\0"
        n = len(entries)
        table = struct.pack(
            f"<ii{n}i{n}i", n, len(text), *offsets, *(c for c, _ in entries)
        )
        table += text
        out.append(
            _tag(
                "lbl",
                struct.pack("<i", len(table)) + _field(v.name, 129) + bytes(3) + table,
            )
        )
    return _tag("value_labels", b"".join(out))


def _format(variable: Variable, width: int) -> str:
    if variable.type == "string":
        return f"%-{width}s"  # left-aligned, as Stata shows text
    return {"datetime": "%tc", "date": "%td"}.get(variable.type, "%10.0g")


def descriptors(
    variables: Sequence[Variable],
    widths: list[int],
    observations: int,
    created: datetime,
    label: str = "",
) -> tuple[bytes, bytes]:
    """Everything before the data (header to characteristics, with the map),
    and everything after it; ``widths`` in bytes, per string column."""
    _check(variables)
    utf8(label, DtaError, "dataset label")
    k = len(variables)
    strings = iter(widths)
    column = [max(next(strings), 1) if v.type == "string" else 0 for v in variables]
    row_size = sum(w or 8 for w in column)
    sets = _label_sets(variables)
    stamp = (
        f"{created.day:02d} {_MONTHS[created.month - 1]} {created.year:04d} "
        f"{created:%H:%M}"
    ).encode("ascii")
    dataset_label = _label(label).encode("utf-8")
    header = _tag(
        "header",
        _tag("release", b"118")
        + _tag("byteorder", b"LSF")
        + _tag("K", struct.pack("<H", k))
        + _tag("N", struct.pack("<Q", observations))
        + _tag("label", struct.pack("<H", len(dataset_label)) + dataset_label)
        + _tag("timestamp", bytes([len(stamp)]) + stamp),
    )
    sections = [
        (
            "variable_types",
            struct.pack(f"<{k}H", *(w or DOUBLE for w in column)),
        ),
        ("varnames", b"".join(_field(v.name, 129) for v in variables)),
        ("sortlist", bytes(2 * (k + 1))),
        (
            "formats",
            b"".join(
                _field(_format(v, w), 57)
                for v, w in zip(variables, column, strict=True)
            ),
        ),
        (
            "value_label_names",
            b"".join(_field(sets.get(v.name, ""), 129) for v in variables),
        ),
        (
            "variable_labels",
            b"".join(_field(_label(v.label), 321) for v in variables),
        ),
        ("characteristics", b""),
    ]
    body = [_tag(name, content) for name, content in sections]
    data_size = len(b"<data></data>") + row_size * observations
    strls = _tag("strls", b"")
    labels = _value_labels(variables, sets)
    end = b"</stata_dta>"
    # Offsets of each section's opening tag, counted from the file's start.
    start = len(b"<stata_dta>") + len(header)
    map_size = len(_tag("map", bytes(14 * 8)))
    offsets = [0, start]
    at = start + map_size
    for part in body:
        offsets.append(at)
        at += len(part)
    for size in (data_size, len(strls), len(labels), len(end)):
        offsets.append(at)
        at += size
    offsets.append(at)  # end of file
    before = b"<stata_dta>" + header + _tag("map", struct.pack("<14Q", *offsets))
    return before + b"".join(body) + b"<data>", b"</data>" + strls + labels + end


def dta_chunks(
    variables: Sequence[Variable],
    rows: Iterable[Sequence[object]],
    created: datetime,
    label: str = "",
    spool: IO[bytes] | None = None,
) -> Iterator[bytes]:
    """Yield a .dta (format 118) file of ``rows``, chunk by chunk.

    Values: str or None (empty) for ``string`` variables, int, float or None
    (NaN is missing too) for ``numeric``, naive ``datetime`` or None for
    ``datetime``, ``date`` or None for ``date``; a
    :class:`~pro_app.exports.missing.Reason` the column declares, in a
    numeric column. Every row is spooled (to
    ``spool`` if given, else to an
    anonymous temporary file) before the first byte is yielded. Raises
    :class:`DtaError` on the first value the format cannot hold.
    """
    _check(variables)
    with spooled(variables, RULES, rows, spool) as filled:
        widths = filled.field_widths
        before, after = descriptors(variables, widths, filled.rows, created, label)
        yield before
        yield from chunks(filled, row_assembler(filled.kinds, widths, b"\0"))
        yield after
