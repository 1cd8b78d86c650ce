"""Rows spooled to a temporary file, for the SPSS and Stata writers. Pure.

A .sav or .dta header states the number of rows and every string column's
width before the first row. Rather than hold the dataset in memory (or guess
widths and cut values), each row is checked, encoded and appended to a
temporary file as it arrives, while the count and the widest value of each
string column are kept; the writer then emits the header and reads the rows
back once. Memory stays flat whatever the number of rows.

Spooled row: one uint16 byte length per string column, the numeric columns
as little-endian doubles (already in the target format's encoding: missing
values are the format's sentinel), then the strings' UTF-8 bytes.
"""

from __future__ import annotations

import math
import struct
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

from pro_app.exports.layout import Variable
from pro_app.exports.missing import Reason, reasons_of

KINDS = ("string", "numeric", "datetime", "date")
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Rules:
    """What a format can hold, and how it encodes numbers and times."""

    error: type[ValueError]  # raised for anything that does not fit
    max_string: int  # bytes of UTF-8 in one string value
    missing: float  # the double that means "missing"
    low: float  # smallest and largest numbers that are not missing
    high: float
    epoch: datetime  # times are counted from this wall-clock moment...
    per_second: int  # ...in seconds (1) or milliseconds (1000)
    per_day: int  # dates from the epoch's day: in seconds (86,400) or days (1)
    # The double a missing-value reason is stored as (``missing.py``).
    reason: Callable[[Reason], float] | None = None


def utf8(text: object, error: type[ValueError], what: str) -> bytes:
    """``text`` as UTF-8, or ``error`` saying why it cannot be."""
    if not isinstance(text, str):
        raise error(f"{what} is not text: {text!r}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as problem:
        raise error(f"{what} is not valid Unicode: {text!r}") from problem


@contextmanager
def spooled(
    variables: Sequence[Variable],
    rules: Rules,
    rows: Iterable[Sequence[object]],
    spool: IO[bytes] | None = None,
) -> Iterator[RowSpool]:
    """Spool every row (to ``spool``, else to an anonymous temporary file) and
    give the filled spool; the file lives until the ``with`` block ends."""
    with tempfile.TemporaryFile() if spool is None else nullcontext(spool) as file:
        filled = RowSpool(variables, rules, file)
        filled.add_all(rows)
        yield filled


class RowSpool:
    """Checks, encodes and spools rows; then replays them once, in order.

    ``widths`` (bytes of the longest value of each string column) and
    ``rows`` are final once ``add_all`` has returned.
    """

    def __init__(
        self, variables: Sequence[Variable], rules: Rules, file: IO[bytes]
    ) -> None:
        for v in variables:
            if v.type not in KINDS:
                raise rules.error(f"{v.name}: type must be one of {KINDS}")
        self.variables = tuple(variables)
        self.rules = rules
        self.kinds = tuple(KINDS.index(v.type) for v in variables)
        n_strings = self.kinds.count(0)
        self._lengths = struct.Struct(f"<{n_strings}H")
        self._numbers = struct.Struct(f"<{len(self.kinds) - n_strings}d")
        self._file = file
        self._start = file.tell()
        self.widths = [0] * n_strings
        self.rows = 0

    @property
    def field_widths(self) -> list[int]:
        """Each string column's width in the file: its longest value, at least 1."""
        return [max(w, 1) for w in self.widths]

    def add_all(self, rows: Iterable[Sequence[object]]) -> None:
        """Spool every row; the first value that does not fit raises."""
        for row in rows:
            self.add(row)

    def add(self, row: Sequence[object]) -> None:
        """Check, encode and spool one row."""
        n = self.rows + 1
        if len(row) != len(self.kinds):
            raise self.rules.error(
                f"row {n} has {len(row)} values, not {len(self.kinds)}"
            )
        strings: list[bytes] = []
        numbers: list[float] = []
        for variable, kind, value in zip(self.variables, self.kinds, row, strict=True):
            if kind == 0:
                strings.append(self._text(variable, value, n))
            elif kind == 1:
                numbers.append(self._number(variable, value, n))
            elif kind == 2:
                numbers.append(self._moment(variable, value, n))
            else:
                numbers.append(self._day(variable, value, n))
        widths = self.widths
        lengths = [len(s) for s in strings]
        for k, length in enumerate(lengths):
            if length > widths[k]:
                widths[k] = length
        self._file.write(
            self._lengths.pack(*lengths)
            + self._numbers.pack(*numbers)
            + b"".join(strings)
        )
        self.rows = n

    def _text(self, variable: Variable, value: object, n: int) -> bytes:
        if value is None:
            return b""
        raw = utf8(value, self.rules.error, f"{variable.name} in row {n}")
        if len(raw) > self.rules.max_string:
            raise self.rules.error(
                f"{variable.name} in row {n} is {len(raw)} bytes of UTF-8, "
                f"longer than the {self.rules.max_string} this format holds"
            )
        if b"\0" in raw:  # Stata ends a string at NUL; SPSS readers do too
            raise self.rules.error(f"{variable.name} in row {n} holds a NUL")
        return raw

    def _number(self, variable: Variable, value: object, n: int) -> float:
        if value is None:
            return self.rules.missing
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, Reason):
                return self._reason(variable, value, n)
            raise self.rules.error(
                f"{variable.name} in row {n} is not a number: {value!r}"
            )
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if math.isnan(number):
            return self.rules.missing
        if not self.rules.low <= number <= self.rules.high:
            raise self.rules.error(
                f"{variable.name} in row {n}: {value!r} is out of this format's range"
            )
        return number

    def _reason(self, variable: Variable, value: Reason, n: int) -> float:
        # Only a reason the column declares: elsewhere its code would be data.
        if value not in reasons_of(variable) or self.rules.reason is None:
            raise self.rules.error(
                f"{variable.name} in row {n}: {value.key} is not one of its "
                "declared missing values"
            )
        return self.rules.reason(value)

    def _moment(self, variable: Variable, value: object, n: int) -> float:
        if value is None:
            return self.rules.missing
        # Both formats store wall-clock time without a zone: the caller says
        # which clock by converting first; an aware value would be ambiguous.
        if not isinstance(value, datetime) or value.tzinfo is not None:
            raise self.rules.error(
                f"{variable.name} in row {n} is not a naive datetime: {value!r}"
            )
        delta = value - self.rules.epoch
        seconds = delta.days * 86_400 + delta.seconds
        # Integer arithmetic first: exact to the microsecond where it can be.
        per = self.rules.per_second
        return (seconds * per * 1_000_000 + delta.microseconds * per) / 1_000_000

    def _day(self, variable: Variable, value: object, n: int) -> float:
        if value is None:
            return self.rules.missing
        # A datetime is a date too: refused, so a time is never silently dropped.
        if not isinstance(value, date) or isinstance(value, datetime):
            raise self.rules.error(
                f"{variable.name} in row {n} is not a date: {value!r}"
            )
        return float((value - self.rules.epoch.date()).days * self.rules.per_day)

    def replay(self) -> Iterator[tuple[list[bytes], bytes]]:
        """Each spooled row: its strings, and its numbers' packed doubles."""
        file = self._file
        file.flush()
        file.seek(self._start)
        lengths, numbers = self._lengths, self._numbers
        fixed_size = lengths.size + numbers.size
        for _ in range(self.rows):
            fixed = file.read(fixed_size)
            sizes = lengths.unpack_from(fixed)
            text = file.read(sum(sizes))
            strings, at = [], 0
            for size in sizes:
                strings.append(text[at : at + size])
                at += size
            yield strings, fixed[lengths.size :]


def chunks(
    spooled: RowSpool, assemble: Callable[[list[bytes], bytes], bytes]
) -> Iterator[bytes]:
    """The spooled rows laid out by ``assemble``, in chunks of about CHUNK."""
    buffer, size = [], 0
    for strings, numbers in spooled.replay():
        data = assemble(strings, numbers)
        buffer.append(data)
        size += len(data)
        if size >= CHUNK:
            yield b"".join(buffer)
            buffer, size = [], 0
    yield b"".join(buffer)


def row_assembler(
    kinds: Sequence[int], widths: Sequence[int], pad: bytes
) -> Callable[[list[bytes], bytes], bytes]:
    """Return a function that lays out a replayed row in the target format.

    ``kinds`` as in ``RowSpool.kinds``; ``widths`` the stored width of each
    string column, which is padded with ``pad``; numbers are copied as they
    were spooled, runs of consecutive numeric columns as one slice.
    """
    plan: list[tuple[int, int, int]] = []  # (string index or -1, start, end)
    string = number = 0
    for kind in kinds:
        if kind == 0:
            plan.append((string, widths[string], 0))
            string += 1
        elif plan and plan[-1][0] == -1:
            plan[-1] = (-1, plan[-1][1], plan[-1][2] + 8)
        else:
            plan.append((-1, number * 8, number * 8 + 8))
        number += kind != 0

    def assemble(strings: list[bytes], numbers: bytes) -> bytes:
        return b"".join(
            strings[k].ljust(a, pad) if k >= 0 else numbers[a:b] for k, a, b in plan
        )

    return assemble
