"""The streaming SPSS .sav writer: files read back by an independent reader
(pyreadstat, i.e. ReadStat) hold every value, label, missing value, time and
long name written; what the format cannot hold is refused; rows are spooled
as they arrive and the writer's memory does not grow with them."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime

import pyreadstat
import pytest

from pro_app.exports.layout import Variable
from pro_app.exports.sav import (
    MAX_STRING,
    SYSMIS,
    SavError,
    sav_chunks,
    short_names,
)
from tests.unit.stats_cases import (
    ARABIC,
    CODES,
    COMMON_ROWS,
    CYRILLIC,
    HEBREW,
    VARIABLES,
    WHEN,
    same,
)

ROWS = [
    *COMMON_ROWS,
    [None, datetime(1583, 1, 1, 0, 0, 1), 4, 1, 123456789.123456, "x", 1],
]


def _write(tmp_path, variables=VARIABLES, rows=ROWS, label="TEST-1 rand36"):
    path = tmp_path / "out.sav"
    path.write_bytes(b"".join(sav_chunks(variables, rows, WHEN, label)))
    return path


def test_pyreadstat_reads_back_every_value(tmp_path):
    frame, meta = pyreadstat.read_sav(str(_write(tmp_path)))
    assert meta.number_rows == len(ROWS) == len(frame)
    assert list(frame.columns) == [v.name for v in VARIABLES]
    for row, got in zip(ROWS, frame.to_dict("records"), strict=True):
        assert got["subject"] == (row[0] or "")
        assert got["comment"] == (row[5] or "")
        for name, want in zip(("rand36_q01", "rand36_q02"), row[2:4], strict=True):
            assert same(got[name], want), name
        assert same(got["promis29_anxiety_t"], row[4])
        assert same(got["corrected"], row[6])
        if row[1] is None:
            assert str(got["completed_at_utc"]) == "NaT"
        else:  # to the second, as written
            assert got["completed_at_utc"].to_pydatetime() == row[1]


def test_labels_measures_formats_and_encoding_come_back(tmp_path):
    _frame, meta = pyreadstat.read_sav(str(_write(tmp_path)))
    assert meta.column_labels == [v.label for v in VARIABLES]
    assert meta.variable_value_labels == {
        "rand36_q01": CODES,
        "rand36_q02": CODES,
        "corrected": {0: "no", 1: "yes"},
    }
    assert meta.variable_measure == {
        "subject": "nominal",
        "completed_at_utc": "scale",
        "rand36_q01": "ordinal",
        "rand36_q02": "ordinal",
        "promis29_anxiety_t": "scale",
        "comment": "nominal",
        "corrected": "ordinal",
    }
    assert meta.original_variable_types["completed_at_utc"] == "DATETIME20"
    assert meta.original_variable_types["rand36_q01"] == "F8.0"
    assert meta.original_variable_types["promis29_anxiety_t"] == "F8.2"
    # Exact widths: the widest value in bytes of UTF-8.
    widest = max(len(s.encode()) for s in (HEBREW, ARABIC, CYRILLIC))
    assert meta.original_variable_types["comment"] == f"A{widest}"
    assert meta.original_variable_types["subject"] == f"A{len('משתתף-3'.encode())}"
    assert meta.file_encoding == "UTF-8"
    assert meta.file_label == "TEST-1 rand36"


def test_missing_numbers_are_stored_as_sysmis(tmp_path):
    variables = [Variable("x", "", "numeric")]
    data = _write(tmp_path, variables, [[None], [7]]).read_bytes()
    assert data[-16:] == struct.pack("<2d", SYSMIS, 7.0)
    assert SYSMIS == -1.7976931348623157e308


def test_long_names_with_the_same_first_eight_characters(tmp_path):
    names = [f"promis_global_item_{n:02d}" for n in range(40)]
    shorts = short_names(names)
    assert len(set(shorts)) == 40
    assert all(len(s) <= 8 and s.isascii() and s[0].isalpha() for s in shorts)
    variables = [Variable(n, n.upper(), "numeric") for n in names]
    rows = [list(range(40)), [None] * 40]
    frame, meta = pyreadstat.read_sav(str(_write(tmp_path, variables, rows)))
    assert meta.column_names == names
    assert frame.iloc[0].tolist() == list(range(40))


def test_zero_rows(tmp_path):
    frame, meta = pyreadstat.read_sav(str(_write(tmp_path, rows=[])))
    assert len(frame) == 0
    assert meta.number_rows == 0
    assert meta.column_names == [v.name for v in VARIABLES]
    assert meta.column_labels == [v.label for v in VARIABLES]
    assert meta.variable_value_labels["rand36_q01"] == CODES


def test_columns_entirely_missing(tmp_path):
    rows = [[None] * len(VARIABLES) for _ in range(3)]
    frame, meta = pyreadstat.read_sav(str(_write(tmp_path, rows=rows)))
    assert len(frame) == 3
    assert (frame["subject"] == "").all()
    assert frame["rand36_q01"].isna().all()
    assert frame["completed_at_utc"].isna().all()
    assert meta.original_variable_types["subject"] == "A1"


def test_a_string_at_the_maximum_width_comes_back(tmp_path):
    widest = "ж" * 127 + "x"  # 255 bytes of UTF-8
    assert len(widest.encode()) == MAX_STRING
    variables = [Variable("text", "", "string"), Variable("n", "", "numeric")]
    frame, meta = pyreadstat.read_sav(
        str(_write(tmp_path, variables, [[widest, 1], ["a", 2]]))
    )
    assert frame["text"].tolist() == [widest, "a"]
    assert frame["n"].tolist() == [1, 2]
    assert meta.original_variable_types["text"] == "A255"


def test_labels_are_cut_to_spss_limits_between_characters(tmp_path):
    long_label = "א" * 200  # 400 bytes: kept to 256, i.e. 128 letters
    long_value = "ب" * 100  # 200 bytes: kept to 120, i.e. 60 letters
    variables = [Variable("x", long_label, "numeric", {1: long_value})]
    _frame, meta = pyreadstat.read_sav(str(_write(tmp_path, variables, [[1]])))
    assert meta.column_labels == ["א" * 128]
    assert meta.variable_value_labels == {"x": {1: "ب" * 60}}


def test_a_string_over_the_maximum_is_refused_not_cut(tmp_path):
    variables = [Variable("text", "", "string")]
    rows = [["ok"], ["ж" * 128]]
    with pytest.raises(SavError, match=r"text in row 2 is 256 bytes.*255"):
        _write(tmp_path, variables, rows)


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ([1, None, 1, 1, 1.0, "", 0], "subject in row 1 is not text"),
        (["a", "2025-03-10", 1, 1, 1.0, "", 0], "not a naive datetime"),
        (["a", datetime(2025, 3, 10, tzinfo=UTC), 1, 1, 1.0, "", 0], "naive"),
        (["a", None, "1", 1, 1.0, "", 0], "rand36_q01 in row 1 is not a number"),
        (["a", None, True, 1, 1.0, "", 0], "not a number"),
        (["a", None, 1, 1, math.inf, "", 0], "out of this format's range"),
        (["a", None, 1, 1, SYSMIS, "", 0], "out of this format's range"),
        (["a", None, 1, 1, 10**400, "", 0], "out of this format's range"),
        (["a", None, 1, 1, 1.0, "\ud800", 0], "not valid Unicode"),
        (["a", None, 1, 1, 1.0, "a\0b", 0], "holds a NUL"),
        (["a", None, 1, 1, 1.0, ""], "row 1 has 6 values, not 7"),
    ],
)
def test_bad_values_are_refused(tmp_path, row, problem):
    with pytest.raises(SavError, match=problem):
        _write(tmp_path, rows=[row])


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ([], "at least one variable"),
        ([Variable("x" * 65, "", "numeric")], "not an SPSS name"),
        ([Variable("ünï", "", "numeric")], "not an SPSS name"),
        ([Variable("1st", "", "numeric")], "not an SPSS name"),
        ([Variable("by", "", "numeric")], "reserved"),
        ([Variable("a", "", "numeric"), Variable("A", "", "string")], "repeats"),
        ([Variable("s", "", "string", {1: "one"})], "only numeric"),
        ([Variable("d", "", "time")], "type must be one of"),
        ([Variable("x", "\ud800", "numeric")], "label of x is not valid Unicode"),
        ([Variable("x", "", "numeric", {math.nan: "?"})], "not finite"),
        ([Variable("x", "", "numeric", {1: 5})], "value label for 1 is not text"),
    ],
)
def test_bad_declarations_are_refused_before_any_byte(variables, problem):
    chunks = sav_chunks(variables, iter([]), WHEN)
    with pytest.raises(SavError, match=problem):
        next(chunks)


def test_a_bad_file_label_is_refused():
    with pytest.raises(SavError, match="file label is not valid Unicode"):
        next(sav_chunks(VARIABLES, [], WHEN, "\udfff"))
