"""How each form was collected and who typed it in, in FHIR and ODM.

The trial team as it works: one participant answers online; a coordinator
types in another's paper form, a second coordinator an interview at another
site, and a data manager corrects an online answer. The data manager then
downloads FHIR (Bundle and NDJSON) and ODM through the export page, and each
file is read with independent readers: the official FHIR R4 JSON Schema with
jsonschema and the fhir.resources R4 models; lxml with the ODM 1.3.2 XSD.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import odmlib
import time_machine
from fhir.resources.bundle import Bundle
from fhir.resources.questionnaireresponse import QuestionnaireResponse
from lxml import etree

from pro_app.exports.fhir import COMPLETION_MODE, PARTICIPATION_MODE
from pro_app.exports.odm import COLLECTION_MODE, ENTERED_BY, oid, user_oid
from tests.conftest import csrf_from
from tests.factories import complete_assignment, make_participant, make_study
from tests.web.exports.downloads import download
from tests.web.exports.fhir_schema import assert_schema_valid
from tests.web.staff.entry_helpers import (
    baseline,
    catalog_of,
    correct_url,
    paper_form_data,
    paper_url,
    sign_in,
    varied_codes,
)

DAY0 = date(2026, 11, 24)
ANSWERED = date(2026, 11, 25)
ONLINE = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
TYPED = datetime(2026, 11, 27, 16, 40, tzinfo=UTC)
XSD = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
SITES = [("01", "Hôpital Saint-Louis"), ("02", "Klinikum Nord & Süd")]
# Names with what XML must escape and what ASCII lacks.
PAPER_CLERK = "Zoë O'Brien"
INTERVIEWER = "Amal Haddad <research nurse>"
CORRECTOR = "Dana Müller & Co"


def _named(session, user, name):
    user.name = name
    session.commit()
    return user


def _enter(client, session, catalog, assignment, mode):
    url = paper_url("TEST-1", assignment.id)
    codes = varied_codes(catalog.get(assignment.instrument_id))
    data = paper_form_data(client, url, codes, administered_on=ANSWERED, mode=mode)
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


def _world(app, session):
    with time_machine.travel(datetime(2026, 11, 20, 10, tzinfo=UTC), tick=False):
        study = make_study(session, sites=SITES)
        online = make_participant(session, study, subject_id="LK-001", day0=DAY0)
        paper = make_participant(session, study, subject_id="LK-002", day0=DAY0)
        interview = make_participant(
            session, study, subject_id="LK-003", day0=DAY0, site=study.sites[1]
        )
        session.commit()
    catalog = catalog_of(app)
    with time_machine.travel(ONLINE, tick=False):
        submission = complete_assignment(
            session, baseline(session, online, "promis_global"), catalog
        )
        session.commit()
    staff = {}
    with time_machine.travel(TYPED, tick=False):
        for person, mode, name in (
            (paper, "paper", PAPER_CLERK),
            (interview, "interview", INTERVIEWER),
        ):
            client = app.test_client()
            user = _named(session, sign_in(client, session, "coordinator", study), name)
            _enter(client, session, catalog, baseline(session, person, "rand36"), mode)
            staff[mode] = user
        client = app.test_client()
        user = sign_in(client, session, "data_manager", study)
        staff["correction"] = _named(session, user, CORRECTOR)
        url = correct_url("TEST-1", submission.id) + "?item=Global01"
        token = csrf_from(client.get(url).get_data(as_text=True))
        data = {"csrf_token": token, "item_id": "Global01", "code": "2"}
        response = client.post(url, data=data | {"reason": "Source form shows 2"})
        assert response.status_code == 302, response.get_data(as_text=True)
    return study, staff


def _completion_mode(response: dict) -> tuple[str, str]:
    (extension,) = response["extension"]
    assert extension["url"] == COMPLETION_MODE
    concept = extension["valueCodeableConcept"]
    (coding,) = concept["coding"]
    assert coding["system"] == PARTICIPATION_MODE
    return coding["code"], concept["text"]


def _check_fhir(archive: zipfile.ZipFile, staff) -> None:
    bundle = json.loads(archive.read("TEST-1_fhir.json"))
    assert_schema_valid(bundle)  # the official FHIR R4 JSON Schema
    Bundle(bundle, strict=True)  # and the fhir.resources R4 models
    lines = []
    for name in archive.namelist():
        if name.endswith(".ndjson"):
            for line in archive.read(name).decode().splitlines():
                lines.append(json.loads(line))
                assert_schema_valid(lines[-1])
    assert {r["resourceType"] for r in lines} == {
        "Questionnaire",
        "QuestionnaireResponse",
        "Observation",
    }
    from_bundle = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]
    from_ndjson = [r for r in lines if r["resourceType"] == "QuestionnaireResponse"]
    for responses in (from_bundle, from_ndjson):
        by_subject = {r["subject"]["identifier"]["value"]: r for r in responses}
        assert set(by_subject) == {"LK-001", "LK-002", "LK-003"}
        for response in responses:
            QuestionnaireResponse(response, strict=True)
        online = by_subject["LK-001"]
        assert _completion_mode(online) == ("ELECTRONIC", "self")
        assert online["author"]["identifier"]["value"] == "LK-001"
        assert online["author"]["type"] == "Patient"
        for subject, mode, code in (
            ("LK-002", "paper", "WRITTEN"),
            ("LK-003", "interview", "VERBAL"),
        ):
            response = by_subject[subject]
            assert _completion_mode(response) == (code, mode)
            assert response["author"] == {
                "type": "Practitioner",
                "display": staff[mode].name,
            }
            assert response["source"]["identifier"]["value"] == subject
            assert response["authored"] == ANSWERED.isoformat()


def _check_odm(archive: zipfile.ZipFile, staff) -> None:
    doc = etree.parse(io.BytesIO(archive.read("TEST-1_odm.xml")))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(doc)
    admin = doc.find(".//odm:AdminData", NS)
    users = {u.get("OID"): u for u in admin.findall("odm:User", NS)}
    for role, user in staff.items():
        entry = users[user_oid(f"staff:{user.id}")]
        assert entry.find("odm:FullName", NS).text == user.name, role
        assert entry.find("odm:DisplayName", NS).text == user.name, role
        assert entry.get("UserType") == "Investigator"
    locations = {
        loc.get("OID"): loc.get("Name") for loc in admin.findall("odm:Location", NS)
    }
    assert locations == {oid("LOC", code): name for code, name in SITES}
    found = {}
    for subject in doc.findall(".//odm:SubjectData", NS):
        site = subject.find("odm:SiteRef", NS).get("LocationOID")
        (mode,) = subject.findall(f".//odm:ItemData[@ItemOID='{COLLECTION_MODE}']", NS)
        entered = subject.findall(f".//odm:ItemData[@ItemOID='{ENTERED_BY}']", NS)
        who = [e.get("Value") for e in entered]
        users_ref = {
            r.get("UserOID")
            for e in entered
            for r in e.findall("odm:AuditRecord/odm:UserRef", NS)
        }
        found[subject.get("SubjectKey")] = (
            locations[site],
            mode.get("Value"),
            who,
            users_ref,
        )
    paper, interview = staff["paper"], staff["interview"]
    assert found == {
        "LK-001": (SITES[0][1], "self", [], set()),
        "LK-002": (
            SITES[0][1],
            "paper",
            [PAPER_CLERK],
            {user_oid(f"staff:{paper.id}")},
        ),
        "LK-003": (
            SITES[1][1],
            "interview",
            [INTERVIEWER],
            {user_oid(f"staff:{interview.id}")},
        ),
    }
    # The corrected answer's audit record points at the corrector, named.
    (corrected,) = doc.xpath("//odm:ReasonForChange/..", namespaces=NS)
    assert corrected.find("odm:ReasonForChange", NS).text == "Source form shows 2"
    writer = corrected.find("odm:UserRef", NS).get("UserOID")
    assert users[writer].find("odm:FullName", NS).text == CORRECTOR
    # The raw XML escaped every name (it parsed, and reads back exactly).
    raw = archive.read("TEST-1_odm.xml").decode()
    assert "Amal Haddad &lt;research nurse&gt;" in raw


def test_mode_and_enterer_reach_fhir_and_odm(app, session):
    study, staff = _world(app, session)
    archive = download(app, session, study, ["fhir", "fhir-ndjson", "odm"], TYPED)
    _check_fhir(archive, staff)
    _check_odm(archive, staff)
