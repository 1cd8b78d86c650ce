"""Create studies, enrol participants and generate their assignments."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.participants.contact import set_contact
from pro_app.participants.models import Participant
from pro_app.studies.importer import ImportReport, import_protocol
from pro_app.studies.models import (
    Assignment,
    Site,
    Study,
    Timepoint,
    TimepointInstrument,
)
from pro_app.studies.planning import active_timepoints, window_of
from pro_app.studies.protocol import TimepointDef

# A timepoint as ``create_study`` takes it: the protocol file's definition.
TimepointSpec = TimepointDef


def create_study(
    session: Session,
    *,
    code: str,
    title: str,
    timezone: str,
    sites: list[tuple[str, str]],
    timepoints: list[TimepointSpec],
    actor: str,
    registry_id: str | None = None,
) -> Study:
    """Create a study with its sites and timepoints (audited)."""
    study = Study(code=code, title=title, timezone=timezone, registry_id=registry_id)
    session.add(study)
    for site_code, name in sites:
        session.add(Site(study=study, code=site_code, name=name, timezone=timezone))
    for position, spec in enumerate(timepoints, start=1):
        tp = Timepoint(
            study=study,
            code=spec.code,
            label=spec.label,
            position=position,
            day_offset=spec.day_offset,
            window_before=spec.window_before,
            window_after=spec.window_after,
            is_baseline=spec.baseline,
        )
        session.add(tp)
        for order, (instrument_id, version) in enumerate(spec.instruments, start=1):
            session.add(
                TimepointInstrument(
                    timepoint=tp,
                    instrument_id=instrument_id,
                    instrument_version=version,
                    position=order,
                )
            )
    session.flush()
    record(
        session,
        actor=actor,
        action="study.create",
        entity_type="study",
        entity_id=study.id,
        new={"code": code, "title": title, "timepoints": [t.code for t in timepoints]},
        study_id=study.id,
    )
    return study


def enrol(
    session: Session,
    study: Study,
    *,
    site: Site,
    subject_id: str,
    day0: date,
    timezone: str,
    language: str | None,
    actor: str,
    email: str | None = None,
    phone: str | None = None,
    data_key: str | None = None,
) -> Participant:
    """Enrol a participant and generate every assignment of the protocol.

    Args:
        email, phone: optional contact details, stored encrypted with
            ``data_key`` (required when either is given).
    """
    participant = Participant(
        study=study,
        site=site,
        subject_id=subject_id,
        day0=day0,
        timezone=timezone,
        language=language,
    )
    session.add(participant)
    session.flush()
    record(
        session,
        actor=actor,
        action="participant.enrol",
        entity_type="participant",
        entity_id=participant.id,
        new={
            "subject_id": subject_id,
            "site": site.code,
            "day0": day0,
            "timezone": timezone,
            "language": language,
        },
        study_id=study.id,
    )
    _generate(session, participant)
    session.flush()
    if email or phone:
        if not data_key:
            raise ValueError("a data key is needed to store contact details")
        set_contact(
            session,
            participant,
            email=email,
            phone=phone,
            data_key=data_key,
            actor=actor,
        )
    return participant


def _generate(session: Session, participant: Participant) -> None:
    """Add every assignment of a new participant (audited once, by the enrolment)."""
    timepoints = active_timepoints(session, participant.study_id)
    for tp in timepoints:
        window = window_of(participant, tp)
        for ti in tp.instruments:
            session.add(
                Assignment(
                    participant=participant,
                    timepoint=tp,
                    instrument_id=ti.instrument_id,
                    instrument_version=ti.instrument_version,
                    position=ti.position,
                    target_date=window.target_date,
                    opens_at=window.opens_at,
                    due_at=window.due_at,
                    closes_at=window.closes_at,
                )
            )


# Protocol import lives in its own module; it is part of this service's API.
__all__ = [
    "ImportReport",
    "TimepointSpec",
    "create_study",
    "enrol",
    "import_protocol",
]
