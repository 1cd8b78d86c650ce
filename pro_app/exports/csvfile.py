"""The one CSV writer of the project: data exports, codebooks, the audit trail.

Pure (the standard library only), so the audit trail can use it too. Every
CSV is RFC 4180: comma-separated, CRLF line ends, quoted as needed.

A spreadsheet runs a text cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return as a formula (CWE-1236, "CSV injection"). Such a
text cell, and one that starts with an apostrophe, gets one apostrophe in
front; removing one leading apostrophe from any cell that starts with one
gives back the stored text exactly. Numbers (``int``, ``float``,
``Decimal``) are never changed: a score of ``-3`` stays ``-3``, a number to
every reader. Only the type decides, never the look of the text, so a text
``"-3"`` (a subject id, say) is escaped like any other text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

#: A text cell starting with one of these gets a leading apostrophe.
FORMULA_START = frozenset("=+-@\t\r'")
LINE_END = "\r\n"
#: Bytes of CSV text gathered before a chunk is handed on.
CHUNK = 64 * 1024


class Verbatim(str):
    """Text the project writes from a standard or an instrument file, never
    from anyone's input (an SDTM evaluation interval ``-P4W``): written as it
    is, since an apostrophe would change a standard value. The guard above
    tests for exactly ``str``, so this subclass passes it by construction."""

    __slots__ = ()


def safe_cell(value: object) -> object:
    """Return a cell a spreadsheet will not run as a formula (see above)."""
    if value.__class__ is str and value[:1] in FORMULA_START:  # type: ignore[index]
        return "'" + value  # type: ignore[operator]
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    """Return a row with every text cell made safe."""
    # Inline rather than safe_cell per cell: this runs for every cell of a
    # wide export (about 200 a row).
    return [
        "'" + v if v.__class__ is str and v[:1] in FORMULA_START else v  # type: ignore[index,operator]
        for v in row
    ]


class SafeWriter:
    """``csv.writer`` with every text cell made safe; CRLF line ends."""

    def __init__(self, stream: Any, *, lineterminator: str = LINE_END) -> None:
        self._writer = csv.writer(stream, lineterminator=lineterminator)

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row."""
        self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write several rows."""
        self._writer.writerows(safe_row(row) for row in rows)


def csv_fragment(values: Sequence[object]) -> str:
    """Cells as they appear inside a CSV line (made safe, quoted), no line end."""
    buffer = io.StringIO()
    # Written with its line end, then cut: the csv module quotes a cell
    # holding a CR or LF only when they are in the line terminator.
    SafeWriter(buffer).writerow(values)
    return buffer.getvalue()[: -len(LINE_END)]


class Counted(Protocol):
    """What receives the count of data rows written (an ``ExportFile``)."""

    rows: int


def csv_chunks(
    header: Sequence[str], rows: Iterable[list[list[object]]], out: Counted
) -> Iterator[bytes]:
    """Encode a header and batches of rows as CSV, in chunks of about CHUNK."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(header)
    for batch in rows:
        writer.writerows(batch)
        out.rows += len(batch)
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode()
            buffer = io.StringIO()
            writer = SafeWriter(buffer)
    yield buffer.getvalue().encode()


def text_chunks(
    header: Sequence[str], pieces: Iterable[tuple[str, int]], out: Counted
) -> Iterator[bytes]:
    """Encode a CSV header and pre-rendered (text, rows) pieces, in chunks.

    The pieces must have been rendered with ``csv_fragment`` (made safe).
    """
    parts = [csv_fragment(header) + LINE_END]
    size = 0
    for text, rows in pieces:
        parts.append(text)
        size += len(text)
        out.rows += rows
        if size >= CHUNK:
            yield "".join(parts).encode()
            parts, size = [], 0
    yield "".join(parts).encode()
