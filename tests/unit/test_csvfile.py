"""The shared CSV writer: text that a spreadsheet would run is made safe,
numbers are left as they are."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from pro_app.exports import csvfile


class _Out:
    rows = 0


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil.test")', '\'=HYPERLINK("http://evil.test")'),
        ("+7", "'+7"),
        ("-1+1", "'-1+1"),
        ("-3", "'-3"),  # text, even when it looks like a number
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("'quoted", "''quoted"),
        ("LK-001", "LK-001"),
        ("", ""),
    ],
)
def test_text_cells_starting_a_formula_get_one_apostrophe(value, written):
    assert csvfile.safe_cell(value) == written
    line = csvfile.csv_fragment([value])
    assert next(csv.reader(io.StringIO(line, newline=""))) == [written]


@pytest.mark.parametrize("value", [-3, -2.5, Decimal("-1.25"), 0, 57, None])
def test_numbers_are_written_as_numbers(value):
    assert csvfile.safe_cell(value) is value
    line = csvfile.csv_fragment(["x", value])
    assert line == "x," + ("" if value is None else str(value))


def test_removing_one_apostrophe_gives_back_the_text():
    values = ["=1", "'=1", "''", "-", "plain", "'"]
    text = b"".join(csvfile.csv_chunks(["v"], [[[v] for v in values]], _Out()))
    rows = list(csv.reader(io.StringIO(text.decode())))[1:]
    restored = [r[0][1:] if r[0].startswith("'") else r[0] for r in rows]
    assert restored == values


def test_chunks_count_rows_and_end_lines_with_crlf():
    out = _Out()
    text = b"".join(csvfile.csv_chunks(["a", "b"], [[[1, "=x"]], [[-2, "y"]]], out))
    assert text == b"a,b\r\n1,'=x\r\n-2,y\r\n"
    assert out.rows == 2


def test_the_writer_is_the_one_every_csv_uses():
    # The data CSVs, the codebook and the audit trail all write through it.
    from pro_app.audit import export
    from pro_app.exports import codebook, writers

    assert writers.csv_chunks is csvfile.csv_chunks
    assert codebook.csv_chunks is csvfile.csv_chunks
    assert export.SafeWriter is csvfile.SafeWriter


def test_a_fragment_quotes_line_breaks_inside_a_cell():
    line = csvfile.csv_fragment(["a\r\nb", "c\nd", 1])
    assert line == '"a\r\nb","c\nd",1'
    assert next(csv.reader(io.StringIO(line, newline=""))) == ["a\r\nb", "c\nd", "1"]


def test_a_standard_value_the_project_writes_keeps_its_leading_minus():
    # QSEVLINT is an ISO 8601 duration looking back ("-P4W"), written from the
    # instrument file; the same text typed by someone is still escaped.
    buffer = io.StringIO()
    csvfile.SafeWriter(buffer).writerow([csvfile.Verbatim("-P4W"), "-P4W"])
    assert buffer.getvalue() == "-P4W,'-P4W\r\n"


def test_no_other_module_writes_csv_by_itself():
    from pro_app.config import REPO_ROOT

    writers = [
        path.relative_to(REPO_ROOT).as_posix()
        for path in (REPO_ROOT / "pro_app").rglob("*.py")
        if path.name != "csvfile.py"
        and ("csv.writer(" in (text := path.read_text()) or "csv.DictWriter(" in text)
    ]
    assert writers == []
