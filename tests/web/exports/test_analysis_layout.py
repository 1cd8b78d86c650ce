"""The analysis layout as a statistician reads it: csv-wide has one row per
participant and visit, and csv-wide and scores carry the change from the
protocol's baseline visit (read back with pandas)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import select

from pro_app.exports.analysis import CHANGE_SUFFIX, suffixed
from pro_app.exports.layout import instrument_layout
from pro_app.studies.models import Timepoint
from tests.factories import make_participant, make_study
from tests.web.exports.conftest import DAY0, complete, expected_scores


def _export(app, tmp_path, fmt: str):
    out = tmp_path / fmt
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", fmt, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _mark_baseline(session, study, code: str = "BL") -> None:
    timepoint = session.scalar(
        select(Timepoint).where(Timepoint.study_id == study.id, Timepoint.code == code)
    )
    timepoint.is_baseline = True
    session.commit()


def _change(value, base) -> Decimal | None:
    if value is None or base is None:
        return None
    return Decimal(repr(value)) - Decimal(repr(base))


def _cell(text: str) -> Decimal | None:
    return None if text == "" else Decimal(text)


def test_csv_wide_is_one_row_per_visit_with_the_change_from_baseline(
    app, session, world, tmp_path
):
    _mark_baseline(session, world.study)
    frame = _read(_export(app, tmp_path, "csv-wide"))
    scores = expected_scores(session, world.study)
    visits = {(s, tp) for s, tp, _i, _scale in scores}
    # LK-003's week-4 questionnaires are still in progress: five visits.
    assert len(visits) == 5
    assert len(frame) == 5
    assert set(zip(frame["subject"], frame["timepoint"], strict=True)) == visits
    assert "instrument" not in frame.columns
    assert {"rand36_mode", "promis29_collected_on", "promis_global_version"} <= set(
        frame.columns
    )
    changes = 0
    for row in frame.to_dict("records"):
        for instrument_id in ("rand36", "promis29", "promis_global"):
            layout = instrument_layout(world.catalog.get(instrument_id))
            assert row[f"{instrument_id}_version"] == layout.instrument.version
            for scale in layout.scales:
                stored = scores[
                    (row["subject"], row["timepoint"], instrument_id, scale.scale_id)
                ]
                base = scores[(row["subject"], "BL", instrument_id, scale.scale_id)]
                column = suffixed(scale.value.name, CHANGE_SUFFIX)
                assert _cell(row[scale.value.name]) == _change(stored.value, 0)
                if row["timepoint"] == "BL":
                    assert row[column] == ""  # ADaM: no CHG at baseline
                    continue
                assert _cell(row[column]) == _change(stored.value, base.value), column
                changes += row[column] != ""
    assert changes > 20
    # The paper form's mode is in its instrument's column only.
    lk002 = frame[(frame["subject"] == "LK-002") & (frame["timepoint"] == "BL")]
    assert lk002["rand36_mode"].tolist() == ["paper"]
    assert lk002["promis29_mode"].tolist() == ["self"]


def test_scores_carry_baseline_value_and_change(app, session, world, tmp_path):
    _mark_baseline(session, world.study)
    frame = _read(_export(app, tmp_path, "scores"))
    scores = expected_scores(session, world.study)
    assert len(frame) == len(scores)
    for row in frame.to_dict("records"):
        key = (row["subject"], row["timepoint"], row["instrument"], row["scale_id"])
        base = scores[(row["subject"], "BL", row["instrument"], row["scale_id"])]
        at_baseline = row["timepoint"] == "BL"
        assert row["baseline_visit"] == ("1" if at_baseline else "0")
        assert _cell(row["baseline_value"]) == _change(base.value, 0)
        expected = None if at_baseline else _change(scores[key].value, base.value)
        assert _cell(row["change_from_baseline"]) == expected
    week4 = frame[frame["timepoint"] == "W4"]
    assert (week4["change_from_baseline"] != "").sum() > 20


def test_without_a_declared_baseline_the_change_columns_stay_empty(
    app, session, world, tmp_path
):
    wide = _read(_export(app, tmp_path, "csv-wide"))
    changes = [c for c in wide.columns if c.endswith(CHANGE_SUFFIX)]
    assert changes
    assert (wide[changes] == "").all(axis=None)
    scores = _read(_export(app, tmp_path, "scores"))
    for column in ("baseline_visit", "baseline_value", "change_from_baseline"):
        assert set(scores[column]) == {""}


def test_the_codebook_lists_the_change_columns(app, session, world, tmp_path):
    _mark_baseline(session, world.study)
    book = _read(_export(app, tmp_path, "codebook") / "TEST-1_codebook.csv")
    wide = _read(_export(app, tmp_path, "csv-wide"))
    described = book[book["dataset"] == "wide"]
    assert described["variable"].tolist() == list(wide.columns)
    change = described[described["variable"] == "rand36_pf_chg"].iloc[0]
    assert change["label"].endswith("change from baseline")
    assert change["type"] == "numeric"
    on_scores = set(book[book["dataset"] == "scores"]["variable"])
    assert {"baseline_visit", "baseline_value", "change_from_baseline"} <= on_scores


@pytest.fixture
def hostile(app, session):
    """A participant whose subject id and site code start formulas, with a
    baseline at its best and a week 4 at its worst (so changes are negative)."""
    with app.app_context():
        catalog = app.extensions["pro_catalog"]
    study = make_study(session, sites=[("@01", "=Site one")])
    person = make_participant(
        session, study, subject_id="=1+2", day0=DAY0, site=study.sites[0]
    )
    at = datetime.combine(DAY0, datetime.min.time(), UTC) + timedelta(hours=9)
    for assignment in person.assignments:
        instrument = catalog.get(assignment.instrument_id)
        week4 = assignment.timepoint.code == "W4"
        answers = {
            i.id: (i.codes[-1] if week4 else i.codes[0]) for i in instrument.items
        }
        offset = timedelta(days=28 if week4 else 0)
        complete(session, assignment, catalog, answers, at=at + offset)
    session.commit()
    _mark_baseline(session, study)
    return study


@pytest.mark.parametrize("fmt", ["csv-long", "csv-wide", "csv-questionnaire", "scores"])
def test_formula_cells_are_escaped_and_negative_numbers_are_not(
    app, session, hostile, tmp_path, fmt
):
    path = _export(app, tmp_path, fmt)
    frame = _read(path)
    assert set(frame["subject"]) == {"'=1+2"}
    assert set(frame["site"]) == {"'@01"}
    text = path.read_text(encoding="utf-8")
    for start in ("\n=", ",=", "\n@", ",@"):
        assert start not in text
    if fmt in ("csv-wide", "scores"):
        columns = [c for c in frame.columns if c.endswith(CHANGE_SUFFIX)]
        columns = columns or ["change_from_baseline"]
        values = [v for c in columns for v in frame[c] if v]
        assert any(v.startswith("-") for v in values)  # worse at week 4
        assert not any(v.startswith("'") for v in values)
        assert all(Decimal(v) < 1000 for v in values)  # read back as numbers
