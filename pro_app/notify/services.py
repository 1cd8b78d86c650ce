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
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.notify import rules
from pro_app.notify.compose import compose
from pro_app.notify.models import Outbox, OutboxStatus
from pro_app.notify.planning import cancel_pending, plan_messages, replan
from pro_app.notify.senders import Sender, SendError
from pro_app.participants import links
from pro_app.participants.contact import Contact, contact_for
from pro_app.participants.models import (
    AccessToken,
    LinkPurpose,
    Participant,
    ParticipantStatus,
)
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
    return _superseded(session, row, now)


def _superseded(session: Session, row: Outbox, now: datetime) -> str | None:
    """Whether a message of the reminder plan has nothing left to say.

    The first message of a window is its invitation, however late it goes
    (enrolled into an open window, or after an outage); a message that fell
    due before another one went out is not sent after it; and after an outage
    only the latest message due is sent. A reminder the team asked for goes
    unless a message went out since it was asked for; a new link always goes.
    """
    if row.kind.startswith(rules.NEW_LINK):
        return None
    window = (
        Outbox.assignment_id == row.assignment_id,
        Outbox.channel == row.channel,
        Outbox.window_opens_at == row.window_opens_at,
        Outbox.id != row.id,
    )
    sent = session.scalars(
        select(Outbox.sent_at).where(
            *window,
            Outbox.status == OutboxStatus.SENT,
            ~Outbox.kind.like(f"{rules.NEW_LINK}%"),
        )
    ).all()
    if not rules.is_planned(row.kind):
        # A reminder the team asked for: a message sent since (the invitation
        # that had not gone yet) has said the same.
        asked = row.created_at
        return "superseded" if any(at and at >= asked for at in sent) else None
    if any(at is not None and at >= row.due_at for at in sent):
        return "superseded"
    if not sent:
        if row.kind == rules.INVITATION:
            return None
        invitation_waiting = select(Outbox.id).where(
            *window,
            Outbox.kind == rules.INVITATION,
            Outbox.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            Outbox.due_at <= now,
        )
        if session.scalar(invitation_waiting.limit(1)) is not None:
            return "superseded"
    later = select(Outbox.id, Outbox.kind).where(
        *window,
        Outbox.due_at > row.due_at,
        Outbox.due_at <= now,
        Outbox.status != OutboxStatus.CANCELLED,
    )
    if any(rules.is_planned(kind) for _, kind in session.execute(later)):
        return "superseded"
    return None


def _link_for(
    session: Session,
    row: Outbox,
    participant: Participant,
    assignment: Assignment,
    now: datetime,
    options: SendOptions,
) -> links.Link:
    """The link a message carries; recorded on the row.

    ``long_lived``: the participant's personal link, the same in every message
    and in the handover. ``per_message``: the message's own link, shared by the
    email and the SMS of one planned message, valid until its window closes
    (and a day); it revokes no other link.
    """
    if links.link_policy(participant) == links.LONG_LIVED:
        link = links.personal_link(
            session,
            participant,
            data_key=options.data_key,
            valid_days=options.link_days,
            actor=ACTOR,
            now=now,
            needed_until=assignment.closes_at,
        )
    else:
        link = None
        shared = session.scalars(
            select(AccessToken)
            .join(Outbox, Outbox.access_token_id == AccessToken.id)
            .where(
                Outbox.assignment_id == row.assignment_id,
                Outbox.kind == row.kind,
                Outbox.window_opens_at == row.window_opens_at,
                Outbox.id != row.id,
                AccessToken.revoked_at.is_(None),
                AccessToken.expires_at > now,
                AccessToken.sealed.is_not(None),
            )
            .limit(1)
        ).first()
        if shared is not None:
            link = links.unseal(shared, options.data_key)
        if link is None:
            link = links.issue(
                session,
                participant,
                purpose=LinkPurpose.MESSAGE,
                expires_at=max(assignment.closes_at, now) + timedelta(days=1),
                actor=ACTOR,
                now=now,
                data_key=options.data_key,
            )
    row.access_token_id = link.token.id
    return link


def _forget_shared_link(session: Session, row: Outbox) -> None:
    """Drop a message link's sealed copy once no channel of the message needs it."""
    token = session.get(AccessToken, row.access_token_id)
    if token is None or token.purpose != LinkPurpose.MESSAGE:
        return
    waiting = select(Outbox.id).where(
        Outbox.assignment_id == row.assignment_id,
        Outbox.kind == row.kind,
        Outbox.window_opens_at == row.window_opens_at,
        Outbox.id != row.id,
        Outbox.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
    )
    if session.scalar(waiting.limit(1)) is None:
        token.sealed = None


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
    carried = _link_for(session, row, participant, assignment, now, options)
    link = f"{options.link_base_url.rstrip('/')}/p/{carried.raw}"
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
    _forget_shared_link(session, row)
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
            "access_token_id": row.access_token_id,
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


def _send_waiting_for_the_lock(
    session_factory: Callable[[], Session],
    row_id: int,
    claim: str,
    sender: Sender,
    now: datetime,
    options: SendOptions,
    tries: int = 3,
) -> str:
    """Send one claimed row in its own transaction.

    On SQLite a racing job can hold the one write lock past the busy timeout
    (its next transaction starts the moment the last one commits). The
    transaction then fails to begin (``BEGIN IMMEDIATE`` takes the lock first,
    so no later statement of it can meet a locked database), before anything
    was sent: that is a wait, not a failed message, so it is tried again
    instead of being counted as an attempt.
    """
    for attempt in range(1, tries + 1):
        try:
            with session_factory() as session, session.begin():
                return _send_one(session, row_id, claim, sender, now, options)
        except OperationalError as error:
            if attempt == tries or "database is locked" not in str(error.orig):
                raise
            log.info("outbox %s: waiting for the database lock", row_id)
    raise AssertionError("unreachable")  # pragma: no cover


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
                outcome = _send_waiting_for_the_lock(
                    session_factory, row_id, claim, sender, now, options
                )
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
