"""A paper form answered on 25 November and typed in on 3 December shows 25
November in every export format, and its study day counts from Day 0.

The whole path as the trial team lives it: the coordinator enters the form
through the paper-entry page, a data manager downloads every format through
the export page, and each file is read with an independent reader (pandas,
pyreadstat, the fhir.resources R4 models, lxml with the ODM 1.3.2 XSD).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import odmlib
import pandas as pd
import pyreadstat
import time_machine
from fhir.resources.bundle import Bundle
from lxml import etree

from pro_app.auth.models import Role
from pro_app.exports.formats import FORMATS
from pro_app.exports.odm import COLLECTED_ON, user_oid
from tests.conftest import csrf_from, login_staff
from tests.factories import (
    complete_assignment,
    make_participant,
    make_staff,
    make_study,
)
from tests.web.staff.entry_helpers import (
    baseline,
    catalog_of,
    paper_form_data,
    paper_url,
    sign_in,
    varied_codes,
)

DAY0 = date(2026, 11, 24)
ANSWERED = date(2026, 11, 25)
TYPED = datetime(2026, 12, 3, 16, 40, 35, tzinfo=UTC)
# The online participant lives in New York: 03:30 UTC on 26 November is still
# 25 November, 22:30, on their clock.
ONLINE = datetime(2026, 11, 26, 3, 30, tzinfo=UTC)
XSD = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


def _world(app, session, client):
    with time_machine.travel(datetime(2026, 11, 20, 10, tzinfo=UTC), tick=False):
        study = make_study(session)
        paper = make_participant(session, study, subject_id="LK-001", day0=DAY0)
        online = make_participant(
            session,
            study,
            subject_id="LK-002",
            day0=DAY0,
            timezone="America/New_York",
        )
        session.commit()
    catalog = catalog_of(app)
    with time_machine.travel(ONLINE, tick=False):
        complete_assignment(session, baseline(session, online, "rand36"), catalog)
        session.commit()
    with time_machine.travel(TYPED, tick=False):
        coordinator = sign_in(client, session, "coordinator", study)
        assignment = baseline(session, paper, "rand36")
        url = paper_url("TEST-1", assignment.id)
        codes = varied_codes(catalog.get("rand36", "1.0"))
        data = paper_form_data(client, url, codes, administered_on=ANSWERED)
        response = client.post(url, data=data)
        assert response.status_code == 302, response.get_data(as_text=True)
    return study, coordinator


def _download(app, session, study) -> zipfile.ZipFile:
    manager = make_staff(session, Role.DATA_MANAGER, study)
    session.commit()
    client = app.test_client()
    with time_machine.travel(TYPED, tick=False):
        assert login_staff(client, manager.email).status_code == 302
        page = client.get("/staff/s/TEST-1/export").get_data(as_text=True)
        data = {"csrf_token": csrf_from(page), "formats": list(FORMATS)}
        response = client.post("/staff/s/TEST-1/export", data=data)
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def _saved(archive: zipfile.ZipFile, name: str, tmp_path: Path) -> str:
    path = tmp_path / name
    path.write_bytes(archive.read(name))
    return str(path)


def test_every_format_shows_the_day_a_paper_form_was_answered(
    app, session, client, tmp_path
):
    study, coordinator = _world(app, session, client)
    archive = _download(app, session, study)
    csv = {"dtype": str, "keep_default_na": False}

    # CSV: collected_on beside the entry time, which keeps its meaning.
    for name in ("TEST-1_long.csv", "TEST-1_questionnaire.csv", "TEST-1_scores.csv"):
        frame = pd.read_csv(archive.open(name), **csv)
        by_subject = frame.groupby("subject")
        paper = by_subject.get_group("LK-001")
        assert set(paper["collected_on"]) == {"2026-11-25"}, name
        assert set(paper["completed_at_utc"]) == {"2026-12-03T16:40:35Z"}, name
        assert set(paper["mode"]) == {"paper"}
        online = by_subject.get_group("LK-002")
        assert set(online["collected_on"]) == {"2026-11-25"}, name
        assert set(online["completed_at_utc"]) == {"2026-11-26T03:30:00Z"}, name
    codebook = pd.read_csv(archive.open("TEST-1_codebook.csv"), **csv)
    entry = codebook[codebook["variable"] == "collected_on"]
    assert set(entry["dataset"]) == {"questionnaire", "long", "scores"}
    assert set(entry["type"]) == {"date"}
    assert set(entry["label"]).pop().startswith("Date answered (paper: as entered")

    # SPSS and Stata: a real date variable, labelled.
    for name, read, kind in (
        ("TEST-1_rand36.sav", pyreadstat.read_sav, "DATE11"),
        ("TEST-1_rand36.dta", pyreadstat.read_dta, "%td"),
    ):
        frame, meta = read(_saved(archive, name, tmp_path))
        rows = dict(zip(frame["subject"], frame["collected_on"], strict=True))
        assert rows == {"LK-001": ANSWERED, "LK-002": ANSWERED}, name
        assert meta.original_variable_types["collected_on"] == kind
        label = meta.column_names_to_labels["collected_on"]
        assert label.startswith("Date answered"), name
        assert "entered by staff" in meta.column_names_to_labels["completed_at_utc"]
        entered = frame.set_index("subject")["completed_at_utc"]["LK-001"]
        assert entered == datetime(2026, 12, 3, 16, 40, 35)

    # SDTM: QSDTC the day only for paper, QSDY from Day 0 (24 Nov is day 1).
    qs_csv = pd.read_csv(archive.open("TEST-1_qs.csv"), **csv)
    qs_xpt, _meta = pyreadstat.read_xport(_saved(archive, "TEST-1_qs.xpt", tmp_path))
    for frame in (qs_csv, qs_xpt):
        paper = frame[frame["USUBJID"] == "TEST-1-LK-001"]
        assert set(paper["QSDTC"]) == {"2026-11-25"}
        assert {float(day) for day in paper["QSDY"]} == {2.0}
        online = frame[frame["USUBJID"] == "TEST-1-LK-002"]
        assert set(online["QSDTC"]) == {"2026-11-25T22:30:00"}
        assert {float(day) for day in online["QSDY"]} == {2.0}

    # FHIR: authored is the day answered; the enterer and the patient shown.
    bundle = json.loads(archive.read("TEST-1_fhir.json"))
    Bundle(bundle, strict=True)  # the R4 model validates the whole Bundle
    resources = [e["resource"] for e in bundle["entry"]]
    responses = {
        r["subject"]["identifier"]["value"]: r
        for r in resources
        if r["resourceType"] == "QuestionnaireResponse"
    }
    paper, online = responses["LK-001"], responses["LK-002"]
    assert paper["authored"] == "2026-11-25"
    assert paper["author"] == {"type": "Practitioner", "display": coordinator.name}
    assert paper["source"]["identifier"]["value"] == "LK-001"
    assert paper["source"]["type"] == "Patient"
    assert online["authored"] == "2026-11-26T03:30:00Z"
    assert online["author"]["identifier"]["value"] == "LK-002"
    effective = {
        r["effectiveDateTime"]
        for r in resources
        if r["resourceType"] == "Observation"
        and r["subject"]["identifier"]["value"] == "LK-001"
    }
    assert effective == {"2026-11-25"}
    ndjson = archive.read("TEST-1_QuestionnaireResponse.ndjson").decode()
    authored = {json.loads(line)["authored"] for line in ndjson.splitlines()}
    assert authored == {"2026-11-25", "2026-11-26T03:30:00Z"}

    # ODM: the form's collection date as an item; its audit record keeps the
    # entry time and who typed it in.
    doc = etree.parse(io.BytesIO(archive.read("TEST-1_odm.xml")))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(doc)
    days = {}
    for subject in doc.findall(".//odm:SubjectData", NS):
        (item,) = subject.findall(f".//odm:ItemData[@ItemOID='{COLLECTED_ON}']", NS)
        days[subject.get("SubjectKey")] = item
    assert {k: v.get("Value") for k, v in days.items()} == {
        "LK-001": "2026-11-25",
        "LK-002": "2026-11-25",
    }
    audit = days["LK-001"].find("odm:AuditRecord", NS)
    assert audit.find("odm:DateTimeStamp", NS).text == "2026-12-03T16:40:35Z"
    user = audit.find("odm:UserRef", NS).get("UserOID")
    assert user == user_oid(f"staff:{coordinator.id}")
    assert days["LK-002"].find("odm:AuditRecord", NS) is None
    definition = doc.find(f".//odm:ItemDef[@OID='{COLLECTED_ON}']", NS)
    assert definition.get("DataType") == "date"
