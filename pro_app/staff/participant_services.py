"""What the trial team changes on a participant's page: details and reminders.

Services in the project's sense: plain arguments, flush, never commit, and
every change audited with the reason the team gave.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.dbtypes import utcnow
from pro_app.notify import rules
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.notify.planning import open_lead, plan_messages
from pro_app.notify.planning import replan as replan_messages
from pro_app.participants.contact import contact_for, set_contact
from pro_app.participants.models import Participant, ParticipantStatus
from pro_app.participants.services import set_language
from pro_app.studies.enrolment import ScheduleError, change_timezone, move_day0
from pro_app.studies.models import Study

# Outbox kinds of reminders sent on a staff member's request: "reminder_s1",
# "reminder_s2"... A new kind each time, because the outbox allows one row per
# (assignment, kind, channel); the "reminder" prefix picks the message text.
STAFF_REMINDER = "reminder_s"


def subject_id_taken(session: Session, study: Study, subject_id: str) -> bool:
    """Whether the study already has this subject id (ignoring case)."""
    return (
        session.scalar(
            select(Participant.id)
            .where(
                Participant.study_id == study.id,
                func.lower(Participant.subject_id) == subject_id.lower(),
            )
            .limit(1)
        )
        is not None
    )


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def edit_details(
    session: Session,
    participant: Participant,
    *,
    day0: date,
    timezone: str,
    language: str | None,
    contact: tuple[str | None, str | None] | None,
    reason: str,
    actor: str,
    data_key: str,
    now: datetime | None = None,
) -> list[str]:
    """Apply the edits of the details form; return the names of what changed.

    Day 0 and time zone re-plan the not-started assignments and the queued
    messages; new contact details re-plan the messages. Every change is
    audited with ``reason``.

    Args:
        contact: ``(email, phone)``, or None to leave them alone (a user who
            may not see contact details cannot change them).
    """
    reason = (reason or "").strip()
    if not reason:
        raise ScheduleError("a reason is required")
    if participant.status is not ParticipantStatus.ACTIVE:
        raise ScheduleError(f"participant {participant.subject_id} is not active")
    changed: list[str] = []
    common = {"actor": actor, "reason": reason, "now": now, "data_key": data_key}
    if day0 != participant.day0:
        move_day0(session, participant, day0, **common)
        changed.append("day0")
    if timezone != participant.timezone:
        change_timezone(session, participant, timezone, **common)
        changed.append("timezone")
    if language != participant.language:
        set_language(session, participant, language, actor=actor, reason=reason)
        changed.append("language")
    if contact is not None:
        email, phone = _clean(contact[0]), _clean(contact[1])
        before = contact_for(session, participant, data_key)
        if (before.email, before.phone) != (email, phone):
            set_contact(
                session,
                participant,
                email=email,
                phone=phone,
                data_key=data_key,
                actor=actor,
                reason=reason,
            )
            # Messages are planned per address: a new one gets its own, and
            # those for a removed one must not wait in the queue.
            replan_messages(session, participant.id, now or utcnow(), data_key=data_key)
            changed.append("contact")
    return changed


class ReminderOutcome(StrEnum):
    QUEUED = "queued"
    NOT_ACTIVE = "not_active"
    NO_OPEN_WINDOW = "no_open_window"
    OPTED_OUT = "opted_out"
    NO_CONTACT = "no_contact"
    ALREADY_QUEUED = "already_queued"


@dataclass(frozen=True)
class ReminderResult:
    """What ``remind_now`` did; ``rows`` are the queued messages."""

    outcome: ReminderOutcome
    rows: list[Outbox] = field(default_factory=list)
    due_at: datetime | None = None


def remind_now(
    session: Session,
    participant: Participant,
    *,
    now: datetime,
    data_key: str,
    channels: Iterable[str],
    actor: str,
) -> ReminderResult:
    """Queue a reminder about the participant's open window, due now.

    The reminder job (``flask notify send``) delivers it on its next run, with
    the same once-only claim, re-checks (opted out, window still open) and
    audit as every other message; this function does not send by itself. A
    time inside the participant's quiet hours is moved to their end.
    """
    if participant.status is not ParticipantStatus.ACTIVE:
        return ReminderResult(ReminderOutcome.NOT_ACTIVE)
    lead = open_lead(session, participant, now)
    if lead is None:
        return ReminderResult(ReminderOutcome.NO_OPEN_WINDOW)
    contact = contact_for(session, participant, data_key)
    if contact.opted_out:
        return ReminderResult(ReminderOutcome.OPTED_OUT)
    have = {"email": contact.email, "sms": contact.phone}
    wanted = sorted(c for c in set(channels) if have.get(c))
    if not wanted:
        return ReminderResult(ReminderOutcome.NO_CONTACT)
    # Plan the regular messages first: the routine planning pass skips any
    # window that already has a row, so a lone staff reminder would hide it.
    plan_messages(
        session, now, data_key=data_key, channels=wanted, participant_id=participant.id
    )
    study = participant.study
    due_at = rules.out_of_quiet(
        now, participant.timezone, rules.quiet_from_settings(study.settings)
    )
    rows: list[Outbox] = []
    for channel in wanted:
        earlier = session.scalars(
            select(Outbox).where(
                Outbox.assignment_id == lead.id,
                Outbox.channel == channel,
                Outbox.kind.like(f"{STAFF_REMINDER}%"),
            )
        ).all()
        if any(r.status is OutboxStatus.PENDING for r in earlier):
            continue
        row = Outbox(
            participant_id=participant.id,
            assignment_id=lead.id,
            channel=channel,
            kind=f"{STAFF_REMINDER}{len(earlier) + 1}",
            window_opens_at=lead.opens_at,
            due_at=due_at,
            status=OutboxStatus.PENDING,
            attempts=0,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            continue  # a second click at the same moment queued it already
        rows.append(row)
    if not rows:
        return ReminderResult(ReminderOutcome.ALREADY_QUEUED)
    record(
        session,
        actor=actor,
        action="notify.remind_now",
        entity_type="participant",
        entity_id=participant.id,
        new={
            "assignment_id": lead.id,
            "outbox_ids": [r.id for r in rows],
            "channels": [r.channel for r in rows],
            "due_at": due_at,
        },
        study_id=participant.study_id,
    )
    return ReminderResult(ReminderOutcome.QUEUED, rows, due_at)
