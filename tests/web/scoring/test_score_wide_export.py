"""``flask score`` reads the app's own per-questionnaire export
(csv-questionnaire) and agrees with the app."""

import csv

import pytest
from sqlalchemy import select

from pro_app.participants.models import Participant
from pro_app.surveys.models import Score, Submission

INSTRUMENTS = ("rand36", "promis29", "promis_global")


@pytest.fixture
def exported(app, session, tmp_path):
    """The demo study's answers, exported by `flask export` (csv-questionnaire)."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    wide = tmp_path / "wide.csv"
    result = runner.invoke(
        args=["export", "--study", "NCT06737380", "--format", "csv-questionnaire",
              "--out", str(wide)]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return runner, wide


def _stored(session, instrument):
    """(subject, timepoint) -> scale -> the app's current stored score."""
    rows = session.execute(
        select(Participant.subject_id, Submission, Score)
        .join(Submission, Submission.id == Score.submission_id)
        .join(Participant, Participant.id == Submission.participant_id)
        .where(Score.instrument_id == instrument, Score.replaced_at.is_(None))
    )
    out = {}
    for subject, submission, score in rows:
        key = (subject, submission.assignment.timepoint.code)
        out.setdefault(key, {})[score.scale_id] = score
    return out


def _number(text):
    return None if text == "" else float(text)


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_scoring_the_wide_export_gives_the_stored_scores(
    exported, session, tmp_path, instrument
):
    runner, wide = exported
    out = tmp_path / f"{instrument}.csv"
    result = runner.invoke(args=["score", instrument, str(wide), "--out", str(out)])
    assert result.exit_code == 0, result.output
    stored = _stored(session, instrument)
    assert len(stored) >= 10  # the demo's past visits, every one scored
    with wide.open(encoding="utf-8-sig") as f:
        others = sum(r["instrument"] != instrument for r in csv.DictReader(f))
    assert f"scored {len(stored)} row(s)" in result.output
    assert f"left out {others} row(s) of other instruments" in result.output
    with out.open(encoding="utf-8") as f:
        scored = list(csv.DictReader(f))
    # The export's key columns come through; its item and score columns do not.
    assert {"study", "site", "subject", "timepoint", "instrument_version"} <= set(
        scored[0]
    )
    assert not any(name.startswith(instrument + "_") for name in scored[0])
    compared = 0
    for row in scored:
        assert row["instrument"] == instrument
        scales = stored[(row["subject"], row["timepoint"])]
        for scale_id, score in scales.items():
            assert row[f"{scale_id}_status"] == score.status
            assert _number(row[scale_id]) == score.value
            assert _number(row[f"{scale_id}_raw"]) == score.raw
            assert _number(row[f"{scale_id}_se"]) == score.se
            assert int(row[f"{scale_id}_n"]) == score.n_answered
            assert row["algorithm"] == score.algorithm
            compared += 1
    assert compared == sum(len(s) for s in stored.values())


def test_version_filter_and_a_bad_code_in_a_wide_export(exported, tmp_path):
    runner, wide = exported
    out = tmp_path / "scores.csv"
    other = runner.invoke(
        args=["score", "rand36", str(wide), "--version", "1.0", "--out", str(out)]
    )
    assert other.exit_code == 0, other.output
    # A wrong code in the export's own column name is reported by that name.
    rows = wide.read_text(encoding="utf-8-sig").splitlines()
    header = rows[0].split(",")
    first = next(i for i, r in enumerate(rows) if ",rand36," in r)
    cells = rows[first].split(",")
    cells[header.index("rand36_q01")] = "9"
    rows[first] = ",".join(cells)
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join(rows) + "\n")
    result = runner.invoke(args=["score", "rand36", str(broken), "--out", str(out)])
    assert result.exit_code == 1
    assert f"row {first + 1}" in result.output
    assert "rand36_q01" in result.output
    assert "9" in result.output
