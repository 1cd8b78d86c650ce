"""A participant's empty answers, exported to SPSS and Stata as a user lives
it: answered through the survey services (an item skipped online, a scale
left with too few answers, a paper form with a blank item), exported with
the CLI, read back by pyreadstat and by PSPP. Each empty cell says why; the
local completion time names its zone's column; PSPP reads every .sav with no
warning and sees the same values and the same missing cells."""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyreadstat
import pytest
from sqlalchemy import select

from pro_app.exports import services, stats
from pro_app.exports.layout import ExportFilters
from pro_app.exports.missing import declared
from pro_app.studies.models import Study
from pro_app.web import current_catalog
from tests.factories import make_participant, make_study
from tests.web.exports.conftest import DAY0, answers_for, complete

PSPP = shutil.which("pspp")
#: CI (and anyone who sets PRO_REQUIRE_PSPP=1) must run the PSPP check:
#: `make test` installs pspp (.ci/system-packages), so a missing one fails.
PSPP_REQUIRED = os.environ.get("PRO_REQUIRE_PSPP") == "1" or bool(os.environ.get("CI"))
AT = datetime.combine(DAY0, datetime.min.time(), UTC) + timedelta(hours=9)
BERLIN = "Europe/Berlin"


def _assignment(person, instrument_id):
    return next(
        a
        for a in person.assignments
        if a.timepoint.code == "BL" and a.instrument_id == instrument_id
    )


@pytest.fixture
def exported(app, session, tmp_path):
    """One participant at a Berlin site: RAND-36 online with item 1 and the
    whole physical functioning section (3-12) skipped, PROMIS Global on paper
    with Global01 and Global03 left blank, PROMIS-29 fully answered."""
    with app.app_context():
        catalog = current_catalog()
    study = make_study(session, sites=[("01", "Site one")])
    study.sites[0].timezone = BERLIN
    person = make_participant(
        session, study, subject_id="LK-001", day0=DAY0, site=study.sites[0]
    )
    rand36 = answers_for(catalog.get("rand36"), 1)
    for item in ["1", *map(str, range(3, 13))]:
        rand36[item] = None
    complete(session, _assignment(person, "rand36"), catalog, rand36, at=AT)
    paper = answers_for(catalog.get("promis_global"), 2)
    paper["Global01"] = paper["Global03"] = None
    complete(
        session,
        _assignment(person, "promis_global"),
        catalog,
        paper,
        at=AT + timedelta(hours=1),
        paper=True,
    )
    full = answers_for(catalog.get("promis29"), 3)
    complete(
        session,
        _assignment(person, "promis29"),
        catalog,
        full,
        at=AT + timedelta(hours=2),
    )
    session.commit()
    folders = {}
    for fmt in ("spss", "stata"):
        folders[fmt] = tmp_path / fmt
        result = app.test_cli_runner().invoke(
            args=["export", "--study", "TEST-1", "--format", fmt]
            + ["--out", str(folders[fmt])]
        )
        assert result.exit_code == 0, result.output
    return folders


def _row(path: Path, reader):
    frame, meta = reader(str(path), user_missing=True)
    assert len(frame) == 1
    return frame.to_dict("records")[0], meta


def test_each_empty_cell_says_why_in_spss_and_stata(exported):
    for fmt, reader, suffix, why in (
        ("spss", pyreadstat.read_sav, "sav", {"skip": -7, "na": -8, "ns": -9}),
        ("stata", pyreadstat.read_dta, "dta", {"skip": "a", "na": "b", "ns": "c"}),
    ):
        rand36, meta = _row(exported[fmt] / f"TEST-1_rand36.{suffix}", reader)
        assert rand36["rand36_q01"] == why["skip"]
        assert all(rand36[f"rand36_q{n:02d}"] == why["skip"] for n in range(3, 13))
        assert rand36["rand36_q02"] in range(1, 6)
        assert rand36["rand36_pf"] == why["ns"]
        assert isinstance(rand36["rand36_rp"], float)
        assert rand36["rand36_rp"] >= 0
        labels = meta.variable_value_labels
        assert labels["rand36_q01"][why["skip"]] == "Skipped: shown, not answered"
        assert labels["rand36_pf"][why["ns"]] == (
            "Not scorable: too few items answered"
        )
        assert why["na"] in labels["rand36_pf"]

        paper, _meta = _row(exported[fmt] / f"TEST-1_promis_global.{suffix}", reader)
        assert paper["mode"] == "paper"
        assert paper["promis_global_global01"] == why["skip"]
        assert paper["promis_global_global03"] == why["skip"]
        assert paper["promis_global_physical_health_t"] == why["ns"]
        assert paper["promis_global_physical_health_se"] == why["ns"]
        assert paper["promis_global_mental_health_t"] > 0
        # Answered on paper two days before it was typed in (conftest.complete).
        answered = (AT + timedelta(hours=1) - timedelta(days=2)).date()
        assert str(paper["collected_on"])[:10] == str(answered)

        full, _meta = _row(exported[fmt] / f"TEST-1_promis29.{suffix}", reader)
        coded = [n for n in full if n.startswith("promis29_")]
        assert all(isinstance(full[n], float) for n in coded), fmt


def test_local_time_is_labelled_with_its_zone_column(exported):
    local = AT.astimezone(ZoneInfo(BERLIN)).replace(tzinfo=None)
    for reader, path in (
        (pyreadstat.read_sav, exported["spss"] / "TEST-1_rand36.sav"),
        (pyreadstat.read_dta, exported["stata"] / "TEST-1_rand36.dta"),
    ):
        row, meta = _row(path, reader)
        labels = meta.column_names_to_labels
        assert "UTC" in labels["completed_at_utc"]
        assert "local" in labels["completed_at_local"]
        assert "site_timezone" in labels["completed_at_local"]
        assert "completed_at_local" in labels["site_timezone"]
        assert row["site_timezone"] == BERLIN
        assert row["completed_at_local"].to_pydatetime() == local
        assert row["completed_at_utc"].to_pydatetime() == AT.replace(tzinfo=None)
        # What the docs tell a pandas user to do gives back the instant.
        aware = row["completed_at_local"].tz_localize(row["site_timezone"])
        assert aware.tz_convert("UTC").to_pydatetime() == AT


def test_a_column_the_version_does_not_have_is_not_applicable(app, session, tmp_path):
    """An item without an answer row (not shown, or not in the version the
    form was answered on) reads -8 / .b, not skipped."""
    with app.app_context():
        catalog = current_catalog()
    study = make_study(session)
    person = make_participant(session, study, day0=DAY0)
    answers = answers_for(catalog.get("rand36"), 4)
    complete(session, _assignment(person, "rand36"), catalog, answers, at=AT)
    session.commit()
    plan = services.plan_export(session, study, ExportFilters(), catalog)
    source = services.record_source(session, plan, end_batch=None)

    def older_version(instrument=None, **kwargs):
        for record in source(instrument, **kwargs):
            answers = {k: v for k, v in record.answers.items() if k != "36"}
            yield dataclasses.replace(record, answers=answers)

    for write, reader, na in (
        (stats.spss, pyreadstat.read_sav, -8),
        (stats.stata, pyreadstat.read_dta, "b"),
    ):
        rand36 = next(f for f in write(plan, older_version) if "rand36" in f.name)
        path = tmp_path / rand36.name
        path.write_bytes(b"".join(rand36.chunks()))
        row, _meta = _row(path, reader)
        assert row["rand36_q36"] == na
        assert row["rand36_q35"] in range(1, 6)


def _pspp(syntax: str, tmp_path: Path) -> str:
    script = tmp_path / "read.sps"
    script.write_text(syntax, encoding="utf-8")
    result = subprocess.run(  # noqa: S603 (our own syntax file, PSPP on PATH)
        [PSPP, "--batch", "--safer", "-O", "format=txt", "-o", "-", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not re.search(r"\b(warning|error)\b", output, re.I), output
    return output


def test_pspp_reads_every_sav_without_warning_and_sees_the_same(
    app, session, exported, tmp_path
):
    if PSPP is None:
        if PSPP_REQUIRED:
            pytest.fail("pspp is required here: install it with .ci/system-packages")
        pytest.skip("pspp is not installed (make test installs it)")
    with app.app_context():
        catalog = current_catalog()
    study = session.scalar(select(Study).where(Study.code == "TEST-1"))
    plan = services.plan_export(session, study, ExportFilters(), catalog)
    reasons = declared(plan)
    files = sorted(exported["spss"].glob("*.sav"))
    assert len(files) == 3
    for path in files:
        frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
        coded = [n for n in meta.column_names if n in reasons]
        assert coded
        out_csv = tmp_path / f"{path.stem}.csv"
        output = _pspp(
            f"GET FILE='{path}'.\n"
            "DISPLAY DICTIONARY.\n"
            f"COUNT why = {' '.join(coded)} (MISSING).\n"
            f"SAVE TRANSLATE /OUTFILE='{out_csv}' /TYPE=CSV /FIELDNAMES /REPLACE\n"
            f"  /KEEP={' '.join(coded)} why.\n"
            "EXECUTE.\n",
            tmp_path,
        )
        assert "-7; -8" in output  # an item's discrete user-missing values
        with out_csv.open(encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        assert len(rows) == len(frame) == 1
        ours = frame.to_dict("records")[0]
        for name in coded:
            want = ours[name]
            got = rows[0][name].strip()
            if isinstance(want, float) and math.isnan(want):
                assert got == "", name
            else:
                assert float(got) == pytest.approx(want, abs=0.005), name
        # PSPP counts as missing exactly the cells pyreadstat reads as missing.
        plain, _meta = pyreadstat.read_sav(str(path))
        assert int(float(rows[0]["why"])) == int(plain[coded].isna().sum(axis=1)[0])
        assert int(float(rows[0]["why"])) > 0 or "promis29" in path.name
