"""Plan the outbox: one row per intended message, queued once.

Rows are inserted with "on conflict do nothing" on the outbox's unique
constraint (SQLite and PostgreSQL both support it), so planning twice, or on
two hosts at once, is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pro_app.notify import rules
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.participants.contact import Contact, contact_for
from pro_app.participants.models import Participant, ParticipantStatus
from pro_app.studies.models import Assignment, Study
from pro_app.studies.rules import effective_status, is_answerable


def _lead_assignments(
    now: datetime, horizon: timedelta | None, participant_id: int | None = None
) -> Select:
    """Select one assignment per participant and timepoint that may need messages.

    A timepoint's instruments share one window, so the participant gets one
    invitation per window, hung on the first instrument's assignment whatever
    its status (a lead that changed with completions would be planned anew).
    Completed windows are cancelled by the sender's re-check.
    """
    window = [Assignment.closes_at > now]
    if horizon is not None:
        window.append(Assignment.opens_at <= now + horizon)
    first = (
        select(func.min(Assignment.id))
        .where(*window)
        .group_by(Assignment.participant_id, Assignment.timepoint_id)
    )
    query = (
        select(Assignment, Participant, Study)
        .join(Participant, Participant.id == Assignment.participant_id)
        .join(Study, Study.id == Participant.study_id)
        .where(Assignment.id.in_(first), Participant.status == ParticipantStatus.ACTIVE)
    )
    if participant_id is not None:
        # Re-planning one participant: rows of the current window that were
        # sent stay (the unique constraint skips them); a window that moved is
        # planned afresh, less what was already sent inside it (``_served``).
        return query.where(Participant.id == participant_id)
    # The routine pass skips windows already planned, so it stays cheap.
    return query.where(
        ~exists().where(
            Outbox.assignment_id == Assignment.id,
            Outbox.window_opens_at == Assignment.opens_at,
        )
    )


def open_lead(
    session: Session, participant: Participant, now: datetime
) -> Assignment | None:
    """The assignment a message about the open window hangs on, or None.

    The same choice as the planner's: the lowest id among the timepoint's
    assignments that have not closed, so the sender's checks see one thread
    of messages per window.
    """
    assignments = session.scalars(
        select(Assignment)
        .where(Assignment.participant_id == participant.id)
        .order_by(Assignment.closes_at, Assignment.id)
    ).all()
    open_ = [
        a
        for a in assignments
        if is_answerable(effective_status(a.status, a.opens_at, a.closes_at, now))
    ]
    if not open_:
        return None
    window = [
        a
        for a in assignments
        if a.timepoint_id == open_[0].timepoint_id and a.closes_at > now
    ]
    return min(window, key=lambda a: a.id)


def _served(session: Session, assignment: Assignment) -> set[tuple[str, str]]:
    """Kinds and channels already sent inside the assignment's current window.

    After a window moves, a message of the old window that went out while the
    new one was already open has done its job and is not sent again; one sent
    before the new window opened (an invitation to a window that then moved
    later) is planned again for the new window.
    """
    sent = session.execute(
        select(Outbox.kind, Outbox.channel).where(
            Outbox.assignment_id == assignment.id,
            Outbox.window_opens_at != assignment.opens_at,
            Outbox.status.in_((OutboxStatus.SENT, OutboxStatus.SENDING)),
            func.coalesce(Outbox.sent_at, Outbox.claimed_at) >= assignment.opens_at,
            func.coalesce(Outbox.sent_at, Outbox.claimed_at) < assignment.closes_at,
        )
    )
    return {(kind, channel) for kind, channel in sent}


def insert_ignoring_duplicates(session: Session, rows: list[dict]) -> int:
    """Insert outbox rows, skipping any the unique constraint already holds.

    Returns how many were inserted.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    factory = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = factory(Outbox).on_conflict_do_nothing(
        index_elements=["assignment_id", "kind", "channel", "window_opens_at"]
    )
    return len(session.execute(stmt.returning(Outbox.id), rows).all())


def plan_messages(
    session: Session,
    now: datetime,
    *,
    data_key: str,
    channels: Iterable[str] = ("email", "sms"),
    horizon: timedelta = timedelta(days=2),
    participant_id: int | None = None,
) -> int:
    """Queue the messages of every window opening within ``horizon``; return rows tried.

    Only channels the participant has an address for are planned. Rows that
    already exist are left alone (insert-if-absent on the unique constraint).
    """
    wanted = set(channels)
    contacts: dict[int, Contact] = {}
    rows: list[dict] = []
    for assignment, participant, study in session.execute(
        # A re-plan looks at every future window: the routine pass would skip
        # those with a sent row, so their remaining messages are planned now.
        _lead_assignments(
            now, None if participant_id is not None else horizon, participant_id
        )
    ):
        if participant.id not in contacts:
            contacts[participant.id] = contact_for(session, participant, data_key)
        contact = contacts[participant.id]
        if contact.opted_out:
            continue
        have = {"email": contact.email, "sms": contact.phone}
        served = _served(session, assignment) if participant_id is not None else set()
        times = rules.message_times(
            assignment.opens_at,
            assignment.closes_at,
            participant.timezone,
            rules.plan_from_settings(study.settings),
            rules.quiet_from_settings(study.settings),
        )
        for channel in sorted(wanted):
            if not have.get(channel):
                continue
            rows.extend(
                {
                    "participant_id": participant.id,
                    "assignment_id": assignment.id,
                    "channel": channel,
                    "kind": kind,
                    "window_opens_at": assignment.opens_at,
                    "due_at": due_at,
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "created_at": now,
                }
                for kind, due_at in times
                if (kind, channel) not in served
            )
    for start in range(0, len(rows), 500):
        insert_ignoring_duplicates(session, rows[start : start + 500])
    session.flush()
    return len(rows)


def cancel_pending(session: Session, participant_id: int, *, reason: str) -> int:
    """Cancel a participant's unsent messages (withdrawal, opt-out); return how many.

    The sender re-checks anyway; this makes the stop visible at once.
    """
    result = session.execute(
        update(Outbox)
        .where(
            Outbox.participant_id == participant_id,
            Outbox.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.CANCELLED, last_error=reason[:300])
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return result.rowcount


def replan(
    session: Session, participant_id: int, now: datetime, *, data_key: str
) -> int:
    """Drop a participant's unsent messages and plan them again from the windows.

    Call after their assignments move (Day 0 changed, protocol amended, time
    zone changed). Messages already sent are not sent again.
    """
    session.execute(
        delete(Outbox)
        .where(
            Outbox.participant_id == participant_id,
            Outbox.status == OutboxStatus.PENDING,
        )
        .execution_options(synchronize_session=False)
    )
    return plan_messages(session, now, data_key=data_key, participant_id=participant_id)
