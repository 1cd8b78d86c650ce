"""The precision rule as a user lives it: a RAND-36 answered through the survey
services, its scores in the database and in the exports read back with pandas
and pyreadstat, and an old database carried over by ``flask scores recompute``.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pandas as pd
import pyreadstat
import pytest
from sqlalchemy import select, text

from pro_app.audit.models import AuditEvent
from pro_app.exports.layout import instrument_layout
from pro_app.exports.sdtm_map import instruments_dir, load_mapping
from pro_app.surveys.models import Score
from pro_app.web import current_catalog
from tests.factories import make_participant, make_study
from tests.unit.scoring.test_precision import expected_rand36
from tests.web.exports.conftest import DAY0, complete

# Every item answered. SF-36 v1 general health: item 1 "very good" is precode
# 4.4 and 33-36 add up to 12, (16.4 - 5) / 20 x 100 = 57 (56.99999999999999 in
# binary floats). Emotional role 0 + 100 + 100 (RAND) and (5 - 3) / 3 x 100
# (SF-36 v1): both 2/3 x 100 (66.66666666666667 and 66.66666666666666).
ANSWERS = {
    "1": 2, "2": 3, **{str(n): 2 for n in range(3, 13)},
    "13": 1, "14": 2, "15": 2, "16": 2, "17": 1, "18": 2, "19": 2,
    "20": 2, "21": 2, "22": 2, "23": 3, "24": 5, "25": 5, "26": 2, "27": 3,
    "28": 5, "29": 4, "30": 2, "31": 4, "32": 4, "33": 4, "34": 5, "35": 5,
    "36": 4,
}  # fmt: skip
EXPECTED = {"sf36v1_gh": 57.0, "re": 66.6667, "sf36v1_re": 66.6667, "pf": 50.0}
OLD = "pro_app.scoring/1"
NEW = "pro_app.scoring/2"
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _catalog(app):
    with app.app_context():
        return current_catalog()


@pytest.fixture
def answered(app, session):
    """TEST-1 with one participant whose baseline RAND-36 and Global Health
    were answered through the survey services."""
    catalog = _catalog(app)
    study = make_study(session)
    person = make_participant(session, study)
    forms = {a.instrument_id: a for a in person.assignments if a.timepoint.code == "BL"}
    at = forms["rand36"].opens_at
    submission = complete(session, forms["rand36"], catalog, ANSWERS, at=at)
    glob = catalog.get("promis_global")
    complete(
        session,
        forms["promis_global"],
        catalog,
        {item.id: item.codes[1] for item in glob.items},
        at=at,
    )
    session.commit()
    return submission


def _current(session, scale_id):
    return session.scalars(
        select(Score)
        .where(Score.scale_id == scale_id, Score.replaced_at.is_(None))
        .order_by(Score.id)
    ).all()


def _places(cell: str) -> int:
    return max(0, -Decimal(cell).as_tuple().exponent)


def test_scores_are_stored_rounded(answered, session):
    for scale_id, value in EXPECTED.items():
        (score,) = _current(session, scale_id)
        assert score.value == value
        assert score.algorithm == NEW
    (pcs,) = _current(session, "pcs")
    assert _places(repr(pcs.value)) <= 4
    for score in session.scalars(select(Score).where(Score.method == "sum_to_t")):
        assert score.algorithm == OLD  # table scores did not change


def _export(app, tmp_path, fmt):
    out = tmp_path / fmt
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", fmt, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_exports_carry_the_rounded_values(app, answered, session, tmp_path):
    rand36 = _catalog(app).get("rand36")
    layout = instrument_layout(rand36)
    names = {s.scale_id: s.value.name for s in layout.scales}
    # scores: one row per scale, the CSV text exactly the stored float's repr.
    scores = pd.read_csv(
        _export(app, tmp_path, "scores"), dtype=str, keep_default_na=False
    )
    rand = scores[scores["instrument"] == "rand36"].set_index("scale_id")
    for scale_id, value in EXPECTED.items():
        assert rand.loc[scale_id, "value"] == repr(value)
    assert rand.loc["sf36v1_gh", "value"] == "57.0"
    assert rand.loc["sf36v1_gh", "raw"] == "16.4"
    for column in ("raw", "value", "se"):
        for cell in scores[column]:
            if cell:
                assert NUMBER.fullmatch(cell), cell
                assert _places(cell) <= 5, (column, cell)  # composite raw: 5
    assert all(_places(c) <= 4 for c in scores["value"] if c)
    # csv-wide, read as numbers by pandas: the row that holds the RAND-36.
    wide = pd.read_csv(_export(app, tmp_path, "csv-wide"))
    row = wide[wide[names["pf"]].notna()].iloc[0]
    for scale_id, value in EXPECTED.items():
        assert row[names[scale_id]] == value
    # SPSS: the doubles in the .sav are the stored values, read by pyreadstat.
    frame, _meta = pyreadstat.read_sav(str(_export(app, tmp_path, "spss")
                                           / "TEST-1_rand36.sav"))  # fmt: skip
    for scale_id, value in EXPECTED.items():
        assert frame.loc[0, names[scale_id]] == value
    # SDTM QS: a score that is 57 reads "57" in QSORRES/QSSTRESC, 2/3 "66.6667".
    with app.app_context():
        mapping = load_mapping(rand36, instruments_dir())
    qs = pd.read_csv(
        _export(app, tmp_path, "sdtm") / "TEST-1_qs.csv",
        dtype=str,
        keep_default_na=False,
    ).set_index("QSTESTCD")
    gh, re_ = (mapping.scores[s].testcd for s in ("sf36v1_gh", "re"))
    assert (qs.loc[gh, "QSORRES"], qs.loc[gh, "QSSTRESC"]) == ("57", "57")
    assert float(qs.loc[gh, "QSSTRESN"]) == 57.0
    assert (qs.loc[re_, "QSORRES"], qs.loc[re_, "QSSTRESC"]) == ("66.6667", "66.6667")


def test_recompute_carries_old_scores_over_audited(app, answered, session):
    # A database scored before the rule: every score carries version 1, the
    # RAND-36 ones the binary floating-point results of the time.
    session.execute(text("UPDATE scores SET algorithm = :old"), {"old": OLD})
    for scale_id, value in (
        ("sf36v1_gh", 56.99999999999999),
        ("re", 66.66666666666667),
        ("sf36v1_re", 66.66666666666666),
    ):
        session.execute(
            text("UPDATE scores SET value = :v WHERE scale_id = :s"),
            {"v": value, "s": scale_id},
        )
    before = {s.id for s in session.scalars(select(Score))}
    session.commit()
    result = app.test_cli_runner().invoke(args=["scores", "recompute"])
    assert result.exit_code == 0, result.output
    assert "2 submission(s) scored, 1 changed" in result.output
    for scale_id, value in EXPECTED.items():
        (score,) = _current(session, scale_id)
        assert (score.value, score.algorithm) == (value, NEW)
        assert score.id not in before
    # The Global Health scores (table values, version 1) are left as they were.
    for score in session.scalars(select(Score).where(Score.id.in_(before))):
        assert score.replaced_at is None or score.instrument_id == "rand36"
    (event,) = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "scores.recompute")
    ).all()
    assert event.entity_id == str(answered.id)
    assert event.old_value["sf36v1_gh"]["value"] == 56.99999999999999
    assert event.old_value["sf36v1_gh"]["algorithm"] == OLD
    assert event.new_value["sf36v1_gh"]["value"] == 57.0
    assert event.new_value["sf36v1_gh"]["algorithm"] == NEW
    assert event.new_value["re"]["value"] == event.new_value["sf36v1_re"]["value"]
    # A second run finds nothing to change.
    session.commit()
    again = app.test_cli_runner().invoke(args=["scores", "recompute"])
    assert "2 submission(s) scored, 0 changed" in again.output


def test_every_exported_score_of_random_answers_is_the_exact_value_rounded(
    app, session, tmp_path
):
    # Twenty RAND-36 forms with random answers, about one item in five skipped,
    # answered through the services; every exported score is checked against
    # the value worked out with fractions from the second transcriptions.
    catalog = _catalog(app)
    rand36 = catalog.get("rand36")
    study = make_study(session)
    rng = random.Random(13)
    given: dict[tuple[str, str], dict[str, int | None]] = {}
    start = datetime.combine(DAY0, time(9), UTC)
    for n in range(10):
        person = make_participant(session, study, subject_id=f"LK-{n:03}", day0=DAY0)
        for form in person.assignments:
            if form.instrument_id != "rand36":
                continue
            answers = {
                i.id: None if rng.random() < 0.2 else rng.choice(i.codes)
                for i in rand36.items
            }
            at = start + timedelta(days=form.timepoint.day_offset)
            complete(session, form, catalog, answers, at=at)
            given[(person.subject_id, form.timepoint.code)] = answers
    session.commit()
    assert len(given) == 20
    scores = pd.read_csv(
        _export(app, tmp_path, "scores"), dtype=str, keep_default_na=False
    )
    frame, _meta = pyreadstat.read_sav(
        str(_export(app, tmp_path, "spss") / "TEST-1_rand36.sav")
    )
    names = {s.scale_id: s.value.name for s in instrument_layout(rand36).scales}
    sav = {(r["subject"], r["timepoint"]): r for r in frame.to_dict("records")}
    checked = scorable = 0
    for row in scores.to_dict("records"):
        key = (row["subject"], row["timepoint"])
        want = expected_rand36(given[key])[row["scale_id"]]
        in_sav = sav[key][names[row["scale_id"]]]
        if want is None:
            assert (row["status"], row["value"]) == ("not_scorable", "")
            assert pd.isna(in_sav)
        else:
            assert row["status"] == "ok"
            assert row["value"] == repr(want[0])  # the CSV text, no leftover
            assert in_sav == want[0]
            if want[1] is not None:
                assert row["raw"] == repr(want[1])
            scorable += 1
        checked += 1
    assert checked == 20 * 18
    assert 0 < scorable < checked  # both kinds were met
