"""SPSS and Stata exports through ``stats.py`` on the test study: non-ASCII
text comes back, an empty export is a valid labelled file, rows reach the
writer's spool file while the records are still being read, and pandas
reads the CLI's .dta files exactly as pyreadstat does."""

from __future__ import annotations

import dataclasses
import itertools
import tempfile

import pandas as pd
import pyreadstat
import pytest
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.exports import services, stats
from pro_app.exports.dta import DtaError
from pro_app.exports.layout import ExportFilters
from pro_app.exports.missing import NOT_APPLICABLE, SKIPPED
from pro_app.exports.sav import SavError

READERS = {"spss": pyreadstat.read_sav, "stata": pyreadstat.read_dta}
SUFFIX = {"spss": "sav", "stata": "dta"}
NAMES = ("נבדק-001", "مشارك-002", "Участник-003")


def _plan_and_source(session, world):
    plan = services.plan_export(session, world.study, ExportFilters(), world.catalog)
    return plan, services.record_source(session, plan, end_batch=None)


def _write(export_file, path):
    path.write_bytes(b"".join(export_file.chunks()))
    return str(path)


@pytest.mark.parametrize("fmt", ["spss", "stata"])
def test_non_ascii_subjects_and_sites_come_back(session, world, tmp_path, fmt):
    plan, source = _plan_and_source(session, world)
    renamed = dict(zip(("LK-001", "LK-002", "LK-003"), NAMES, strict=True))

    def foreign(instrument=None, **kwargs):
        for record in source(instrument, **kwargs):
            subject = renamed[record.subject]
            yield dataclasses.replace(record, subject=subject, site="מרכז " + subject)

    files = getattr(stats, fmt)(plan, foreign)
    frame, meta = READERS[fmt](_write(files[0], tmp_path / files[0].name))
    assert files[0].rows == len(frame) == 5
    assert set(frame["subject"]) == set(NAMES)
    assert (frame["site"] == "מרכז " + frame["subject"]).all()
    assert meta.column_labels[meta.column_names.index("subject")] == (
        "Subject identifier"
    )


@pytest.mark.parametrize("fmt", ["spss", "stata"])
def test_an_export_without_rows_is_a_labelled_file(session, world, tmp_path, fmt):
    plan, _source = _plan_and_source(session, world)

    def nothing(instrument=None, **kwargs):
        return iter(())

    files = getattr(stats, fmt)(plan, nothing)
    rand36 = next(f for f in files if "rand36" in f.name)
    frame, meta = READERS[fmt](_write(rand36, tmp_path / rand36.name))
    variables = stats.instrument_variables(plan, "rand36", SUFFIX[fmt])
    assert rand36.rows == len(frame) == 0
    assert meta.column_names == [v.name for v in variables]
    q01 = variables[meta.column_names.index("rand36_q01")]
    # Codes, then the missing values' labels (-7/-8 in SPSS, .a/.b in Stata).
    missing = {"spss": {-7: SKIPPED.label, -8: NOT_APPLICABLE.label}}
    missing["stata"] = {"a": SKIPPED.label, "b": NOT_APPLICABLE.label}
    want = {**q01.value_labels, **missing[fmt]}
    assert meta.variable_value_labels["rand36_q01"] == want
    assert [meta.column_names_to_labels[v.name] for v in variables] == [
        v.label for v in variables
    ]


@pytest.mark.parametrize("fmt", ["spss", "stata"])
def test_rows_reach_the_spool_while_records_are_read(
    session, world, tmp_path, monkeypatch, fmt
):
    """The writer's temporary file grows as records arrive: no instrument's
    dataset is gathered in memory first."""
    plan, source = _plan_and_source(session, world)
    records = list(source("promis29"))
    spools = []
    real = tempfile.TemporaryFile

    def spy(*args, **kwargs):
        spools.append(real(*args, **kwargs))
        return spools[-1]

    monkeypatch.setattr(tempfile, "TemporaryFile", spy)
    sizes = []

    def many(instrument=None, **kwargs):
        for n, record in enumerate(itertools.islice(itertools.cycle(records), 2000)):
            if n % 500 == 0:
                sizes.append((files[0].rows, spools[0].tell() if spools else 0))
            yield record

    files = getattr(stats, fmt)(plan, many)
    frame, _meta = READERS[fmt](_write(files[0], tmp_path / files[0].name))
    assert len(frame) == files[0].rows == 2000
    assert [rows for rows, _size in sizes] == [0, 500, 1000, 1500]
    on_disk = [size for _rows, size in sizes]
    assert on_disk[0] == 0
    assert all(b > a for a, b in itertools.pairwise(on_disk))
    # Every promis29 row holds at least its ~40 doubles by the time it is counted.
    assert on_disk[-1] >= 1500 * 40 * 8


def test_pandas_reads_the_cli_stata_files_like_pyreadstat(app, world, tmp_path):
    out = tmp_path / "stata"
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", "stata", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for path in sorted(out.iterdir()):
        ours, meta = pyreadstat.read_dta(str(path))
        theirs = pd.read_stata(path, convert_categoricals=False)
        assert list(theirs.columns) == meta.column_names
        # A %td date: pyreadstat gives datetime.date, pandas a midnight datetime.
        assert meta.original_variable_types["collected_on"] == "%td"
        ours["collected_on"] = pd.to_datetime(ours["collected_on"])
        pd.testing.assert_frame_equal(theirs, ours, check_dtype=False)
        with pd.io.stata.StataReader(path) as reader:
            reader.read()
            labels = reader.variable_labels()
        assert list(labels.values()) == meta.column_labels


@pytest.mark.parametrize(
    ("fmt", "name", "error"),
    [("spss", "sav_chunks", SavError), ("stata", "dta_chunks", DtaError)],
)
def test_a_value_the_format_cannot_hold_stops_the_cli_cleanly(
    app, session, world, tmp_path, monkeypatch, fmt, name, error
):
    def refuse(*args, **kwargs):
        yield b"partial header"
        raise error("site in row 3 is 300 bytes, at most 255")

    monkeypatch.setattr(stats, name, refuse)
    out = tmp_path / fmt
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", fmt, "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "row 3 is 300 bytes" in result.output
    assert "nothing was exported" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())
    assert (
        session.scalar(select(AuditEvent).where(AuditEvent.action == "export")) is None
    )
