"""A streaming SAS XPORT version 5 (transport) writer, after SAS TS-140.

Pure: no Flask or SQLAlchemy. Observations are written as they come, so
memory does not grow with the dataset; the price is that every variable's
width must be declared before the first record. A value longer than its
declared width, or a character outside ASCII (what version 5 transport files
hold), is refused with :class:`XportError`, never silently cut.

Layout: 80-byte records. Library header, member header, member descriptor,
one 140-byte NAMESTR per variable, the observation header, then the
observations back to back; each part is padded with blanks to a multiple of
80 bytes. Numbers are 8-byte IBM System/360 hexadecimal floating point; a
missing number is ``.`` followed by seven zero bytes. (As in any v5 file, a
reader cannot tell all-blank observations shorter than 80 bytes at the very
end from the padding; QS records always hold ``DOMAIN``.)
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

RECORD = 80
NAMESTR_LENGTH = 140
MAX_CHAR_LENGTH = 200
CHUNK = 64 * 1024
MISSING = b"." + bytes(7)
_HEADER = "HEADER RECORD*******{kind:7} HEADER RECORD!!!!!!!{digits:30}  "
_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,7}\Z")
_NAMESTR = struct.Struct(">hhhh8s40s8shhh2s8shhi52s")


class XportError(ValueError):
    """The dataset cannot be written as XPORT v5 as declared."""


@dataclass(frozen=True)
class Variable:
    """One variable: SAS name (up to 8), label (up to 40), ``Num`` or ``Char``,
    and its width in bytes (8 for numbers, 1 to 200 for characters)."""

    name: str
    label: str
    kind: str
    length: int


def ibm_float(value: float | None) -> bytes:
    """``value`` as an 8-byte big-endian IBM hexadecimal float.

    ``None`` and NaN are the SAS missing value. Exact for every double in IBM
    range: a double's 53-bit mantissa fits in the 56-bit hex fraction with at
    most 3 bits of shift. Magnitudes below 16**-65 become 0; above the IBM
    maximum (about 7.2e75), and infinities, are refused.
    """
    if value is None or math.isnan(value):
        return MISSING
    if math.isinf(value):
        raise XportError(f"{value} cannot be written as an IBM float")
    if value == 0:
        return bytes(8)
    sign = 0x80 if value < 0 else 0
    mantissa, exp2 = math.frexp(abs(value))  # abs = mantissa * 2**exp2
    exp16 = -(-exp2 // 4)  # ceil: abs = fraction * 16**exp16, 1/16 <= fraction < 1
    fraction = int(mantissa * 2**53) << (3 + exp2 - 4 * exp16)
    if exp16 + 64 > 127:
        raise XportError(f"{value} is too large for an IBM float")
    if exp16 + 64 < 0:
        return bytes(8)
    return bytes([sign | (exp16 + 64)]) + fraction.to_bytes(7, "big")


def sas_datetime(moment: datetime) -> str:
    """``ddMMMyy:hh:mm:ss``, as in the XPORT headers: ``24NOV26:21:40:41``."""
    return moment.strftime("%d%b%y:%H:%M:%S").upper()


def _text(value: str, width: int, what: str) -> bytes:
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError as error:
        raise XportError(f"{what} is not ASCII: {value!r}") from error
    if len(raw) > width:
        raise XportError(f"{what} is {len(raw)} bytes, longer than its {width}")
    return raw.ljust(width)


def _check(variables: Sequence[Variable]) -> None:
    if not variables or len(variables) > 9999:
        raise XportError("a dataset has 1 to 9999 variables")
    names = [v.name for v in variables]
    if len(set(names)) != len(names):
        raise XportError("variable names repeat")
    for v in variables:
        if not _NAME.match(v.name):
            raise XportError(f"{v.name!r} is not an upper-case SAS name of 1-8")
        if v.kind == "Num" and v.length != 8:
            raise XportError(f"numeric {v.name} must be 8 bytes")
        if v.kind == "Char" and not 1 <= v.length <= MAX_CHAR_LENGTH:
            raise XportError(f"{v.name} must be 1 to {MAX_CHAR_LENGTH} bytes")
        if v.kind not in ("Num", "Char"):
            raise XportError(f"{v.name}: kind must be Num or Char")
        _text(v.label, 40, f"label of {v.name}")


def _pad(data: bytes) -> bytes:
    return data + b" " * (-len(data) % RECORD)


def header(
    dataset: str, label: str, variables: Sequence[Variable], created: datetime
) -> bytes:
    """Everything before the first observation."""
    _check(variables)
    _text(dataset, 8, "dataset name")
    if not _NAME.match(dataset):
        raise XportError(f"{dataset!r} is not an upper-case SAS name of 1-8")
    when = sas_datetime(created).encode()
    parts = [
        _HEADER.format(kind="LIBRARY", digits="0" * 30).encode(),
        b"SAS     SAS     SASLIB  6.06    " + b"PYTHON  " + b" " * 24 + when,
        when + b" " * 64,
        _HEADER.format(
            kind="MEMBER", digits="0" * 17 + "16" + "0" * 8 + "140"
        ).encode(),
        _HEADER.format(kind="DSCRPTR", digits="0" * 30).encode(),
        b"SAS     "
        + dataset.encode().ljust(8)
        + b"SASDATA 6.06    PYTHON  "
        + b" " * 24
        + when,
        when + b" " * 16 + _text(label, 40, "dataset label") + b" " * 8,
        _HEADER.format(
            kind="NAMESTR", digits=f"000000{len(variables):04d}" + "0" * 20
        ).encode(),
    ]
    namestrs, position = [], 0
    for number, v in enumerate(variables, start=1):
        namestrs.append(
            _NAMESTR.pack(
                1 if v.kind == "Num" else 2,
                0,
                v.length,
                number,
                v.name.encode().ljust(8),
                v.label.encode().ljust(40),
                b" " * 8,
                0,
                0,
                0,
                b"  ",
                b" " * 8,
                0,
                0,
                position,
                bytes(52),
            )
        )
        position += v.length
    parts.append(_pad(b"".join(namestrs)))
    parts.append(_HEADER.format(kind="OBS", digits="0" * 30).encode())
    return b"".join(parts)


def observation(variables: Sequence[Variable], row: Sequence[object], n: int) -> bytes:
    """One observation's bytes; ``n`` (1-based) names it in errors."""
    if len(row) != len(variables):
        raise XportError(f"record {n} has {len(row)} values, not {len(variables)}")
    out = []
    for v, value in zip(variables, row, strict=True):
        if v.kind == "Num":
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise XportError(f"{v.name} in record {n} is not a number: {value!r}")
            out.append(ibm_float(None if value is None else float(value)))
        else:
            if value is not None and not isinstance(value, str):
                raise XportError(f"{v.name} in record {n} is not text: {value!r}")
            out.append(_text(value or "", v.length, f"{v.name} in record {n}"))
    return b"".join(out)


def xport_chunks(
    dataset: str,
    label: str,
    variables: Sequence[Variable],
    rows: Iterable[Sequence[object]],
    created: datetime,
) -> Iterator[bytes]:
    """Yield an XPORT v5 file of one dataset, chunk by chunk, as rows arrive.

    Numeric values are int, float or None (missing); character values str or
    None (empty). Raises :class:`XportError` on the first value that does not
    fit its declared variable.
    """
    yield header(dataset, label, variables, created)
    buffer: list[bytes] = []
    size = written = 0
    for n, row in enumerate(rows, start=1):
        data = observation(variables, row, n)
        buffer.append(data)
        size += len(data)
        if size >= CHUNK:
            yield b"".join(buffer)
            written += size
            buffer, size = [], 0
    written += size
    buffer.append(b" " * (-written % RECORD))
    yield b"".join(buffer)
