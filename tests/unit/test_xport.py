"""The streaming SAS XPORT v5 writer: files read back by two independent
readers (pyreadstat/ReadStat and pandas) hold every value written; IBM floats
are exact; a value that does not fit its declared variable is refused."""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import UTC, date, datetime
from fractions import Fraction

import pandas as pd
import pyreadstat
import pytest

from pro_app.catalog import load_catalog
from pro_app.config import DEFAULTS
from pro_app.exports.layout import ExportFilters, ExportPlan, SubmissionRecord
from pro_app.exports.sdtm import COLUMNS, NUMBER_TEXT, QS_VARIABLES, QsRows
from pro_app.exports.sdtm_map import MappingError
from pro_app.exports.xport import (
    MISSING,
    Variable,
    XportError,
    ibm_float,
    sas_datetime,
    xport_chunks,
)

WHEN = datetime(2026, 11, 24, 21, 40, 41)
VARIABLES = [
    Variable("NAME", "Participant name", "Char", 12),
    Variable("VALUE", "A number", "Num", 8),
    Variable("FLAG", "", "Char", 1),
    Variable("LONGTXT", "x" * 40, "Char", 200),
]
NUMBERS = [48.3, -19.4, 0, 1e-5, 123456789012.345, -1e15, 7, None, 2.5e-70, 1e75]
ROWS = [
    [f"row {n}", value, "Y" if n % 2 else "", "z" * (n * 20)]
    for n, value in enumerate(NUMBERS)
] + [["", None, None, None]]


def _write(tmp_path, variables=VARIABLES, rows=ROWS, name="QS", label="Test"):
    path = tmp_path / "out.xpt"
    path.write_bytes(b"".join(xport_chunks(name, label, variables, rows, WHEN)))
    return path


def _decode(raw: bytes) -> Fraction | None:
    """An IBM float, decoded exactly (independently of the writer)."""
    if raw == MISSING:
        return None
    sign = -1 if raw[0] & 0x80 else 1
    fraction = Fraction(int.from_bytes(raw[1:], "big"), 2**56)
    return sign * fraction * Fraction(16) ** ((raw[0] & 0x7F) - 64)


def test_pyreadstat_reads_back_every_value_and_label(tmp_path):
    frame, meta = pyreadstat.read_xport(str(_write(tmp_path)))
    assert meta.table_name == "QS"
    assert meta.file_label == "Test"
    assert meta.column_names == ["NAME", "VALUE", "FLAG", "LONGTXT"]
    assert meta.column_labels == ["Participant name", "A number", None, "x" * 40]
    assert meta.variable_storage_width == {
        "NAME": 12,
        "VALUE": 8,
        "FLAG": 1,
        "LONGTXT": 200,
    }
    assert len(frame) == len(ROWS)
    for row, got in zip(ROWS, frame.to_dict("records"), strict=True):
        assert got["NAME"] == row[0]
        assert got["FLAG"] == (row[2] or "")
        assert got["LONGTXT"] == (row[3] or "")
        if row[1] is None:
            assert math.isnan(got["VALUE"])
        else:
            assert got["VALUE"] == row[1]  # exact: IBM floats hold every double


def test_pandas_reads_back_every_value(tmp_path):
    frame = pd.read_sas(_write(tmp_path), format="xport", encoding="ascii")
    assert list(frame.columns) == ["NAME", "VALUE", "FLAG", "LONGTXT"]
    assert len(frame) == len(ROWS)
    for row, got in zip(ROWS, frame.to_dict("records"), strict=True):
        assert got["NAME"] == row[0]
        assert got["FLAG"] == (row[2] or "")
        assert got["LONGTXT"] == (row[3] or "")
        if row[1] is None:
            assert math.isnan(got["VALUE"])
        elif row[1] == 0:
            # pandas reads a true IBM zero as 16**-65 (pandas-dev/pandas#50670);
            # pyreadstat reads it as 0 (above) and the bytes are SAS's zero.
            assert 0 <= got["VALUE"] < 1e-78
        else:
            assert got["VALUE"] == row[1]


def test_headers_follow_ts_140(tmp_path):
    data = _write(tmp_path).read_bytes()
    records = [data[i : i + 80] for i in range(0, len(data), 80)]
    assert len(data) % 80 == 0
    assert records[0] == (
        b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
        b"000000000000000000000000000000  "
    )
    assert records[1].startswith(b"SAS     SAS     SASLIB  6.06    ")
    assert records[1].endswith(b"24NOV26:21:40:41")
    assert records[2] == b"24NOV26:21:40:41" + b" " * 64
    assert records[3] == (
        b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!"
        b"000000000000000001600000000140  "
    )
    assert records[4].startswith(b"HEADER RECORD*******DSCRPTR HEADER RECORD")
    assert records[5].startswith(b"SAS     QS      SASDATA ")
    assert records[6][32:72] == b"Test".ljust(40)
    assert records[7] == (
        b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!"
        b"000000000400000000000000000000  "
    )
    # 4 namestrs of 140 bytes = 560 = 7 records; then the OBS header.
    assert records[15].startswith(b"HEADER RECORD*******OBS     HEADER RECORD")
    namestr = data[8 * 80 + 140 : 8 * 80 + 280]  # the second variable
    assert namestr[:8] == bytes([0, 1, 0, 0, 0, 8, 0, 2])  # Num, 8 bytes, #2
    assert namestr[8:16] == b"VALUE   "
    assert namestr[84:88] == (12).to_bytes(4, "big")  # npos after NAME


def test_observations_are_padded_with_blanks_to_80(tmp_path):
    variables = [Variable("A", "A", "Char", 3)]
    data = _write(tmp_path, variables, [["abc"]]).read_bytes()
    assert data.endswith(b"abc" + b" " * 77)


@pytest.mark.parametrize(
    ("value", "raw"),
    [
        (1.0, "4110000000000000"),
        (-1.0, "C110000000000000"),
        (0.5, "4080000000000000"),
        (100.0, "4264000000000000"),
        (1 / 16, "4010000000000000"),
        (0.1, "401999999999999A"),  # 0.1's nearest double, exactly
        (0.0, "0000000000000000"),
        (-0.0, "0000000000000000"),
        (None, "2E00000000000000"),
        (math.nan, "2E00000000000000"),
        (1e-300, "0000000000000000"),  # below IBM range: zero
    ],
)
def test_ibm_float_known_bytes(value, raw):
    assert ibm_float(value).hex().upper() == raw


def test_ibm_float_is_exact_for_random_doubles():
    rng = random.Random(140)
    for _ in range(20000):
        value = rng.uniform(-1, 1) * 10 ** rng.randint(-70, 70)
        assert _decode(ibm_float(value)) == Fraction(value)


@pytest.mark.parametrize("value", [1e76, -1e300, math.inf, -math.inf])
def test_ibm_float_refuses_what_it_cannot_hold(value):
    with pytest.raises(XportError, match="IBM float"):
        ibm_float(value)


def test_sas_datetime():
    assert sas_datetime(datetime(2025, 3, 1, 7, 5, 9)) == "01MAR25:07:05:09"


def test_a_value_longer_than_declared_is_refused_not_cut(tmp_path):
    rows = [["ok", 1, "Y", ""], ["x" * 13, 2, "", ""]]
    with pytest.raises(XportError, match=r"NAME in record 2 is 13 bytes.*12"):
        _write(tmp_path, rows=rows)


def test_a_qs_value_over_its_declared_length_is_refused():
    row = dict.fromkeys(COLUMNS, "")
    row.update(QSSEQ=1, QSSTRESN=None, VISITNUM=1, QSDY=1, VISIT="V" * 101)
    variables = [Variable(*v) for v in QS_VARIABLES]
    with pytest.raises(XportError, match=r"VISIT in record 1 is 101 bytes.*100"):
        b"".join(xport_chunks("QS", "Q", variables, [list(row.values())], WHEN))


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (["Zoë", 1, "", ""], "not ASCII"),
        ([1, 1, "", ""], "not text"),
        (["a", "1", "", ""], "not a number"),
        (["a", True, "", ""], "not a number"),
        (["a", 1, ""], "has 3 values"),
    ],
)
def test_bad_values_are_refused(tmp_path, row, problem):
    with pytest.raises(XportError, match=problem):
        _write(tmp_path, rows=[row])


@pytest.mark.parametrize(
    ("variable", "problem"),
    [
        (Variable("lower", "", "Char", 1), "SAS name"),
        (Variable("TOOLONGNM", "", "Char", 1), "SAS name"),
        (Variable("A", "", "Char", 201), "1 to 200"),
        (Variable("A", "", "Num", 4), "8 bytes"),
        (Variable("A", "x" * 41, "Char", 1), "label of A"),
    ],
)
def test_bad_declarations_are_refused_before_any_byte(variable, problem):
    chunks = xport_chunks("QS", "", [variable], [], WHEN)
    with pytest.raises(XportError, match=problem):
        next(chunks)


def test_rows_are_consumed_as_they_are_written():
    taken = []

    def rows():
        for n in range(5000):
            taken.append(n)
            yield [f"r{n}", n, "", "w" * 200]

    chunks = xport_chunks("QS", "", VARIABLES, rows(), WHEN)
    next(chunks)  # the header needs no rows
    assert taken == []
    next(chunks)  # the first chunk of observations: about 64 KiB, not all
    assert 0 < len(taken) < 5000
    rest = b"".join(chunks)
    assert len(taken) == 5000
    assert rest[-80:].strip() != b""


def _qs_plan_and_records():
    catalog = load_catalog(DEFAULTS["INSTRUMENTS_DIR"])
    instruments = (catalog.get("rand36"), catalog.get("promis29"))
    when = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    plan = ExportPlan("S-1", 1, ExportFilters(), instruments, when)
    records = []
    for n, instrument in enumerate(instruments):
        answers = {item.id: (item.codes[-1], False) for item in instrument.items}
        answers[instrument.items[0].id] = (None, False)
        records.append(
            SubmissionRecord(
                n, "01", "Europe/Berlin", "001", "BL", instrument.id,
                instrument.version, "en", "self", when, answers, (), visit_num=1,
                visit="Baseline", day0=date(2025, 3, 10),
            )
        )  # fmt: skip
    return plan, records


def test_qs_rows_written_at_the_mapping_widths_read_back_equal(tmp_path):
    plan, records = _qs_plan_and_records()
    maker = QsRows(plan)
    widths = {name: length for name, _l, _k, length in maker.variables()}
    assert widths["QSCAT"] == len("PROMIS-29 PROFILE V2.1")  # the longer QSCAT
    assert (widths["STUDYID"], widths["USUBJID"]) == (3, 3 + 1 + 40)
    assert NUMBER_TEXT <= widths["QSORRES"] < 200
    variables = [Variable(*v) for v in maker.variables()]
    rows = [row for record in records for row in maker.rows(record)]
    path = tmp_path / "qs.xpt"
    path.write_bytes(b"".join(xport_chunks("QS", "Q", variables, rows, WHEN)))
    frame, _meta = pyreadstat.read_xport(str(path))
    assert len(frame) == len(rows) > 60
    for row, got in zip(rows, frame.to_dict("records"), strict=True):
        for name, value in zip(COLUMNS, row, strict=True):
            if value is None:
                assert got[name] == "" or math.isnan(got[name]), name
            else:
                assert got[name] == value, name


def test_a_qs_term_longer_than_200_stops_before_the_first_byte():
    plan, _records = _qs_plan_and_records()
    maker = QsRows(plan)
    key = next(iter(maker.maps))
    maker.maps[key] = dataclasses.replace(maker.maps[key], qscat="C" * 201)
    with pytest.raises(MappingError, match="QSCAT values of 201 bytes"):
        maker.variables()
