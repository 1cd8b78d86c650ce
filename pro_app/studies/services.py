"""Create studies, enrol participants and generate their assignments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.participants.models import Participant
from pro_app.studies.models import (
    Assignment,
    Site,
    Study,
    Timepoint,
    TimepointInstrument,
)
from pro_app.studies.rules import window_for


@dataclass(frozen=True)
class TimepointSpec:
    """A timepoint as declared in a protocol."""

    code: str
    label: str
    day_offset: int
    window_before: int
    window_after: int
    instruments: tuple[tuple[str, str], ...]


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
) -> Participant:
    """Enrol a participant and generate every assignment of the protocol."""
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
    timepoints = session.scalars(
        select(Timepoint)
        .where(Timepoint.study_id == study.id)
        .order_by(Timepoint.position)
    )
    for tp in timepoints:
        window = window_for(
            day0, tp.day_offset, tp.window_before, tp.window_after, timezone
        )
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
    return participant
