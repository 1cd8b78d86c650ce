"""Every exported value read back with an independent reader and compared
with the database (pandas for CSV, pyreadstat for .sav and .dta)."""

from __future__ import annotations

import hashlib
import math
from zoneinfo import ZoneInfo

import pandas as pd
import pyreadstat
import pytest
from sqlalchemy import select

from pro_app.audit.models import AuditEvent
from pro_app.exports.layout import instrument_layout
from tests.web.exports.conftest import expected_answers, expected_scores


def _export(app, tmp_path, fmt: str, *extra: str):
    out = tmp_path / fmt
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", fmt, "--out", str(out), *extra]
    )
    assert result.exit_code == 0, result.output
    return out, result


def _read_csv(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _utc(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(moment, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def _num(text: str) -> float | None:
    return None if text == "" else float(text)


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return a == b


def _variables(world):
    names = {}
    for instrument in world.catalog.instruments:
        layout = instrument_layout(instrument)
        for column in layout.items:
            names[(instrument.id, column.item_id)] = column.variable
        for scale in layout.scales:
            names[(instrument.id, scale.scale_id)] = scale
    return names


def test_csv_long_has_every_current_answer(app, session, world, tmp_path):
    path, _result = _export(app, tmp_path, "csv-long")
    frame = _read_csv(path)
    expected = expected_answers(session, world.study)
    assert len(frame) == len(expected)
    variables = _variables(world)
    seen = set()
    for row in frame.to_dict("records"):
        key = (row["subject"], row["timepoint"], row["instrument"], row["item_id"])
        facts = expected[key]
        seen.add(key)
        variable = variables[(row["instrument"], row["item_id"])]
        assert row["study"] == "TEST-1"
        assert row["site"] == facts["site"]
        assert row["site_timezone"] == facts["tz"]
        assert row["instrument_version"] == facts["version"]
        assert row["variable"] == variable.name
        assert row["code"] == ("" if facts["code"] is None else str(facts["code"]))
        label = variable.value_labels.get(facts["code"], "")
        assert row["label_en"] == label
        assert row["language"] == facts["language"]
        assert row["mode"] == facts["mode"]
        assert row["completed_at_utc"] == _utc(facts["completed_at"])
        assert row["completed_at_local"] == _local(facts["completed_at"], facts["tz"])
        assert row["corrected"] == str(int(facts["corrected"]))
    assert seen == set(expected)
    # The fixture's special cases are really in the file.
    assert (frame["code"] == "").sum() > 0
    assert set(frame["mode"]) == {"self", "paper"}
    corrected = frame[frame["corrected"] == "1"]
    assert list(zip(corrected["subject"], corrected["item_id"], strict=True)) == [
        ("LK-001", "EDANX01")
    ]
    assert corrected["code"].tolist() == ["5"]
    berlin = frame[frame["site"] == "02"]["completed_at_local"]
    assert berlin.str.endswith(("+01:00", "+02:00")).all()
    # Nothing of an in-progress questionnaire or of another study.
    assert "ZZ-900" not in set(frame["subject"])
    assert (
        len(frame[(frame["subject"] == "LK-003") & (frame["timepoint"] == "W4")]) == 0
    )


def test_csv_long_orders_answers_in_form_order(app, session, world, tmp_path):
    path, _result = _export(app, tmp_path, "csv-long", "--instrument", "rand36")
    frame = _read_csv(path)
    first = frame[(frame["subject"] == "LK-001") & (frame["timepoint"] == "BL")]
    assert first["variable"].tolist() == [f"rand36_q{n:02d}" for n in range(1, 37)]
    assert frame["subject"].tolist() == sorted(frame["subject"])


def test_csv_questionnaire_has_every_item_and_score(app, session, world, tmp_path):
    path, _result = _export(app, tmp_path, "csv-questionnaire")
    frame = _read_csv(path)
    answers = expected_answers(session, world.study)
    scores = expected_scores(session, world.study)
    variables = _variables(world)
    assert len(frame) == len(world.submissions)
    checked = 0
    for row in frame.to_dict("records"):
        key = (row["subject"], row["timepoint"], row["instrument"])
        instrument = world.catalog.get(row["instrument"], row["instrument_version"])
        for item in instrument.items:
            name = variables[(instrument.id, item.id)].name
            code = answers[(*key, item.id)]["code"]
            assert row[name] == ("" if code is None else str(code)), name
            checked += 1
        for scale in instrument.scales:
            columns = variables[(instrument.id, scale.id)]
            stored = scores[(*key, scale.id)]
            assert _same(_num(row[columns.value.name]), stored.value)
            if columns.se is not None:
                assert _same(_num(row[columns.se.name]), stored.se)
            checked += 1
        others = [c for c in frame.columns if c.startswith(("rand36_", "promis"))]
        mine = {v.name for v in instrument_layout(instrument).variables}
        assert all(row[c] == "" for c in others if c not in mine)
        any_corrected = any(
            answers[(*key, item.id)]["corrected"] for item in instrument.items
        )
        assert row["corrected"] == str(int(any_corrected))
    assert checked == len(answers) + len(scores)
    assert {"rand36_q01", "promis29_pfa11", "rand36_pf"} <= set(frame.columns)
    assert {"promis29_anxiety_t", "promis29_anxiety_se"} <= set(frame.columns)


def test_scores_csv_has_every_current_score(app, session, world, tmp_path):
    path, _result = _export(app, tmp_path, "scores")
    frame = _read_csv(path)
    scores = expected_scores(session, world.study)
    assert len(frame) == len(scores)
    for row in frame.to_dict("records"):
        key = (row["subject"], row["timepoint"], row["instrument"], row["scale_id"])
        stored = scores[key]
        assert _same(_num(row["raw"]), stored.raw)
        assert _same(_num(row["value"]), stored.value)
        assert _same(_num(row["se"]), stored.se)
        assert int(row["n_answered"]) == stored.n_answered
        assert int(row["n_items"]) == stored.n_items
        assert row["prorated"] == str(int(stored.prorated))
        assert row["status"] == stored.status
        assert row["algorithm"] == stored.algorithm
        assert row["method"] == stored.method
    assert set(frame["status"]) >= {"ok"}


def test_codebook_describes_every_wide_variable(app, session, world, tmp_path):
    folder, _result = _export(app, tmp_path, "codebook")
    book = _read_csv(folder / "TEST-1_codebook.csv")
    wide_path, _ = _export(app, tmp_path, "csv-wide")
    wide = _read_csv(wide_path)
    described = book[book["dataset"] == "wide"]
    assert described["variable"].tolist() == list(wide.columns)
    q01 = described[described["variable"] == "rand36_q01"].iloc[0]
    assert q01["value_labels"] == (
        "1 = Excellent; 2 = Very good; 3 = Good; 4 = Fair; 5 = Poor"
    )
    assert "In general, would you say your health is" in q01["label"]
    assert q01["type"] == "numeric"
    questionnaire, _ = _export(app, tmp_path, "csv-questionnaire")
    described_q = book[book["dataset"] == "questionnaire"]["variable"].tolist()
    assert described_q == list(_read_csv(questionnaire).columns)
    long_path, _ = _export(app, tmp_path, "csv-long")
    described_long = book[book["dataset"] == "long"]["variable"].tolist()
    assert described_long == list(_read_csv(long_path).columns)
    page = (folder / "TEST-1_codebook.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page
    assert '<th scope="row"><code>promis29_anxiety_t</code></th>' in page


@pytest.mark.parametrize(
    ("fmt", "reader", "suffix"),
    [("spss", pyreadstat.read_sav, "sav"), ("stata", pyreadstat.read_dta, "dta")],
)
def test_spss_and_stata_files_match_the_database(
    app, session, world, tmp_path, fmt, reader, suffix
):
    folder, _result = _export(app, tmp_path, fmt)
    answers = expected_answers(session, world.study)
    scores = expected_scores(session, world.study)
    variables = _variables(world)
    for instrument_id in ("rand36", "promis29", "promis_global"):
        frame, meta = reader(str(folder / f"TEST-1_{instrument_id}.{suffix}"))
        instrument = world.catalog.get(instrument_id)
        layout = instrument_layout(instrument)
        assert len(frame) == 5
        for row in frame.to_dict("records"):
            key = (row["subject"], row["timepoint"], instrument_id)
            facts = answers[(*key, instrument.items[0].id)]
            assert row["site"] == facts["site"]
            assert row["mode"] == facts["mode"]
            utc = facts["completed_at"].replace(microsecond=0, tzinfo=None)
            assert row["completed_at_utc"].to_pydatetime() == utc
            local = facts["completed_at"].astimezone(ZoneInfo(facts["tz"]))
            wall = local.replace(microsecond=0, tzinfo=None)
            assert row["completed_at_local"].to_pydatetime() == wall
            for item in instrument.items:
                name = variables[(instrument_id, item.id)].name
                assert _same(row[name], answers[(*key, item.id)]["code"]), name
            for scale in instrument.scales:
                columns = variables[(instrument_id, scale.id)]
                assert _same(row[columns.value.name], scores[(*key, scale.id)].value)
                if columns.se is not None:
                    assert _same(row[columns.se.name], scores[(*key, scale.id)].se)
        first = layout.items[0].variable
        # The missing-value codes' labels (-7, .a, ...): test_missing_codes.py.
        got = meta.variable_value_labels[first.name]
        codes = {k: t for k, t in got.items() if not isinstance(k, str) and k >= 0}
        assert codes == dict(first.value_labels)
        label = meta.column_names_to_labels[first.name]
        assert first.label.startswith(label)
        assert len(label) >= 30
        assert meta.variable_value_labels["corrected"] == {0: "no", 1: "yes"}


def test_cli_export_is_audited_with_the_file_hash(app, session, world, tmp_path):
    path, result = _export(app, tmp_path, "csv-long", "--site", "02")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest in result.output
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert event.actor == "system:cli"
    assert event.new_value["format"] == "csv-long"
    assert event.new_value["files"] == {"TEST-1_long.csv": digest}
    assert event.new_value["filters"]["sites"] == ["02"]
    rows = len(_read_csv(path))
    assert event.new_value["rows"] == rows > 0


def test_cli_writes_multi_file_formats_into_a_folder(app, session, world, tmp_path):
    folder, _result = _export(app, tmp_path, "spss", "--timepoint", "W4")
    assert sorted(p.name for p in folder.iterdir()) == [
        "TEST-1_promis29.sav",
        "TEST-1_promis_global.sav",
        "TEST-1_rand36.sav",
    ]
    frame, _meta = pyreadstat.read_sav(str(folder / "TEST-1_rand36.sav"))
    assert set(frame["timepoint"]) == {"W4"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xlsx"], "'xlsx' is not one of"),
        (["--format", "csv-long", "--site", "99"], "unknown site: 99"),
        (["--format", "csv-long", "--timepoint", "W99"], "unknown timepoint: W99"),
        (["--format", "csv-long", "--instrument", "eq5d"], "unknown instrument: eq5d"),
    ],
)
def test_cli_refuses_what_it_cannot_export(
    app, session, world, tmp_path, args, message
):
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--out", str(tmp_path / "x"), *args]
    )
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "x").exists()
    assert (
        session.scalar(select(AuditEvent).where(AuditEvent.action == "export")) is None
    )


def test_cli_refuses_an_unknown_study(app, session, world):
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "NOPE", "--format", "csv-long"]
    )
    assert result.exit_code != 0
    assert "no study 'NOPE'" in result.output
