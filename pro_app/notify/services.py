"""The reminder job: plan outbox rows, claim what is due, send it exactly once.

``plan_messages`` (in :mod:`pro_app.notify.planning`, re-exported here)
inserts one row per intended message, relying on the outbox's unique
constraint, so planning twice (or on two hosts) is harmless. ``send_due``
claims rows in a short transaction of its own, then sends each in another:
on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, on SQLite with a guarded
update (SQLite transactions here begin IMMEDIATE, so claims serialise). A
row left ``sending`` by a killed job is reclaimed after a timeout.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.notify import rules
from pro_app.notify.compose import compose
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.notify.planning import cancel_pending, plan_messages, replan
from pro_app.notify.senders import Sender, SendError
from pro_app.participants.contact import Contact, contact_for
from pro_app.participants.models import Participant, ParticipantStatus
from pro_app.participants.services import issue_link
from pro_app.studies.models import Assignment
from pro_app.studies.rules import effective_status, is_answerable

__all__ = ["SendOptions", "cancel_pending", "plan_messages", "replan", "send_due"]

ACTOR = "system:notify"
log = logging.getLogger(__name__)


def claim_due(
    session: Session,
    now: datetime,
    *,
    worker_id: str,
    batch_size: int,
    claim_timeout: timedelta,
) -> tuple[str, list[int]]:
    """Mark up to ``batch_size`` due rows ``sending``; return the claim and row ids.

    Call in a transaction of its own and commit at once, so the claim is
    visible to other workers before any sending starts.
    """
    stale = now - claim_timeout
    claimable = or_(
        and_(
            Outbox.status == OutboxStatus.PENDING,
            Outbox.due_at <= now,
            or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now),
        ),
        # A claim this old belongs to a job that died mid-batch.
        and_(Outbox.status == OutboxStatus.SENDING, Outbox.claimed_at < stale),
    )
    candidates = (
        select(Outbox.id).where(claimable).order_by(Outbox.due_at, Outbox.id)
    ).limit(batch_size)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    # One nonce per claim, so the worker can tell its rows from a racing
    # claim that updated the same candidates first.
    claim = f"{worker_id}/{uuid.uuid4().hex[:12]}"
    ids = list(session.scalars(candidates))
    if not ids:
        return claim, []
    session.execute(
        update(Outbox)
        .where(Outbox.id.in_(ids), claimable)
        .values(status=OutboxStatus.SENDING, claimed_by=claim, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return claim, list(
        session.scalars(
            select(Outbox.id).where(
                Outbox.id.in_(ids),
                Outbox.claimed_by == claim,
                Outbox.status == OutboxStatus.SENDING,
            )
        )
    )


@dataclass
class SendStats:
    """What one ``send_due`` pass did."""

    sent: int = 0
    cancelled: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True)
class SendOptions:
    """Settings of a send pass (from config, via the CLI)."""

    link_base_url: str
    data_key: str
    default_locale: str = "en"
    link_days: int = 400
    team_contact: str | None = None
    max_attempts: int = 5
    claim_timeout: timedelta = timedelta(minutes=15)


def _window_still_open(session: Session, row: Outbox, now: datetime) -> bool:
    lead = session.get(Assignment, row.assignment_id)
    if lead is None:
        return False
    siblings = session.scalars(
        select(Assignment).where(
            Assignment.participant_id == lead.participant_id,
            Assignment.timepoint_id == lead.timepoint_id,
        )
    )
    # Open while any instrument of the timepoint can still be answered.
    return any(
        is_answerable(effective_status(a.status, a.opens_at, a.closes_at, now))
        for a in siblings
    )


def _why_not(
    session: Session,
    row: Outbox,
    participant: Participant,
    contact: Contact,
    now: datetime,
) -> str | None:
    if participant.status is not ParticipantStatus.ACTIVE:
        return "participant not active"
    if contact.opted_out:
        return "opted out"
    if not (contact.email if row.channel == "email" else contact.phone):
        return "no address"
    if not _window_still_open(session, row, now):
        return "window not open"
    lead = session.get(Assignment, row.assignment_id)
    if lead is not None and lead.opens_at != row.window_opens_at:
        # Planned for a window that has since moved: the re-plan queued the
        # messages of the new one.
        return "window moved"
    # After an outage, send only the latest message that fell due meanwhile.
    later = select(Outbox.id).where(
        Outbox.assignment_id == row.assignment_id,
        Outbox.channel == row.channel,
        Outbox.window_opens_at == row.window_opens_at,
        Outbox.due_at > row.due_at,
        Outbox.due_at <= now,
        Outbox.status != OutboxStatus.CANCELLED,
    )
    if session.scalar(later.limit(1)) is not None:
        return "superseded"
    return None


def _send_one(
    session: Session,
    row_id: int,
    claim: str,
    sender: Sender,
    now: datetime,
    options: SendOptions,
) -> str:
    # Lock the row while sending (PostgreSQL; SQLite's write lock does it), and
    # give it up if another run reclaimed it while this one was slow.
    row = session.get(Outbox, row_id, with_for_update=True)
    if row is None or row.status is not OutboxStatus.SENDING or row.claimed_by != claim:
        return "skipped"
    participant = session.get(Participant, row.participant_id)
    assignment = session.get(Assignment, row.assignment_id)
    contact = contact_for(session, participant, options.data_key)
    reason = _why_not(session, row, participant, contact, now)
    if reason is not None:
        row.status = OutboxStatus.CANCELLED
        row.last_error = reason
        session.flush()
        return "cancelled"
    policy = (participant.study.settings or {}).get("link_policy", "per_message")
    if policy == "long_lived":
        days = options.link_days
    else:
        # A per-message link lives as long as the window, plus a day of slack.
        days = max(1, math.ceil((assignment.closes_at - now) / timedelta(days=1)) + 1)
    token = issue_link(session, participant, valid_days=days, actor=ACTOR, now=now)
    link = f"{options.link_base_url.rstrip('/')}/p/{token}"
    to = contact.email if row.channel == "email" else contact.phone
    message = compose(
        row,
        participant,
        assignment,
        to=to,
        link=link,
        default_locale=options.default_locale,
        team_contact=options.team_contact,
    )
    sender.send(message)  # raises SendError; the caller rolls back the link
    row.status = OutboxStatus.SENT
    row.sent_at = now
    row.attempts += 1
    row.last_error = None
    session.flush()
    record(
        session,
        actor=ACTOR,
        action="notify.sent",
        entity_type="outbox",
        entity_id=row.id,
        new={
            "assignment_id": row.assignment_id,
            "kind": row.kind,
            "channel": row.channel,
        },
        study_id=participant.study_id,
    )
    return "sent"


def _record_failure(
    session: Session,
    row_id: int,
    claim: str,
    error: str,
    now: datetime,
    options: SendOptions,
) -> str:
    row = session.get(Outbox, row_id, with_for_update=True)
    if row is None or row.claimed_by != claim:
        return "skipped"
    row.attempts += 1
    row.last_error = error[:300]
    row.claimed_by = None
    if row.attempts >= options.max_attempts:
        row.status = OutboxStatus.FAILED
        outcome = "failed"
    else:
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = now + rules.backoff(row.attempts)
        outcome = "retried"
    session.flush()
    return outcome


def send_due(
    session_factory: Callable[[], Session],
    sender: Sender,
    now: datetime,
    *,
    worker_id: str,
    batch_size: int,
    options: SendOptions,
    max_batches: int | None = None,
) -> SendStats:
    """Claim and send every due message, batch by batch; return the counts.

    Each claim and each message commits in its own short transaction, so a
    killed job loses at most the rows it had claimed (reclaimed after
    ``options.claim_timeout``), and a racing job never sees them as pending.
    """
    stats = SendStats()
    batches = 0
    while max_batches is None or batches < max_batches:
        with session_factory() as session, session.begin():
            claim, ids = claim_due(
                session,
                now,
                worker_id=worker_id,
                batch_size=batch_size,
                claim_timeout=options.claim_timeout,
            )
        if not ids:
            break
        batches += 1
        for row_id in ids:
            try:
                with session_factory() as session, session.begin():
                    outcome = _send_one(session, row_id, claim, sender, now, options)
            except Exception as error:  # noqa: BLE001
                # A provider refusal (SendError) or a bug in one message must
                # not stop the batch; the stored text names only the kind.
                text = (
                    str(error)
                    if isinstance(error, SendError)
                    else f"error {type(error).__name__}"
                )
                log.warning("outbox %s not sent: %s", row_id, text)
                with session_factory() as session, session.begin():
                    outcome = _record_failure(
                        session, row_id, claim, text, now, options
                    )
            if outcome in ("sent", "cancelled", "retried", "failed"):
                setattr(stats, outcome, getattr(stats, outcome) + 1)
    return stats
