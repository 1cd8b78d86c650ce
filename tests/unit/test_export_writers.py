"""The pure export parts: names, rows, CSV chunks, codebook, zip stream."""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pro_app.catalog import load_catalog
from pro_app.exports import codebook, csvfile, writers
from pro_app.exports.archive import Delivery, ZipStream
from pro_app.exports.formats import FORMATS, Format, UnknownFormat, get_format, register
from pro_app.exports.layout import (
    MAX_NAME,
    ExportFile,
    ExportFilters,
    ExportPlan,
    ScoreRow,
    SubmissionRecord,
    clean_name,
    instrument_layout,
    item_local_name,
    wide_variables,
)

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "instruments")
WHEN = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # 01:30 CET, before the DST jump


def _plan(*ids: str) -> ExportPlan:
    instruments = tuple(CATALOG.get(i) for i in ids or ("rand36", "promis29"))
    return ExportPlan("ST/1", 1, ExportFilters(), instruments, WHEN)


def _record(instrument: str = "rand36", **over) -> SubmissionRecord:
    inst = CATALOG.get(instrument)
    answers = {item.id: (item.codes[0], False) for item in inst.items}
    args = {
        "submission_id": 1,
        "site": "01",
        "site_timezone": "Europe/Berlin",
        "subject": "LK-001",
        "timepoint": "BL",
        "instrument": instrument,
        "version": inst.version,
        "language": "en",
        "mode": "self",
        "completed_at": WHEN,
        "answers": answers,
        "scores": (),
    }
    args.update(over)
    return SubmissionRecord(**args)


@pytest.mark.parametrize(
    ("instrument", "local", "name"),
    [
        ("rand36", "pf", "rand36_pf"),
        ("promis29", "PFA11", "promis29_pfa11"),
        ("promis29", "SRPPER11_CaPS", "promis29_srpper11_caps"),
        ("promis_global", "global_mental_health", "promis_global_mental_health"),
        ("promis_global", "global01", "promis_global_global01"),
        ("abc", "x-y z", "abc_x_y_z"),
    ],
)
def test_clean_names(instrument, local, name):
    assert clean_name(instrument, local) == name


def test_too_long_names_are_cut_with_a_stable_hash():
    name = clean_name("instrument", "a_very_long_scale_identifier_indeed")
    assert len(name) == MAX_NAME
    assert name == clean_name("instrument", "a_very_long_scale_identifier_indeed")
    assert name != clean_name("instrument", "a_very_long_scale_identifier_indeex")


def test_numbered_items_become_q_numbers():
    assert item_local_name("1") == "q01"
    assert item_local_name("36") == "q36"
    assert item_local_name("Global01") == "Global01"


def test_wide_names_are_unique_and_fit_stata():
    names = [v.name for v in wide_variables(CATALOG.instruments)]
    assert len(names) == len(set(names))
    assert max(len(n) for n in names) <= MAX_NAME
    layout = instrument_layout(CATALOG.get("promis29"))
    anxiety = next(s for s in layout.scales if s.scale_id == "anxiety")
    assert (anxiety.value.name, anxiety.se.name) == (
        "promis29_anxiety_t",
        "promis29_anxiety_se",
    )
    rand = instrument_layout(CATALOG.get("rand36"))
    assert rand.scales[0].value.name == "rand36_pf"
    assert rand.scales[0].se is None
    # A single-item scale named like its item keeps both columns apart.
    glob = instrument_layout(CATALOG.get("promis_global"))
    assert "promis_global_global01_score" in {v.name for v in glob.variables}


def _long(plan: ExportPlan, record: SubmissionRecord) -> list[list[str]]:
    text, count = writers.LongLines(plan).render(record)
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == count
    assert text.endswith("\r\n")
    return rows


def test_long_lines_follow_form_order_and_leave_skips_empty():
    record = _record(answers={"2": (None, False), "1": (3, True)})
    rows = _long(_plan(), record)
    assert [r[7] for r in rows] == ["1", "2"]
    first, second = rows
    assert first[8:11] == ["rand36_q01", "3", "Good"]
    assert first[-1] == "1"
    assert second[8:11] == ["rand36_q02", "", ""]
    assert second[-1] == "0"
    # UTC and the site's own clock (Berlin was UTC+1 that night).
    assert first[13:15] == ["2025-03-30T00:30:00Z", "2025-03-30T01:30:00+01:00"]
    assert first[0] == "ST/1"
    assert len(first) == len(writers.LONG_COLUMNS)


def test_long_lines_quote_what_needs_quoting():
    # RAND-36 item 3's first label has a comma: "Yes, limited a lot".
    record = _record(subject='LK "7", x', answers={"3": (1, False)})
    text, _count = writers.LongLines(_plan()).render(record)
    assert '"LK ""7"", x"' in text
    assert '"Yes, limited a lot"' in text
    (row,) = _long(_plan(), record)
    assert row[3] == 'LK "7", x'
    assert row[10] == "Yes, limited a lot"


def test_wide_row_places_items_and_scores():
    score = ScoreRow("anxiety", "sum_to_t", "ok", 8.0, 53.1, 2.9, 4, 4, False, "a/1")
    plan = _plan()
    record = _record("promis29", scores=(score,))
    placer = writers.WideRow(plan, wide_variables(plan.instruments))
    names = [v.name for v in placer.variables]
    row = dict(zip(names, placer.values(record), strict=True))
    assert row["promis29_pfa11"] == 5
    assert row["promis29_anxiety_t"] == 53.1
    assert row["promis29_anxiety_se"] == 2.9
    assert row["rand36_q01"] is None
    assert row["corrected"] == 0


def test_a_record_outside_the_plan_is_an_error():
    with pytest.raises(LookupError):
        writers.LongLines(_plan("rand36")).render(_record("promis_global"))


def test_csv_is_written_in_chunks_and_counts_rows(monkeypatch):
    monkeypatch.setattr(csvfile, "CHUNK", 100)
    out = ExportFile("x.csv", lambda f: ())
    batches = [[["a", None, 1.5]] * 3 for _ in range(10)]
    chunks = list(writers.csv_chunks(["h1", "h2", "h3"], batches, out))
    assert len(chunks) > 1
    assert all(len(chunk) >= 100 for chunk in chunks[:-1])
    text = b"".join(chunks).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["h1", "h2", "h3"]
    assert rows[1:] == [["a", "", "1.5"]] * 30
    assert out.rows == 30
    assert text.endswith("\r\n")


def test_codebook_html_escapes_and_has_row_headers():
    plan = _plan("rand36")
    page = codebook.codebook_html(plan, codebook.codebook_entries(plan))
    assert page.count("<table>") == 4  # wide, questionnaire, long, scores
    assert '<th scope="row"><code>rand36_q01</code></th>' in page
    assert "ST/1" in page
    assert "<script" not in page


def _source(records):
    return lambda instrument=None, **parts: iter(records)


def test_zip_stream_hashes_what_it_sends():
    plan = _plan()
    records = [_record(), _record("promis29", submission_id=2)]
    files = writers.long_csv(plan, _source(records)) + writers.wide_csv(
        plan, _source(records)
    )
    stream = ZipStream(files)
    body = b"".join(stream)
    assert stream.sha256 == hashlib.sha256(body).hexdigest()
    assert stream.size == len(body)
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.namelist() == ["ST_1_long.csv", "ST_1_wide.csv"]
    for name in archive.namelist():
        assert stream.files[name] == hashlib.sha256(archive.read(name)).hexdigest()
    # Both questionnaires are of one subject's visit: one wide row.
    assert stream.rows == {"ST_1_long.csv": 36 + 29, "ST_1_wide.csv": 1}


def test_delivery_records_a_file_only_once_it_is_complete():
    delivery = Delivery()
    out = ExportFile("a.csv", lambda f: iter([b"x", b"y"]))
    chunks = delivery.hashed(out)
    next(chunks)
    assert delivery.files == {}
    list(chunks)
    assert delivery.files == {"a.csv": hashlib.sha256(b"xy").hexdigest()}


def test_formats_are_plug_ins():
    assert list(FORMATS)[:7] == [
        "csv-long",
        "csv-wide",
        "csv-questionnaire",
        "scores",
        "codebook",
        "spss",
        "stata",
    ]
    with pytest.raises(UnknownFormat, match="unknown export format 'xpt'"):
        get_format("xpt")
    with pytest.raises(ValueError, match="already registered"):
        register(Format("csv-long", "again", writers.long_csv))


def test_layout_and_writers_stay_pure():
    code = (
        "import sys, pro_app.exports.layout, pro_app.exports.writers, "
        "pro_app.exports.codebook, pro_app.exports.archive; "
        "print(sorted({'flask', 'sqlalchemy', 'wtforms'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]", result.stderr
