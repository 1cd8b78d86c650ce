"""The SDTM QS export read back (pandas for CSV, pyreadstat for XPORT v5) and
compared value by value with the database; the dataset passes the QS rules."""

from __future__ import annotations

import hashlib
import math

import pandas as pd
import pyreadstat
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.exports.sdtm_map import instruments_dir, load_mapping
from pro_app.exports.sdtm_rules import check_qs
from pro_app.studies.models import Timepoint
from tests.web.exports.conftest import expected_answers, expected_scores, study_day


def _export(app, tmp_path, *extra):
    out = tmp_path / "sdtm"
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", "sdtm", "--out", str(out)]
        + list(extra)
    )
    assert result.exit_code == 0, result.output
    return out


def _mappings(app, world):
    with app.app_context():
        root = instruments_dir()
    return {i.id: load_mapping(i, root) for i in world.catalog.instruments}


def _by_testcd(mappings):
    """QSTESTCD -> (instrument, item or scale id, kind)."""
    out = {}
    for instrument_id, mapping in mappings.items():
        for item_id, term in mapping.items.items():
            out[term.testcd] = (instrument_id, item_id, "item")
        for scale_id, term in mapping.scores.items():
            out[term.testcd] = (instrument_id, scale_id, "value")
        for scale_id, term in mapping.score_se.items():
            out[term.testcd] = (instrument_id, scale_id, "se")
    return out


def _blank(value) -> bool:
    return (
        value is None or value == "" or (isinstance(value, float) and math.isnan(value))
    )


def _compare(frame: pd.DataFrame, app, world, session) -> None:
    answers = expected_answers(session, world.study)
    scores = expected_scores(session, world.study)
    mappings = _mappings(app, world)
    terms = _by_testcd(mappings)
    visits = {
        t.code: (t.position, t.label)
        for t in session.scalars(
            select(Timepoint).where(Timepoint.study_id == world.study.id)
        )
    }
    by_label = {label: code for code, (_pos, label) in visits.items()}
    seen_items, seen_scores = set(), set()
    for row in frame.to_dict("records"):
        assert row["STUDYID"] == "TEST-1"
        assert row["DOMAIN"] == "QS"
        subject = row["USUBJID"].removeprefix("TEST-1-")
        tp = by_label[row["VISIT"]]
        assert float(row["VISITNUM"]) == visits[tp][0]
        instrument_id, local_id, kind = terms[row["QSTESTCD"]]
        mapping = mappings[instrument_id]
        assert row["QSCAT"] == mapping.qscat
        if kind == "item":
            fact = answers[(subject, tp, instrument_id, local_id)]
            seen_items.add((subject, tp, instrument_id, local_id))
            assert row["QSTEST"] == mapping.items[local_id].test
            assert row["QSEVLINT"] == mapping.items[local_id].evlint
            assert _blank(row["QSDRVFL"])
            if fact["code"] is None:
                assert (row["QSSTAT"], row["QSREASND"]) == ("NOT DONE", "NOT ANSWERED")
                assert _blank(row["QSORRES"])
                assert _blank(row["QSSTRESN"])
            else:
                text = world.catalog.get(instrument_id).text("en")
                assert row["QSORRES"] == text.option_label(local_id, fact["code"])
                assert float(row["QSSTRESN"]) == fact["code"]
                assert row["QSSTRESC"] == str(fact["code"])
                assert _blank(row["QSSTAT"])
            assert row["QSDTC"] == fact["qsdtc"]
            assert float(row["QSDY"]) == study_day(fact["collected_on"])
        else:
            score = scores[(subject, tp, instrument_id, local_id)]
            seen_scores.add((subject, tp, instrument_id, local_id, kind))
            assert row["QSDRVFL"] == "Y"
            want = score.value if kind == "value" else score.se
            if score.status != "ok" or want is None:
                assert row["QSSTAT"] == "NOT DONE"
                assert _blank(row["QSSTRESN"])
            else:
                assert float(row["QSSTRESN"]) == want
                assert float(row["QSORRES"]) == want
    assert seen_items == set(answers)
    want_scores = {(*k, "value") for k in scores} | {
        (*k, "se") for k, s in scores.items() if k[3] in mappings[k[2]].score_se
    }
    assert seen_scores == want_scores


def test_qs_csv_and_xpt_match_the_database(app, world, session, tmp_path):
    out = _export(app, tmp_path)
    assert sorted(p.name for p in out.iterdir()) == [
        "TEST-1_qs.csv",
        "TEST-1_qs.xpt",
        "TEST-1_qs_define.csv",
    ]
    csv = pd.read_csv(out / "TEST-1_qs.csv", dtype=str, keep_default_na=False)
    xpt, meta = pyreadstat.read_xport(str(out / "TEST-1_qs.xpt"))
    assert meta.table_name == "QS"
    assert list(xpt.columns) == list(csv.columns)
    assert all(len(name) <= 8 for name in meta.column_names)
    assert all(len(label) <= 40 for label in meta.column_labels)
    assert len(csv) == len(xpt) > 0
    _compare(csv, app, world, session)
    _compare(xpt, app, world, session)
    # The two files hold the same records.
    for a, b in zip(csv.to_dict("records"), xpt.to_dict("records"), strict=True):
        assert a["QSTESTCD"] == b["QSTESTCD"]
        assert a["USUBJID"] == b["USUBJID"]
        assert a["QSORRES"] == b["QSORRES"]


def test_qs_passes_the_qs_rules(app, world, tmp_path):
    out = _export(app, tmp_path)
    csv = pd.read_csv(out / "TEST-1_qs.csv", dtype=str, keep_default_na=False)
    xpt, _meta = pyreadstat.read_xport(str(out / "TEST-1_qs.xpt"))
    assert check_qs(csv.to_dict("records")) == []
    assert check_qs(xpt.to_dict("records")) == []
    assert (csv["QSSTAT"] == "NOT DONE").any()  # skipped items are in the data
    assert set(csv["QSEVLINT"]) >= {"-P4W", "-P7D"}


def test_define_lists_variables_and_every_term(app, world, tmp_path):
    out = _export(app, tmp_path)
    define = pd.read_csv(out / "TEST-1_qs_define.csv", dtype=str, keep_default_na=False)
    variables = define[define["kind"] == "variable"]
    assert list(variables["name"])[:4] == ["STUDYID", "DOMAIN", "USUBJID", "QSSEQ"]
    codes = set(define[define["kind"] == "QSTESTCD"]["name"])
    csv = pd.read_csv(out / "TEST-1_qs.csv", dtype=str, keep_default_na=False)
    assert set(csv["QSTESTCD"]) <= codes
    assert set(define[define["kind"] == "QSCAT"]["source"].str.split("; ").str[1]) == {
        "sponsor-defined"
    }


def test_export_is_audited_with_file_hashes(app, world, session, tmp_path):
    out = _export(app, tmp_path, "--instrument", "promis29")
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export")
    ).all()[-1]
    assert event.new_value["format"] == "sdtm"
    for name, digest in event.new_value["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    csv = pd.read_csv(out / "TEST-1_qs.csv", dtype=str, keep_default_na=False)
    assert set(csv["QSCAT"]) == {"PROMIS-29 PROFILE V2.1"}
    assert event.new_value["file_rows"]["TEST-1_qs.csv"] == len(csv)


def test_a_value_xport_v5_cannot_hold_stops_the_export_cleanly(
    app, session, world, tmp_path
):
    # SAS XPORT v5 is ASCII: an accented visit label cannot be written.
    timepoint = session.scalar(
        select(Timepoint).where(Timepoint.study_id == world.study.id)
    )
    timepoint.label = "Día 1"
    session.commit()
    out = tmp_path / "sdtm"
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", "sdtm", "--out", str(out)]
    )
    assert result.exit_code == 1
    assert "not ASCII" in result.output
    assert "nothing was exported" in result.output
    assert "Traceback" not in result.output
    assert not (out / "TEST-1_qs.xpt").exists()
    assert (
        session.scalar(select(AuditEvent).where(AuditEvent.action == "export")) is None
    )


# RAND-36 1.0 as worded (text.en.toml): items 1-2 ask about now ("In general",
# "Compared to one year ago ... now"), 3-12 "Does your health now limit you",
# 33-36 "How TRUE or FALSE": no recall period; 13-32 "during the past 4 weeks".
RAND36_QSEVLINT = {
    **{f"R36{n:02d}": "" for n in (*range(1, 13), *range(33, 37))},
    **{f"R36{n:02d}": "-P4W" for n in range(13, 33)},
}


def test_qsevlint_of_every_rand36_item_is_its_sections_recall(app, world, tmp_path):
    out = _export(app, tmp_path, "--instrument", "rand36")
    csv = pd.read_csv(out / "TEST-1_qs.csv", dtype=str, keep_default_na=False)
    xpt, _meta = pyreadstat.read_xport(str(out / "TEST-1_qs.xpt"))
    for frame in (csv, xpt):
        items = frame[frame["QSDRVFL"] != "Y"]
        found = dict(zip(items["QSTESTCD"], items["QSEVLINT"], strict=True))
        assert found == RAND36_QSEVLINT
        # Every record of a test carries the same interval; scores none.
        pairs = set(zip(items["QSTESTCD"], items["QSEVLINT"], strict=True))
        assert len(pairs) == 36
        assert set(frame[frame["QSDRVFL"] == "Y"]["QSEVLINT"]) == {""}


def test_qsevlint_follows_the_recall_period_of_each_promis_item(app, world, tmp_path):
    out = _export(app, tmp_path, "--instrument", "promis29")
    csv = pd.read_csv(out / "TEST-1_qs.csv", dtype=str, keep_default_na=False)
    items = csv[csv["QSDRVFL"] != "Y"]
    found = dict(zip(items["QSTESTCD"], items["QSEVLINT"], strict=True))
    mapping = _mappings(app, world)["promis29"]
    # Physical function and social roles are printed without "In the past 7 days".
    expected = {
        term.testcd: "" if item_id.startswith(("PFA", "SRPPER")) else "-P7D"
        for item_id, term in mapping.items.items()
    }
    assert found == expected
    assert list(expected.values()).count("") == 8
