"""The streaming Stata .dta (format 118) writer: files read back by two
independent readers (pyreadstat/ReadStat and pandas) hold every value,
label, missing value, time and name written; what the format cannot hold is
refused; rows are spooled as they arrive and memory does not grow with them."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime

import pandas as pd
import pyreadstat
import pytest

from pro_app.exports.dta import LARGEST, MAX_STRING, MISSING, DtaError, dta_chunks
from pro_app.exports.layout import Variable
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
    [None, datetime(1900, 1, 1, 0, 0, 1), 4, 1, 1e300, "x", 1],
]
NAMES = [v.name for v in VARIABLES]


def _write(tmp_path, variables=VARIABLES, rows=ROWS, label="TEST-1 rand36"):
    path = tmp_path / "out.dta"
    path.write_bytes(b"".join(dta_chunks(variables, rows, WHEN, label)))
    return path


def _check_values(frame: pd.DataFrame, rows: list[list[object]]) -> None:
    assert list(frame.columns) == NAMES
    assert len(frame) == len(rows)
    for row, got in zip(rows, frame.to_dict("records"), strict=True):
        assert got["subject"] == (row[0] or "")
        assert got["comment"] == (row[5] or "")
        for name, want in zip(("rand36_q01", "rand36_q02"), row[2:4], strict=True):
            assert same(got[name], want), name
        assert same(got["promis29_anxiety_t"], row[4])
        assert same(got["corrected"], row[6])
        if row[1] is None:
            assert pd.isna(got["completed_at_utc"])
        else:  # to the second, as written
            assert got["completed_at_utc"].to_pydatetime() == row[1]


def test_pyreadstat_reads_back_every_value_and_label(tmp_path):
    frame, meta = pyreadstat.read_dta(str(_write(tmp_path)))
    _check_values(frame, ROWS)
    assert meta.number_rows == len(ROWS)
    assert meta.column_labels == [v.label for v in VARIABLES]
    assert meta.variable_value_labels == {
        "rand36_q01": CODES,
        "rand36_q02": CODES,
        "corrected": {0: "no", 1: "yes"},
    }
    assert meta.file_label == "TEST-1 rand36"
    assert meta.original_variable_types["completed_at_utc"] == "%tc"
    widest = max(len(s.encode()) for s in (HEBREW, ARABIC, CYRILLIC))
    assert meta.original_variable_types["comment"] == f"%-{widest}s"


def test_pandas_reads_back_every_value_and_label(tmp_path):
    path = _write(tmp_path)
    frame = pd.read_stata(path, convert_categoricals=False)
    _check_values(frame, ROWS)
    with pd.io.stata.StataReader(path) as reader:
        reader.read()
        assert reader.data_label == "TEST-1 rand36"
        assert reader.variable_labels() == {v.name: v.label for v in VARIABLES}
        # One label set shared by both items, stored once.
        assert reader.value_labels() == {
            "rand36_q01": CODES,
            "corrected": {0: "no", 1: "yes"},
        }
    labelled = pd.read_stata(path)  # codes shown as their labels
    assert labelled["rand36_q01"].tolist()[:3] == ["Excellent", "Очень хорошо", "טוב"]


def test_missing_numbers_are_stata_dot(tmp_path):
    variables = [Variable("x", "", "numeric")]
    data = _write(tmp_path, variables, [[None], [7]]).read_bytes()
    dot = bytes.fromhex("000000000000e07f")  # 0x7FE0000000000000, little-endian
    assert struct.pack("<d", MISSING) == dot
    section = data[data.index(b"<data>") + 6 : data.index(b"</data>")]
    assert section == dot + struct.pack("<d", 7.0)


def test_zero_rows(tmp_path):
    path = _write(tmp_path, rows=[])
    frame, meta = pyreadstat.read_dta(str(path))
    assert len(frame) == 0
    assert meta.number_rows == 0
    assert meta.column_names == NAMES
    assert meta.column_labels == [v.label for v in VARIABLES]
    assert meta.variable_value_labels["rand36_q02"] == CODES
    assert list(pd.read_stata(path).columns) == NAMES


def test_columns_entirely_missing(tmp_path):
    rows = [[None] * len(VARIABLES) for _ in range(3)]
    path = _write(tmp_path, rows=rows)
    for frame in (pyreadstat.read_dta(str(path))[0], pd.read_stata(path)):
        assert len(frame) == 3
        assert (frame["subject"] == "").all()
        assert frame["rand36_q01"].isna().all()
        assert frame["completed_at_utc"].isna().all()


def test_extremes_of_the_range_come_back(tmp_path):
    variables = [Variable("x", "", "numeric")]
    values = [LARGEST, -1.7976931348623157e308, 5e-324, -0.0]
    path = _write(tmp_path, variables, [[v] for v in values])
    assert pd.read_stata(path)["x"].tolist() == values
    assert pyreadstat.read_dta(str(path))[0]["x"].tolist() == values


def test_a_string_at_the_maximum_width_comes_back(tmp_path):
    widest = "ж" * 1022 + "x"  # 2045 bytes of UTF-8
    assert len(widest.encode()) == MAX_STRING
    variables = [Variable("text", "", "string"), Variable("n", "", "numeric")]
    path = _write(tmp_path, variables, [[widest, 1], ["a", 2]])
    assert pd.read_stata(path)["text"].tolist() == [widest, "a"]
    frame, meta = pyreadstat.read_dta(str(path))
    assert frame["text"].tolist() == [widest, "a"]
    assert frame["n"].tolist() == [1, 2]


def test_labels_are_cut_to_80_characters(tmp_path):
    variables = [Variable("x", "א" * 100, "numeric", {1: "ب" * 300})]
    _frame, meta = pyreadstat.read_dta(str(_write(tmp_path, variables, [[1]])))
    assert meta.column_labels == ["א" * 80]
    assert meta.variable_value_labels == {"x": {1: "ب" * 300}}  # kept whole


def test_a_string_over_the_maximum_is_refused_not_cut(tmp_path):
    variables = [Variable("text", "", "string")]
    with pytest.raises(DtaError, match=r"text in row 2 is 2046 bytes.*2045"):
        _write(tmp_path, variables, [["ok"], ["ж" * 1023]])


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ([1, None, 1, 1, 1.0, "", 0], "subject in row 1 is not text"),
        (["a", "2025-03-10", 1, 1, 1.0, "", 0], "not a naive datetime"),
        (["a", datetime(2025, 3, 10, tzinfo=UTC), 1, 1, 1.0, "", 0], "naive"),
        (["a", None, "1", 1, 1.0, "", 0], "rand36_q01 in row 1 is not a number"),
        (["a", None, False, 1, 1.0, "", 0], "not a number"),
        (["a", None, 1, 1, 9e307, "", 0], "out of this format's range"),
        (["a", None, 1, 1, -math.inf, "", 0], "out of this format's range"),
        (["a", None, 1, 1, 1.0, "\udfff", 0], "not valid Unicode"),
        (["a", None, 1, 1, 1.0, "a\0", 0], "holds a NUL"),
        (["a", None, 1, 1, 1.0, "", 0, 1], "row 1 has 8 values, not 7"),
    ],
)
def test_bad_values_are_refused(tmp_path, row, problem):
    with pytest.raises(DtaError, match=problem):
        _write(tmp_path, rows=[row])


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ([], "1 to 32,767 variables"),
        ([Variable("x" * 33, "", "numeric")], "not a Stata name"),
        ([Variable("émoi", "", "numeric")], "not a Stata name"),
        ([Variable("_N", "", "numeric")], "not a Stata name"),
        ([Variable("str12", "", "numeric")], "reserved"),
        ([Variable("a", "", "numeric"), Variable("a", "", "string")], "repeats"),
        ([Variable("s", "", "string", {1: "one"})], "only numeric"),
        ([Variable("x", "", "numeric", {1.5: "one and a half"})], "non-integer"),
        ([Variable("x", "", "numeric", {2**31: "big"})], "out of range"),
        ([Variable("d", "", "time")], "type must be one of"),
        ([Variable("x", "\ud800", "numeric")], "label of x is not valid Unicode"),
        ([Variable("x", "", "numeric", {1: "a\0b"})], "for 1 is not storable"),
        ([Variable("x", "", "numeric", {1: None})], "value label for 1 is not text"),
    ],
)
def test_bad_declarations_are_refused_before_any_byte(variables, problem):
    chunks = dta_chunks(variables, iter([]), WHEN)
    with pytest.raises(DtaError, match=problem):
        next(chunks)


def test_a_bad_dataset_label_is_refused():
    with pytest.raises(DtaError, match="dataset label is not valid Unicode"):
        next(dta_chunks(VARIABLES, [], WHEN, "\udfff"))


def test_the_map_points_at_every_section(tmp_path):
    data = _write(tmp_path).read_bytes()
    start = data.index(b"<map>") + len(b"<map>")
    offsets = struct.unpack("<14Q", data[start : start + 14 * 8])
    tags = [
        b"<stata_dta>", b"<map>", b"<variable_types>", b"<varnames>",
        b"<sortlist>", b"<formats>", b"<value_label_names>",
        b"<variable_labels>", b"<characteristics>", b"<data>", b"<strls>",
        b"<value_labels>", b"</stata_dta>",
    ]  # fmt: skip
    for offset, tag in zip(offsets, tags, strict=False):
        assert data[offset : offset + len(tag)] == tag
    assert offsets[-1] == len(data)
