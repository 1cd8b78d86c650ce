"""The ODM export validated with lxml against the CDISC ODM 1.3.2 XML schema
(as bundled in odmlib) and compared value by value with the database."""

from __future__ import annotations

from pathlib import Path

import odmlib
import pytest
from lxml import etree
from sqlalchemy import select

from pro_app.exports.odm import (
    COLLECTED_ON,
    COLLECTION_MODE,
    ENTERED_BY,
    MODES,
    form_oid,
    item_oid,
    oid,
    score_oid,
    user_oid,
)
from pro_app.participants.models import Participant
from pro_app.surveys.models import Answer, Submission
from tests.web.exports.conftest import expected_answers, expected_scores

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
TAG = "{http://www.cdisc.org/ns/odm/v1.3}"
XSD = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(XSD)))


def _export(app, tmp_path, *extra):
    out = tmp_path / "odm.xml"
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", "odm", "--out", str(out)]
        + list(extra)
    )
    assert result.exit_code == 0, result.output
    return etree.parse(str(out))


def _oids(world):
    """Item and score OIDs -> (instrument, local id, kind)."""
    out = {}
    for instrument in world.catalog.instruments:
        iid, ver = instrument.id, instrument.version
        for item in instrument.items:
            out[item_oid(iid, ver, item.id)] = (iid, item.id, "item")
        for scale in instrument.scales:
            out[score_oid(iid, ver, scale.id)] = (iid, scale.id, "value")
            out[score_oid(iid, ver, scale.id, True)] = (iid, scale.id, "se")
    return out


def test_odm_is_valid_against_the_schema(app, world, tmp_path, schema):
    doc = _export(app, tmp_path)
    schema.assertValid(doc)
    root = doc.getroot()
    assert root.get("ODMVersion") == "1.3.2"
    assert root.get("FileType") == "Snapshot"


def test_schema_rejects_a_broken_document(app, world, tmp_path, schema):
    doc = _export(app, tmp_path)
    first = doc.find(".//odm:ItemData", NS)
    first.set("Bogus", "1")
    assert not schema.validate(doc)


def test_metadata_lists_events_forms_items_and_code_lists(app, world, tmp_path):
    doc = _export(app, tmp_path)
    mdv = doc.find(".//odm:MetaDataVersion", NS)
    events = [e.get("OID") for e in mdv.findall("odm:StudyEventDef", NS)]
    assert events == [oid("SE", "BL"), oid("SE", "W4")]
    for instrument in world.catalog.instruments:
        iid, ver = instrument.id, instrument.version
        assert mdv.find(f"odm:FormDef[@OID='{form_oid(iid, ver)}']", NS) is not None
        text = instrument.text("en")
        for item in instrument.items:
            item_def = mdv.find(
                f"odm:ItemDef[@OID='{item_oid(iid, ver, item.id)}']", NS
            )
            question = item_def.find("odm:Question/odm:TranslatedText", NS)
            assert question.text == text.item_text(item.id)
            assert question.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
            ref = item_def.find("odm:CodeListRef", NS).get("CodeListOID")
            code_list = mdv.find(f"odm:CodeList[@OID='{ref}']", NS)
            decoded = {
                int(c.get("CodedValue")): c.find(
                    "odm:Decode/odm:TranslatedText", NS
                ).text
                for c in code_list.findall("odm:CodeListItem", NS)
            }
            assert decoded == dict(text.options(item.id))


def test_clinical_data_and_audit_records_match_the_database(
    app, world, session, tmp_path
):
    doc = _export(app, tmp_path)
    oids = _oids(world)
    answers = expected_answers(session, world.study)
    scores = expected_scores(session, world.study)
    users = {u.get("OID") for u in doc.findall(".//odm:AdminData/odm:User", NS)}
    current = {
        (a.submission_id, a.item_id): a
        for a in session.scalars(select(Answer).where(Answer.replaced_at.is_(None)))
    }
    got_items, got_scores, audits, collected, modes = {}, {}, 0, {}, {}
    for subject in doc.findall(".//odm:SubjectData", NS):
        key = subject.get("SubjectKey")
        for event in subject.findall("odm:StudyEventData", NS):
            tp = event.get("StudyEventOID").removeprefix("SE.")
            for form in event.findall("odm:FormData", NS):
                (day,) = form.findall(f".//odm:ItemData[@ItemOID='{COLLECTED_ON}']", NS)
                collected[(key, tp, form.get("FormOID"))] = day.get("Value")
                (mode,) = form.findall(
                    f".//odm:ItemData[@ItemOID='{COLLECTION_MODE}']", NS
                )
                entered = form.findall(f".//odm:ItemData[@ItemOID='{ENTERED_BY}']", NS)
                modes[(key, tp, form.get("FormOID"))] = (
                    mode.get("Value"),
                    [e.get("Value") for e in entered],
                )
            for item in event.iter(TAG + "ItemData"):
                if item.get("ItemOID") in (COLLECTED_ON, COLLECTION_MODE, ENTERED_BY):
                    continue
                instrument_id, local, kind = oids[item.get("ItemOID")]
                value = item.get("Value")
                if kind == "item":
                    got_items[(key, tp, instrument_id, local)] = (
                        None if item.get("IsNull") == "Yes" else int(value)
                    )
                    record = item.find("odm:AuditRecord", NS)
                    fact = answers[(key, tp, instrument_id, local)]
                    submission = session.scalar(
                        select(Submission).where(
                            Submission.completed_at == fact["completed_at"],
                            Submission.instrument_id == instrument_id,
                        )
                    )
                    answer = current[(submission.id, local)]
                    user = record.find("odm:UserRef", NS).get("UserOID")
                    assert user == user_oid(answer.actor)
                    assert user in users
                    stamp = record.find("odm:DateTimeStamp", NS).text
                    assert stamp == answer.answered_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                    reason = record.find("odm:ReasonForChange", NS)
                    assert (reason.text if reason is not None else None) == (
                        answer.reason
                    )
                    audits += 1
                else:
                    got_scores[(key, tp, instrument_id, local, kind)] = (
                        None if value is None else float(value)
                    )
    assert got_items == {k: f["code"] for k, f in answers.items()}
    assert collected == {
        (s, tp, form_oid(i, f["version"])): f["collected_on"].isoformat()
        for (s, tp, i, _item), f in answers.items()
    }
    assert audits == len(answers)
    # Each form says how it was collected; a paper one who entered it (the
    # world's staff actor has no account, so its actor string).
    assert modes == {
        (s, tp, form_oid(i, f["version"])): (
            f["mode"],
            [f["entered_by"]] if f["entered_by"] else [],
        )
        for (s, tp, i, _item), f in answers.items()
    }
    assert {mode for mode, _who in modes.values()} == {"self", "paper"}
    want = {}
    for (subject, tp, instrument_id, scale_id), score in scores.items():
        ok = score.status == "ok" and score.value is not None
        want[(subject, tp, instrument_id, scale_id, "value")] = (
            score.value if ok else None
        )
        if score.method == "sum_to_t":
            want[(subject, tp, instrument_id, scale_id, "se")] = (
                score.se if ok else None
            )
    assert got_scores == want
    # The staff correction carries its reason.
    corrected_id, item_id = world.corrected
    assert current[(corrected_id, item_id)].reason == "transcription error"
    reasons = [r.text for r in doc.iter(TAG + "ReasonForChange")]
    assert reasons == ["transcription error"]


def test_users_and_locations_are_named(app, world, session, tmp_path):
    doc = _export(app, tmp_path)
    admin = doc.find(".//odm:AdminData", NS)
    locations = {
        loc.get("OID"): loc.get("Name") for loc in admin.findall("odm:Location", NS)
    }
    assert locations == {oid("LOC", "01"): "Site one", oid("LOC", "02"): "Site two"}
    users = {}
    for user in admin.findall("odm:User", NS):
        shown = user.find("odm:DisplayName", NS)
        users[user.find("odm:LoginName", NS).text] = (
            user.get("UserType"),
            None if shown is None else shown.text,
        )
    people = session.scalars(
        select(Participant).where(Participant.study_id == world.study.id)
    )
    want = {
        f"participant:{p.id}": ("Other", f"Participant {p.subject_id}") for p in people
    }
    # The world's staff actor has no account: no name to show.
    want["staff:999"] = ("Investigator", None)
    assert users == want


def test_mode_code_list_decodes_every_mode(app, world, tmp_path):
    doc = _export(app, tmp_path)
    item = doc.find(f".//odm:ItemDef[@OID='{COLLECTION_MODE}']", NS)
    ref = item.find("odm:CodeListRef", NS).get("CodeListOID")
    code_list = doc.find(f".//odm:CodeList[@OID='{ref}']", NS)
    decoded = {
        c.get("CodedValue"): c.find("odm:Decode/odm:TranslatedText", NS).text
        for c in code_list.findall("odm:CodeListItem", NS)
    }
    assert decoded == MODES
    assert set(decoded) == {"self", "paper", "interview"}


def test_filtered_odm_is_valid_and_scoped(app, world, tmp_path, schema):
    doc = _export(app, tmp_path, "--site", "02", "--instrument", "promis_global")
    schema.assertValid(doc)
    assert {s.get("SubjectKey") for s in doc.findall(".//odm:SubjectData", NS)} == {
        "LK-002"
    }
    forms = {f.get("OID") for f in doc.findall(".//odm:FormDef", NS)}
    assert forms == {form_oid("promis_global", "1.2")}
