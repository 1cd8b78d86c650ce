"""Reading the audit trail of one study: filters and pages.

A participant filter follows ids: an event is about a participant when its
entity is the participant or one of their assignments, submissions, answers,
personal links, messages or data locks. Events about anything else (the
study, staff accounts, study-wide locks) are not tied to a participant;
staff limited to some sites see only the events tied to their sites'
participants. Times and dates are UTC throughout, as stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, or_, select
from sqlalchemy.orm import Session

from pro_app.audit.chain import Verification, verify_chain
from pro_app.audit.models import AuditEvent
from pro_app.audit.services import record_verification
from pro_app.auth.models import StaffUser
from pro_app.auth.scope import in_sites
from pro_app.notify.models import Outbox
from pro_app.participants.models import AccessToken, Participant
from pro_app.studies.models import Assignment, DataLock
from pro_app.surveys.models import Answer, Submission

PAGE_SIZE = 100


@dataclass(frozen=True)
class TrailFilter:
    """Which events of one study to read."""

    study_id: int
    participant_id: int | None = None
    # None: every site; otherwise only events tied to these sites' participants.
    site_ids: frozenset[int] | None = None
    # Exact actor, or every actor starting with it when it ends with ":".
    actor: str | None = None
    action: str | None = None
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive


def _entity_links() -> dict[str, Select[Any]]:
    """For each entity type tied to a participant: (entity id, participant id)."""
    return {
        "participant": select(Participant.id, Participant.id.label("participant_id")),
        "assignment": select(Assignment.id, Assignment.participant_id),
        "submission": select(Submission.id, Submission.participant_id),
        "answer": select(Answer.id, Submission.participant_id).join(
            Submission, Answer.submission_id == Submission.id
        ),
        "access_token": select(AccessToken.id, AccessToken.participant_id),
        "outbox": select(Outbox.id, Outbox.participant_id),
        "data_lock": select(DataLock.id, DataLock.participant_id),
    }


def _about(people: Select[Any]) -> ColumnElement[bool]:
    """Events whose entity belongs to one of ``people`` (a select of ids)."""
    clauses = []
    for entity_type, link in _entity_links().items():
        entity_col, participant_col = link.selected_columns
        ids = (
            link.with_only_columns(cast(entity_col, String), maintain_column_froms=True)
            .where(participant_col.in_(people))
            .scalar_subquery()
        )
        clauses.append(
            and_(AuditEvent.entity_type == entity_type, AuditEvent.entity_id.in_(ids))
        )
    return or_(*clauses)


def conditions(f: TrailFilter) -> list[ColumnElement[bool]]:
    """Return the WHERE clauses on ``AuditEvent`` that ``f`` stands for."""
    where = [AuditEvent.study_id == f.study_id]
    if f.participant_id is not None or f.site_ids is not None:
        people = select(Participant.id).where(Participant.study_id == f.study_id)
        if f.participant_id is not None:
            people = people.where(Participant.id == f.participant_id)
        if f.site_ids is not None:
            people = people.where(in_sites(Participant.site_id, f.site_ids))
        where.append(_about(people))
    if f.actor:
        if f.actor.endswith(":"):
            where.append(AuditEvent.actor.startswith(f.actor, autoescape=True))
        else:
            where.append(AuditEvent.actor == f.actor)
    if f.action:
        where.append(AuditEvent.action == f.action)
    if f.start is not None:
        where.append(AuditEvent.occurred_at >= f.start)
    if f.end is not None:
        where.append(AuditEvent.occurred_at < f.end)
    return where


@dataclass(frozen=True)
class Page:
    """One page of events, newest first, with what is needed to show them."""

    events: list[AuditEvent]
    # Keyset bounds for the links: ``after`` (newer page), ``before`` (older).
    newer: int | None
    older: int | None
    actor_names: dict[str, str]
    subjects: dict[int, str]  # event id -> participant subject id


def page(
    session: Session,
    f: TrailFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Return up to ``size`` events, newest first, older than ``before`` or
    newer than ``after`` (keyset pagination: cheap on any page)."""
    query = select(AuditEvent).where(*conditions(f))
    if after is not None:
        rows = list(
            session.scalars(
                query.where(AuditEvent.id > after)
                .order_by(AuditEvent.id)
                .limit(size + 1)
            )
        )
        more_newer = len(rows) > size
        events = rows[:size][::-1]
        newer = events[0].id if more_newer else None
        older = events[-1].id if events else None
    else:
        if before is not None:
            query = query.where(AuditEvent.id < before)
        rows = list(
            session.scalars(query.order_by(AuditEvent.id.desc()).limit(size + 1))
        )
        events = rows[:size]
        older = events[-1].id if len(rows) > size else None
        newer = events[0].id if before is not None and events else None
    return Page(
        events,
        newer,
        older,
        actor_names(session, [e.actor for e in events]),
        subjects_of(session, events),
    )


def actor_names(session: Session, actors: Sequence[str]) -> dict[str, str]:
    """Map ``staff:<id>`` actors to staff names, in one query."""
    ids = {
        int(a.removeprefix("staff:"))
        for a in actors
        if a.startswith("staff:") and a.removeprefix("staff:").isdigit()
    }
    if not ids:
        return {}
    rows = session.execute(
        select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids))
    )
    return {f"staff:{ident}": name for ident, name in rows}


def subjects_of(session: Session, events: Sequence[AuditEvent]) -> dict[int, str]:
    """Map events to the subject id of the participant they are about.

    One query per entity type present, plus one for the subject ids.
    """
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.entity_id and event.entity_id.isdigit():
            wanted.setdefault(event.entity_type, set()).add(int(event.entity_id))
    links = _entity_links()
    owner: dict[tuple[str, int], int] = {}
    for entity_type, ids in wanted.items():
        link = links.get(entity_type)
        if link is None:
            continue
        entity_col = link.selected_columns[0]
        for entity_id, participant_id in session.execute(
            link.where(entity_col.in_(ids))
        ):
            owner[entity_type, entity_id] = participant_id
    if not owner:
        return {}
    subject = dict(
        session.execute(
            select(Participant.id, Participant.subject_id).where(
                Participant.id.in_(set(owner.values()))
            )
        ).all()
    )
    found: dict[int, str] = {}
    for event in events:
        if event.entity_id and event.entity_id.isdigit():
            participant_id = owner.get((event.entity_type, int(event.entity_id)))
            if participant_id in subject:
                found[event.id] = subject[participant_id]
    return found


def actions(session: Session, study_id: int) -> list[str]:
    """Return the distinct actions recorded in a study, sorted."""
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.study_id == study_id)
            .distinct()
            .order_by(AuditEvent.action)
        )
    )


def compact_json(value: Any) -> str:
    """Render a stored value as short, stable JSON ("" for none)."""
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def verify_trail(session: Session, *, actor: str) -> Verification:
    """Walk the whole hash chain and record the outcome (as ``flask audit verify``
    does, without an outside anchor); flushes, never commits."""
    result = verify_chain(session)
    record_verification(session, result, actor=actor, anchor=None)
    return result
