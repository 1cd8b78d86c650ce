"""The FHIR export validated against the official FHIR R4 JSON Schema, parsed
with the ``fhir.resources`` R4 (4.0.1) models and compared value by value with
the database."""

from __future__ import annotations

import json

import fhir.resources
import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.observation import Observation
from fhir.resources.questionnaire import Questionnaire
from fhir.resources.questionnaireresponse import QuestionnaireResponse

from pro_app.exports.fhir import (
    COMPLETION_MODE,
    PARTICIPATION_MODE,
    canonical,
    loinc_codes,
    resource_id,
    subject_system,
)
from pro_app.exports.loinc import LOINC_SYSTEM
from pro_app.surveys.models import Submission
from tests.web.exports.conftest import expected_answers, expected_scores
from tests.web.exports.fhir_schema import (
    assert_schema_valid,
    plain_validator,
    schema_errors,
)

MODELS = {
    "Questionnaire": Questionnaire,
    "QuestionnaireResponse": QuestionnaireResponse,
    "Observation": Observation,
}


def _export(app, tmp_path, fmt):
    out = tmp_path / fmt
    result = app.test_cli_runner().invoke(
        args=["export", "--study", "TEST-1", "--format", fmt, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def _parsed(resource: dict) -> dict:
    """Validate with the R4 model (it raises on a wrong or missing element)."""
    model = MODELS[resource["resourceType"]](resource, strict=True)
    return model.as_json()


def _check(resources: list[dict], world, session, *, bundle: bool) -> None:
    assert fhir.resources.__fhir_version__ == "4.0.1"
    answers = expected_answers(session, world.study)
    scores = expected_scores(session, world.study)
    by_type: dict[str, list[dict]] = {}
    for resource in resources:
        by_type.setdefault(resource["resourceType"], []).append(_parsed(resource))
    # One Questionnaire per instrument version, with every item and option.
    questionnaires = {q["url"]: q for q in by_type["Questionnaire"]}
    for instrument in world.catalog.instruments:
        q = questionnaires[canonical(instrument.id)]
        assert q["version"] == instrument.version
        assert q["copyright"] == instrument.licence
        assert [i["linkId"] for i in q["item"]] == [i.id for i in instrument.items]
        for item, q_item in zip(instrument.items, q["item"], strict=True):
            ordinals = [
                o["extension"][0]["valueDecimal"] for o in q_item["answerOption"]
            ]
            assert ordinals == list(item.codes)
        _check_loinc_in_questionnaire(q, instrument)
    # One response per completed submission; every answered item, by code.
    responses = {r["id"]: r for r in by_type["QuestionnaireResponse"]}
    _check_modes(responses, world, session)
    seen = {}
    submissions = {}
    for response in responses.values():
        instrument_id, version = response["questionnaire"].rsplit("|", 1)
        instrument_id = instrument_id.rsplit(":", 1)[1]
        assert response["status"] == "completed"
        assert response["subject"]["identifier"]["system"] == subject_system("TEST-1")
        subject = response["subject"]["identifier"]["value"]
        for item in response.get("item", []):
            key = (subject, instrument_id, item["linkId"], response["authored"])
            seen[key] = int(item["answer"][0]["valueCoding"]["code"])
        submissions[response["id"]] = (subject, instrument_id, response["authored"])
    want = {}
    for (subject, _tp, instrument_id, item_id), fact in answers.items():
        if fact["code"] is not None:
            authored = _authored(fact["administered_on"], fact["completed_at"])
            want[(subject, instrument_id, item_id, authored)] = fact["code"]
    assert seen == want
    n_completed = len({(s, tp, i) for (s, tp, i, _item) in answers})
    assert len(responses) == n_completed
    # One Observation per current score, derived from its response.
    got_scores = {}
    loinc = {i.id: loinc_codes(i).scores for i in world.catalog.instruments}
    coded = set()
    for obs in by_type["Observation"]:
        assert obs["category"][0]["coding"][0]["code"] == "survey"
        target = obs["derivedFrom"][0]["reference"]
        rid = target.removeprefix("urn:uuid:" if bundle else "QuestionnaireResponse/")
        subject, instrument_id, authored = submissions[rid]
        assert obs["effectiveDateTime"] == authored
        scale_id = obs["code"]["coding"][0]["code"]
        # The app's own coding first; the LOINC one second, only where loinc.toml
        # lists the score.
        want_codings = [obs["code"]["coding"][0]]
        if scale_id in loinc[instrument_id]:
            want_codings.append(loinc[instrument_id][scale_id].coding())
            coded.add((instrument_id, scale_id))
        assert obs["code"]["coding"] == want_codings
        value = obs.get("valueQuantity", {}).get("value")
        se = None
        for component in obs.get("component", []):
            se = component["valueQuantity"]["value"]
        got_scores[(subject, instrument_id, scale_id, authored)] = (value, se)
    want_scores = {}
    for (subject, _tp, instrument_id, scale_id), score in scores.items():
        submission = session.get(Submission, score.submission_id)
        authored = _authored(submission.administered_on, submission.completed_at)
        ok = score.status == "ok" and score.value is not None
        want_scores[(subject, instrument_id, scale_id, authored)] = (
            score.value if ok else None,
            score.se if ok else None,
        )
    assert got_scores == want_scores
    # The world's scores include LOINC-coded ones of both PROMIS instruments.
    assert ("promis_global", "global_physical_health") in coded
    assert ("promis29", "physical_function") in coded


#: Submission.mode -> v3 ParticipationMode (ValueSet questionnaireresponse-mode).
WANT_MODE = {"self": "ELECTRONIC", "paper": "WRITTEN", "interview": "VERBAL"}


def _check_modes(responses: dict, world, session) -> None:
    """Every response says how it was answered: completionMode, by its mode."""
    modes = {}
    for sid in world.submissions:
        mode = session.get(Submission, sid).mode.value
        modes[resource_id("TEST-1", "QR", sid)] = mode
    assert set(responses) == set(modes)
    assert set(modes.values()) == {"self", "paper"}
    for rid, response in responses.items():
        (extension,) = response["extension"]
        assert extension["url"] == COMPLETION_MODE
        concept = extension["valueCodeableConcept"]
        assert concept["text"] == modes[rid]
        (coding,) = concept["coding"]
        assert coding["system"] == PARTICIPATION_MODE
        assert coding["code"] == WANT_MODE[modes[rid]]


def _authored(administered_on, completed_at) -> str:
    """When answered: the day of a paper form, the UTC instant of an online one."""
    if administered_on is not None:
        return administered_on.isoformat()
    return completed_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_loinc_in_questionnaire(q: dict, instrument) -> None:
    """Questionnaire.code and item.code are exactly the codes in loinc.toml."""
    terms = loinc_codes(instrument)
    if terms.panel is None:
        assert "code" not in q
    else:
        assert q["code"] == [terms.panel.coding()]
    for q_item in q["item"]:
        code = terms.items.get(q_item["linkId"])
        if code is None:
            assert "code" not in q_item
        else:
            assert q_item["code"] == [code.coding()]
            assert q_item["code"][0]["system"] == LOINC_SYSTEM


def test_bundle_parses_as_r4_and_matches_the_database(app, world, session, tmp_path):
    out = _export(app, tmp_path, "fhir")
    raw = json.loads((out).read_text(encoding="utf-8"))
    assert raw["resourceType"] == "Bundle"
    assert raw["type"] == "collection"
    assert_schema_valid(raw)  # the official FHIR R4 JSON Schema
    Bundle(raw, strict=True)  # the whole Bundle validates too
    urls = [e["fullUrl"] for e in raw["entry"]]
    assert len(set(urls)) == len(urls)
    # Every reference in the Bundle resolves to an entry.
    for entry in raw["entry"]:
        for ref in entry["resource"].get("derivedFrom", []):
            assert ref["reference"] in urls
    _check([e["resource"] for e in raw["entry"]], world, session, bundle=True)


def test_ndjson_files_parse_and_match_the_database(app, world, session, tmp_path):
    out = _export(app, tmp_path, "fhir-ndjson")
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "TEST-1_Observation.ndjson",
        "TEST-1_Questionnaire.ndjson",
        "TEST-1_QuestionnaireResponse.ndjson",
    ]
    resources = []
    for name in names:
        kind = name.removeprefix("TEST-1_").removesuffix(".ndjson")
        for line in (out / name).read_text(encoding="utf-8").splitlines():
            resource = json.loads(line)
            assert resource["resourceType"] == kind
            assert_schema_valid(resource)
            resources.append(resource)
    ids = {r["id"] for r in resources if r["resourceType"] == "QuestionnaireResponse"}
    for r in resources:
        for ref in r.get("derivedFrom", []):
            assert ref["reference"].removeprefix("QuestionnaireResponse/") in ids
    _check(resources, world, session, bundle=False)


def test_the_schema_refuses_a_broken_export(app, world, tmp_path):
    """The schema reader used above does reject what R4 does not allow."""
    raw = json.loads(_export(app, tmp_path, "fhir").read_text(encoding="utf-8"))
    entries = raw["entry"]
    response = next(
        e["resource"]
        for e in entries
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    )
    for key, value in (
        ("status", "done"),  # not a QuestionnaireResponse status code
        ("authored", "25/11/2026"),  # not an R4 dateTime
        ("mode", "paper"),  # not an element of QuestionnaireResponse
    ):
        broken = response | {key: value}
        assert schema_errors(broken), key
        whole = raw | {"entry": [*entries, {"fullUrl": "urn:x", "resource": broken}]}
        assert schema_errors(whole), key


def test_discriminated_one_of_agrees_with_plain_one_of():
    """Checking a resource against its own type's definition (the schema's
    discriminator) gives the verdict of trying every ``oneOf`` branch."""
    good = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "authored": "2026-11-25",
        "author": {"type": "Practitioner", "display": "A. Coordinator"},
    }
    cases = [
        good,
        good | {"status": "done"},
        good | {"resourceType": "NoSuchResource"},
        {"status": "completed"},
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": good}]},
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": good | {"authored": "25/11/2026"}}],
        },
    ]
    plain = plain_validator()
    verdicts = [not schema_errors(case) for case in cases]
    assert verdicts == [not schema_errors(case, plain) for case in cases]
    assert verdicts == [True, False, False, False, True, False]


def test_a_malformed_resource_is_refused_by_the_reader():
    """The reader used above does reject what R4 does not allow."""
    with pytest.raises(Exception, match="status"):
        QuestionnaireResponse({"resourceType": "QuestionnaireResponse"}, strict=True)


def test_loinc_codes_appear_where_the_data_files_say(app, world, tmp_path):
    """Spot checks against codes verified by hand (see docs/exports.md)."""
    out = _export(app, tmp_path, "fhir")
    raw = json.loads(out.read_text(encoding="utf-8"))
    resources = [e["resource"] for e in raw["entry"]]
    questionnaires = {
        q["url"]: q for q in resources if q["resourceType"] == "Questionnaire"
    }
    global_q = questionnaires[canonical("promis_global")]
    assert global_q["code"][0]["code"] == "85524-7"
    assert global_q["code"][0]["system"] == "http://loinc.org"
    items = {i["linkId"]: i for i in global_q["item"]}
    assert items["Global07r"]["code"][0]["code"] == "61583-1"
    promis29 = questionnaires[canonical("promis29")]
    assert "code" not in promis29  # LOINC's 62337-1 is the v1.0 profile
    items = {i["linkId"]: i for i in promis29["item"]}
    assert items["EDANX01"]["code"][0]["code"] == "61923-9"
    assert "code" not in items["FATEXP41"]  # not verified: left uncoded
    rand36 = questionnaires[canonical("rand36")]
    assert "code" not in rand36
    assert all("code" not in item for item in rand36["item"])
    gph = [
        o
        for o in resources
        if o["resourceType"] == "Observation"
        and o["code"]["coding"][0]["code"] == "global_physical_health"
    ]
    assert gph
    assert gph[0]["code"]["coding"][1] == {
        "system": "http://loinc.org",
        "code": "71971-6",
        "display": "PROMIS-10 Global Physical Health (GPH) score T-score",
    }
