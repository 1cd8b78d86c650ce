"""``fhir``/``fhir-ndjson``: HL7 FHIR R4 (4.0.1) resources, as a Bundle or NDJSON.

A ``Questionnaire`` per instrument version in scope, a ``QuestionnaireResponse``
per completed submission (how it was answered in the core ``completionMode``
extension, who entered a paper or interview form as its ``author``) and an
``Observation`` per current score (its SE a component, ``derivedFrom`` the
response). Both files are streamed: each
resource is one JSON object, written as its record arrives.

Codes use the app's own systems (``SYSTEM_BASE``); where the instrument's
``loinc.toml`` lists a verified LOINC code (``exports.loinc``), the panel code
is the Questionnaire's ``code``, an item's code its ``item.code`` and a
score's code a second ``Observation.code`` coding after the app's own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from pro_app.catalog import Instrument
from pro_app.exports.layout import (
    ExportFile,
    ExportPlan,
    RecordSource,
    SubmissionRecord,
)
from pro_app.exports.loinc import LoincMap, load_loinc
from pro_app.exports.sdtm_map import instruments_dir
from pro_app.exports.writers import CHUNK

FHIR_VERSION = "4.0.1"
#: Base of the app's canonical URLs and code systems (not resolvable).
SYSTEM_BASE = "urn:pro-app"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
SURVEY = {
    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
    "code": "survey",
    "display": "Survey",
}
ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
UCUM = "http://unitsofmeasure.org"
# How the answers were given: the R4 core extension on QuestionnaireResponse
# (hl7.org/fhir/R4/extension-questionnaireresponse-completionmode.html), a
# CodeableConcept bound (required) to ValueSet questionnaireresponse-mode,
# whose three codes are v3 ParticipationMode ELECTRONIC "electronic data",
# VERBAL "verbal" and WRITTEN "written".
COMPLETION_MODE = (
    "http://hl7.org/fhir/StructureDefinition/questionnaireresponse-completionMode"
)
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
#: The app's modes (``Submission.mode``) as ParticipationMode codes.
MODE_CODES = {
    "self": ("ELECTRONIC", "electronic data"),
    "paper": ("WRITTEN", "written"),
    "interview": ("VERBAL", "verbal"),
}
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, SYSTEM_BASE)


def canonical(instrument_id: str) -> str:
    """The Questionnaire's canonical URL (without version)."""
    return f"{SYSTEM_BASE}:questionnaire:{instrument_id}"


def resource_id(study: str, *parts: object) -> str:
    """A stable id: the same submission or score gets the same id every time."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(map(str, (study, *parts)))))


def subject_system(study: str) -> str:
    """The identifier system of a study's subject ids."""
    return f"{SYSTEM_BASE}:study:{study}:subject"


def loinc_codes(instrument: Instrument) -> LoincMap:
    """The instrument version's verified LOINC codes (from its ``loinc.toml``)."""
    return load_loinc(instrument, instruments_dir())


def questionnaire(
    plan: ExportPlan, instrument: Instrument, loinc: LoincMap | None = None
) -> dict[str, Any]:
    """One instrument version: items (linkId = item id) with ordinal options."""
    loinc = loinc_codes(instrument) if loinc is None else loinc
    text = instrument.text(instrument.text_locale_for("en"))
    items = []
    for item in instrument.items:
        options = [
            {
                "extension": [{"url": ORDINAL, "valueDecimal": code}],
                "valueCoding": {
                    "system": f"{canonical(instrument.id)}:{item.response_set.id}",
                    "code": str(code),
                    "display": label,
                },
            }
            for code, label in text.options(item.id)
        ]
        entry: dict[str, Any] = {"linkId": item.id}
        if item.id in loinc.items:
            entry["code"] = [loinc.items[item.id].coding()]
        entry |= {"text": text.item_text(item.id), "type": "choice"}
        items.append(entry | {"answerOption": options})
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": resource_id(plan.study, "Q", instrument.id, instrument.version),
        "url": canonical(instrument.id),
        "version": instrument.version,
        "name": instrument.id.upper(),
        "title": instrument.name,
        "status": "active",
        "language": text.locale,
        "copyright": instrument.licence,
    }
    if loinc.panel is not None:
        resource["code"] = [loinc.panel.coding()]
    return resource | {"item": items}


def authored(record: SubmissionRecord) -> str:
    """When the participant answered: the instant of an online completion (UTC),
    the day of a paper or interview form (its time is not known)."""
    if record.time_known:
        return record.completed_utc()
    return record.collected_on().isoformat()


def completion_mode(mode: str) -> dict[str, Any]:
    """The completionMode extension of a response: the ParticipationMode code,
    the app's own word (self, paper, interview) as its text."""
    code, display = MODE_CODES[mode]
    coding = {"system": PARTICIPATION_MODE, "code": code, "display": display}
    return {
        "url": COMPLETION_MODE,
        "valueCodeableConcept": {"coding": [coding], "text": mode},
    }


class Resources:
    """Builds the resources of a record; references say how to point at one."""

    def __init__(self, plan: ExportPlan, bundle: bool) -> None:
        self.plan = plan
        self.bundle = bundle
        self.instruments = {(i.id, i.version): i for i in plan.instruments}
        self.loinc = {key: loinc_codes(i) for key, i in self.instruments.items()}

    def terms(self, instrument: Instrument) -> LoincMap:
        """The LOINC codes of an instrument version in the plan."""
        return self.loinc[(instrument.id, instrument.version)]

    def reference(self, kind: str, rid: str) -> str:
        """``urn:uuid:`` inside a Bundle, ``Type/id`` in NDJSON."""
        return f"urn:uuid:{rid}" if self.bundle else f"{kind}/{rid}"

    def subject(self, record: SubmissionRecord) -> dict[str, Any]:
        """The participant, by study subject id (no Patient resource is sent)."""
        system = subject_system(self.plan.study)
        return {"identifier": {"system": system, "value": record.subject}}

    def entry(self, record: SubmissionRecord) -> dict[str, Any]:
        """``author`` and ``source`` of a response: who recorded the answers and
        who gave them. A paper or interview form was entered by a staff member
        (a display reference: no Practitioner resource is sent)."""
        patient = self.subject(record) | {"type": "Patient"}
        if record.entered_by is None:
            return {"author": patient, "source": patient}
        name = record.entered_by_name or record.entered_by
        return {"author": {"type": "Practitioner", "display": name}, "source": patient}

    def response(self, record: SubmissionRecord) -> dict[str, Any]:
        """The QuestionnaireResponse of a submission (skipped items left out)."""
        instrument = self.instruments[(record.instrument, record.version)]
        text = instrument.text(instrument.text_locale_for("en"))
        items = []
        for item in instrument.items:
            code = record.answers.get(item.id, (None, False))[0]
            if code is None:
                continue
            coding = {
                "system": f"{canonical(instrument.id)}:{item.response_set.id}",
                "code": str(code),
                "display": text.option_label(item.id, code),
            }
            items.append({"linkId": item.id, "answer": [{"valueCoding": coding}]})
        return {
            "resourceType": "QuestionnaireResponse",
            "id": resource_id(self.plan.study, "QR", record.submission_id),
            "extension": [completion_mode(record.mode)],
            "questionnaire": f"{canonical(record.instrument)}|{record.version}",
            "status": "completed",
            "subject": self.subject(record),
            "authored": authored(record),
            **self.entry(record),
            "language": record.language,
            "item": items,
        }

    def observations(self, record: SubmissionRecord) -> list[dict[str, Any]]:
        """One Observation per current score, derived from the response."""
        instrument = self.instruments[(record.instrument, record.version)]
        names = {s.id: s.name for s in instrument.scales}
        loinc = self.loinc[(record.instrument, record.version)].scores
        qr = resource_id(self.plan.study, "QR", record.submission_id)
        system = f"{SYSTEM_BASE}:score:{record.instrument}"
        out = []
        for score in record.scores:
            name = names.get(score.scale_id, score.scale_id)
            codings = [{"system": system, "code": score.scale_id, "display": name}]
            if score.scale_id in loinc:
                codings.append(loinc[score.scale_id].coding())
            obs: dict[str, Any] = {
                "resourceType": "Observation",
                "id": resource_id(
                    self.plan.study, "OBS", record.submission_id, score.scale_id
                ),
                "status": "final",
                "category": [{"coding": [SURVEY]}],
                "code": {
                    "coding": codings,
                    "text": f"{instrument.short_name} {name}",
                },
                "subject": self.subject(record),
                "effectiveDateTime": authored(record),
                "derivedFrom": [
                    {"reference": self.reference("QuestionnaireResponse", qr)}
                ],
                "method": {"text": score.algorithm},
            }
            if score.status == "ok" and score.value is not None:
                obs["valueQuantity"] = _quantity(score.value)
            else:
                obs["dataAbsentReason"] = {
                    "coding": [{"system": ABSENT, "code": "error"}],
                    "text": f"not scorable ({score.status})",
                }
            if score.se is not None and "valueQuantity" in obs:
                obs["component"] = [
                    {
                        "code": {
                            "coding": [
                                {"system": system, "code": f"{score.scale_id}-se"}
                            ],
                            "text": "Standard error",
                        },
                        "valueQuantity": _quantity(score.se),
                    }
                ]
            out.append(obs)
        return out


def _quantity(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "score", "system": UCUM, "code": "{score}"}


def _dump(resource: dict[str, Any]) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"))


def _chunked(pieces: Iterable[str]) -> Iterator[bytes]:
    parts: list[str] = []
    size = 0
    for piece in pieces:
        parts.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(parts).encode()
            parts, size = [], 0
    yield "".join(parts).encode()


def bundle(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``fhir``: one ``collection`` Bundle, entries as the records come."""

    def produce(out: ExportFile) -> Iterator[bytes]:
        maker = Resources(plan, bundle=True)

        def resources() -> Iterator[dict[str, Any]]:
            for instrument in plan.instruments:
                yield questionnaire(plan, instrument, maker.terms(instrument))
            for record in source(None):
                yield maker.response(record)
                yield from maker.observations(record)

        def pieces() -> Iterator[str]:
            head = {
                "resourceType": "Bundle",
                "id": resource_id(plan.study, "BUNDLE", plan.generated_at.isoformat()),
                "type": "collection",
                "timestamp": plan.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            yield _dump(head)[:-1] + ',"entry":['
            for n, resource in enumerate(resources()):
                entry = {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
                yield ("," if n else "") + _dump(entry)
                out.rows += 1
            yield "]}"

        return _chunked(pieces())

    return [ExportFile(plan.file_name("fhir", "json"), produce)]


def ndjson(plan: ExportPlan, source: RecordSource) -> list[ExportFile]:
    """``fhir-ndjson``: one NDJSON file per resource type (bulk-data style)."""
    maker = Resources(plan, bundle=False)

    def questionnaires(out: ExportFile) -> Iterator[bytes]:
        for instrument in plan.instruments:
            out.rows += 1
            resource = questionnaire(plan, instrument, maker.terms(instrument))
            yield (_dump(resource) + "\n").encode()

    def responses(out: ExportFile) -> Iterator[bytes]:
        def lines() -> Iterator[str]:
            for record in source(None, scores=False):
                out.rows += 1
                yield _dump(maker.response(record)) + "\n"

        return _chunked(lines())

    def observations(out: ExportFile) -> Iterator[bytes]:
        def lines() -> Iterator[str]:
            for record in source(None, answers=False):
                for obs in maker.observations(record):
                    out.rows += 1
                    yield _dump(obs) + "\n"

        return _chunked(lines())

    return [
        ExportFile(plan.file_name("Questionnaire", "ndjson"), questionnaires),
        ExportFile(plan.file_name("QuestionnaireResponse", "ndjson"), responses),
        ExportFile(plan.file_name("Observation", "ndjson"), observations),
    ]
