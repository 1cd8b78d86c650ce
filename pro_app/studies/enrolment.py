"""Changes to an enrolled participant's schedule: Day 0, time zone, withdrawal.

Each re-plans only the assignments nobody has started (see ``planning``), and
every change carries the reason given by the trial team into the audit trail.
Queued invitations and reminders follow: a move re-plans the participant's
outbox (given the data key that decrypts their contact details), and a
withdrawal cancels every message not yet sent.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.dbtypes import utcnow
from pro_app.notify.planning import cancel_pending
from pro_app.notify.planning import replan as replan_messages
from pro_app.participants.links import WITHDRAWN, revoke_links
from pro_app.participants.models import Participant, ParticipantStatus
from pro_app.studies.locks import DataLocked, ensure_unlocked
from pro_app.studies.models import Assignment
from pro_app.studies.planning import AssignmentChange, cancel, is_not_started, replan
from pro_app.studies.rules import AssignmentStatus


class ScheduleError(ValueError):
    """A schedule change that cannot be made (withdrawn participant, final status)."""


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ScheduleError("a reason is required")
    return reason


def _require_unlocked(
    session: Session,
    participant: Participant | None = None,
    assignment: Assignment | None = None,
) -> None:
    try:
        ensure_unlocked(session, participant=participant, assignment=assignment)
    except DataLocked as exc:
        raise ScheduleError(
            "the data are locked by a data manager; unlock them first"
        ) from exc


def _require_active(participant: Participant) -> None:
    if participant.status is not ParticipantStatus.ACTIVE:
        raise ScheduleError(f"participant {participant.subject_id} is not active")


def _change_participant(
    session: Session,
    participant: Participant,
    field: str,
    value: object,
    *,
    actor: str,
    reason: str,
    now: datetime | None,
    data_key: str | None,
) -> list[AssignmentChange]:
    reason = _require_reason(reason)
    _require_active(participant)
    _require_unlocked(session, participant=participant)
    old = getattr(participant, field)
    if old == value:
        return []
    now = now or utcnow()
    setattr(participant, field, value)
    session.flush()
    record(
        session,
        actor=actor,
        action=f"participant.{field}",
        entity_type="participant",
        entity_id=participant.id,
        old={field: old},
        new={field: value},
        reason=reason,
        study_id=participant.study_id,
    )
    changes = replan(session, participant, actor=actor, reason=reason, now=now)
    if data_key is not None:
        # Unsent messages were timed for the old windows: plan them afresh.
        replan_messages(session, participant.id, now, data_key=data_key)
    return changes


def move_day0(
    session: Session,
    participant: Participant,
    new_day0: date,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
    data_key: str | None = None,
) -> list[AssignmentChange]:
    """Move Day 0 (e.g. a rescheduled infusion) and every not-started assignment.

    Args:
        data_key: the contact-details key; given, the outbox is re-planned too.
    """
    return _change_participant(
        session,
        participant,
        "day0",
        new_day0,
        actor=actor,
        reason=reason,
        now=now,
        data_key=data_key,
    )


def change_timezone(
    session: Session,
    participant: Participant,
    timezone: str,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
    data_key: str | None = None,
) -> list[AssignmentChange]:
    """Record a participant's new time zone and re-plan their not-started windows.

    Args:
        data_key: the contact-details key; given, the outbox is re-planned too.
    """
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"{timezone!r} is not an IANA time zone") from None
    return _change_participant(
        session,
        participant,
        "timezone",
        timezone,
        actor=actor,
        reason=reason,
        now=now,
        data_key=data_key,
    )


def withdraw(
    session: Session,
    participant: Participant,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> list[AssignmentChange]:
    """Withdraw a participant: cancel what has not started, revoke their links.

    Messages not yet sent are cancelled too (the sender would re-check anyway).

    Answers already given, scores and started assignments are kept as they are.
    """
    reason = _require_reason(reason)
    _require_active(participant)
    _require_unlocked(session, participant=participant)
    now = now or utcnow()
    old = participant.status
    participant.status = ParticipantStatus.WITHDRAWN
    session.flush()
    record(
        session,
        actor=actor,
        action="participant.withdraw",
        entity_type="participant",
        entity_id=participant.id,
        old={"status": old},
        new={"status": ParticipantStatus.WITHDRAWN},
        reason=reason,
        study_id=participant.study_id,
    )
    assignments = session.scalars(
        select(Assignment)
        .where(Assignment.participant_id == participant.id)
        .order_by(Assignment.opens_at, Assignment.position)
    )
    changes = [
        cancel(session, a, actor=actor, reason=reason)
        for a in assignments
        if is_not_started(a, now)
    ]
    # The stored text is not the team's reason: outbox errors never hold free text.
    cancel_pending(session, participant.id, reason="participant withdrawn")
    revoke_links(session, participant, actor=actor, reason=reason, why=WITHDRAWN)
    return changes


def mark_not_done(
    session: Session, assignment: Assignment, *, actor: str, reason: str
) -> Assignment:
    """Record that an assignment will not be done (staff decision, with a reason)."""
    reason = _require_reason(reason)
    _require_unlocked(session, assignment=assignment)
    if assignment.status in (AssignmentStatus.COMPLETED, AssignmentStatus.CANCELLED):
        raise ScheduleError(f"assignment {assignment.id} is {assignment.status}")
    if assignment.status is AssignmentStatus.NOT_DONE:
        return assignment
    old = assignment.status
    assignment.status = AssignmentStatus.NOT_DONE
    assignment.status_reason = reason
    session.flush()
    record(
        session,
        actor=actor,
        action="assignment.not_done",
        entity_type="assignment",
        entity_id=assignment.id,
        old={"status": old},
        new={"status": AssignmentStatus.NOT_DONE},
        reason=reason,
        study_id=assignment.participant.study_id,
    )
    return assignment
