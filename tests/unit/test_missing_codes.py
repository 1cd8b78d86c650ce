"""Missing-value reasons in the SPSS and Stata writers: each reason is its own
user-missing code (SPSS) or extended missing value (Stata), labelled, and
independent readers (pyreadstat, pandas) see them as missing and say which;
a reason a column does not declare is refused."""

from __future__ import annotations

import math
import struct
from datetime import datetime

import pandas as pd
import pyreadstat
import pytest

from pro_app.catalog import load_catalog
from pro_app.exports.dta import DtaError, dta_chunks
from pro_app.exports.layout import Variable
from pro_app.exports.missing import (
    ITEM_REASONS,
    NOT_APPLICABLE,
    NOT_SCORABLE,
    REASONS,
    SCORE_REASONS,
    SKIPPED,
    coded,
)
from pro_app.exports.sav import SavError, sav_chunks
from tests.unit.stats_cases import CODES, WHEN

ITEM = coded(Variable("q1", "Item 1", "numeric", CODES), ITEM_REASONS)
SCORE = coded(Variable("pf", "Physical functioning", "numeric"), SCORE_REASONS)
PLAIN = Variable("n", "Plain number", "numeric")
VARIABLES = [ITEM, SCORE, PLAIN]
ROWS = [
    [1, 52.5, 3],
    [SKIPPED, NOT_SCORABLE, None],
    [NOT_APPLICABLE, NOT_APPLICABLE, 0],
    [None, None, None],
]
WRITERS = {"sav": (sav_chunks, SavError), "dta": (dta_chunks, DtaError)}


def _write(tmp_path, suffix, variables=VARIABLES, rows=ROWS):
    path = tmp_path / f"out.{suffix}"
    write = WRITERS[suffix][0]
    path.write_bytes(b"".join(write(variables, rows, WHEN, "missing")))
    return str(path)


def _values(frame, name):
    return [None if isinstance(v, float) and math.isnan(v) else v for v in frame[name]]


def test_codes_are_distinct_and_documented():
    assert len({r.spss for r in REASONS}) == len({r.stata for r in REASONS}) == 3
    assert len({r.label for r in REASONS}) == 3
    assert all(r.spss < 0 for r in REASONS)


def test_no_shipped_response_code_meets_a_missing_code():
    catalog = load_catalog("instruments")
    codes = {c for i in catalog.instruments for item in i.items for c in item.codes}
    assert min(codes) >= 0
    assert not codes & {r.spss for r in REASONS}


def test_spss_user_missing_codes_come_back_labelled(tmp_path):
    path = _write(tmp_path, "sav")
    plain, _meta = pyreadstat.read_sav(path)
    assert _values(plain, "q1") == [1, None, None, None]
    assert _values(plain, "pf") == [52.5, None, None, None]
    frame, meta = pyreadstat.read_sav(path, user_missing=True)
    assert _values(frame, "q1") == [1, -7, -8, None]
    assert _values(frame, "pf") == [52.5, -9, -8, None]
    assert _values(frame, "n") == [3, None, 0, None]
    assert meta.missing_ranges["q1"] == [
        {"lo": -7.0, "hi": -7.0},
        {"lo": -8.0, "hi": -8.0},
    ]
    assert meta.missing_ranges["pf"] == [
        {"lo": -8.0, "hi": -8.0},
        {"lo": -9.0, "hi": -9.0},
    ]
    assert "n" not in meta.missing_ranges
    assert meta.variable_value_labels["q1"] == {
        **CODES,
        -7: "Skipped: shown, not answered",
        -8: "Not applicable: not asked",
    }
    assert meta.variable_value_labels["pf"] == {
        -8: "Not applicable: not asked",
        -9: "Not scorable: too few items answered",
    }
    # Codes and scores keep their measurement level and display.
    assert meta.variable_measure["q1"] == "ordinal"
    assert meta.variable_measure["pf"] == "scale"
    assert meta.original_variable_types["pf"] == "F8.2"


def test_stata_extended_missing_values_come_back_labelled(tmp_path):
    path = _write(tmp_path, "dta")
    plain, _meta = pyreadstat.read_dta(path)
    assert _values(plain, "q1") == [1, None, None, None]
    frame, meta = pyreadstat.read_dta(path, user_missing=True)
    assert _values(frame, "q1") == [1, "a", "b", None]
    assert _values(frame, "pf") == [52.5, "c", "b", None]
    assert _values(frame, "n") == [3, None, 0, None]
    assert meta.missing_user_values == {"q1": ["a", "b"], "pf": ["b", "c"]}
    assert meta.variable_value_labels["q1"] == {
        **CODES,
        "a": "Skipped: shown, not answered",
        "b": "Not applicable: not asked",
    }
    assert meta.variable_value_labels["pf"] == {
        "b": "Not applicable: not asked",
        "c": "Not scorable: too few items answered",
    }


def test_pandas_reads_the_stata_letters(tmp_path):
    path = _write(tmp_path, "dta")
    frame = pd.read_stata(path, convert_missing=True, convert_categoricals=False)
    shown = [str(v) for v in frame["q1"]]
    assert shown == ["1.0", ".a", ".b", "."]
    assert [str(v) for v in frame["pf"]] == ["52.5", ".c", ".b", "."]
    with pd.io.stata.StataReader(path) as reader:
        reader.read()
        labels = reader.value_labels()
    assert labels["q1"][1] == CODES[1]


def test_the_stata_doubles_are_the_documented_bit_patterns():
    bits = [struct.unpack("<Q", struct.pack("<d", r.stata_double))[0] for r in REASONS]
    assert [hex(b) for b in bits] == [
        "0x7fe0010000000000",
        "0x7fe0020000000000",
        "0x7fe0030000000000",
    ]
    assert [r.stata_label_code for r in REASONS] == [
        2_147_483_622,
        2_147_483_623,
        2_147_483_624,
    ]


@pytest.mark.parametrize("suffix", sorted(WRITERS))
@pytest.mark.parametrize(
    ("row", "where"),
    [
        ([NOT_SCORABLE, None, None], "q1 in row 1: not_scorable"),
        ([None, SKIPPED, None], "pf in row 1: skipped"),
        ([None, None, NOT_APPLICABLE], "n in row 1: not_applicable"),
    ],
)
def test_a_reason_the_column_does_not_declare_is_refused(tmp_path, suffix, row, where):
    with pytest.raises(WRITERS[suffix][1], match=where):
        _write(tmp_path, suffix, rows=[row])


@pytest.mark.parametrize("suffix", sorted(WRITERS))
def test_missing_codes_only_on_numbers(tmp_path, suffix):
    text = coded(Variable("t", "Text", "string"), ITEM_REASONS)
    with pytest.raises(WRITERS[suffix][1], match="only numeric"):
        _write(tmp_path, suffix, variables=[text], rows=[])


def test_spss_refuses_a_code_that_is_a_response(tmp_path):
    clash = coded(Variable("x", "X", "numeric", {-7: "minus seven"}), ITEM_REASONS)
    with pytest.raises(SavError, match="missing code -7 is a response"):
        _write(tmp_path, "sav", variables=[clash], rows=[])


def test_spss_allows_at_most_three_discrete_codes(tmp_path):
    four = coded(Variable("x", "X", "numeric"), (*REASONS, SKIPPED))
    with pytest.raises(SavError, match="more than 3"):
        _write(tmp_path, "sav", variables=[four], rows=[])


def test_times_keep_working_beside_codes(tmp_path):
    when = Variable("at", "Completed at: UTC", "datetime")
    path = _write(
        tmp_path, "sav", variables=[when, ITEM], rows=[[datetime(2025, 3, 10), SKIPPED]]
    )
    frame, _meta = pyreadstat.read_sav(path, user_missing=True)
    assert frame["at"][0].to_pydatetime() == datetime(2025, 3, 10)
    assert frame["q1"][0] == -7
