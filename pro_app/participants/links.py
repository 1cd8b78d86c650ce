"""Personal links: one model in which no link a participant holds dies by surprise.

A link carries a random token of 192 bits; its SHA-256 identifies it. What a
link is for is its ``purpose``:

- ``long_lived`` studies give each participant one **personal** link, valid for
  the study's link lifetime. Every message and every handover carries that same
  link; it stops working only when it expires, or when the trial team replaces
  or revokes it (with a reason, audited).
- ``per_message`` studies give each planned **message** its own link (its email
  and its SMS carry the same one) and each **handover** its own link. Issuing
  one never revokes another: each expires on its own schedule.

A token that must be given out again (a personal link for the next message, a
message's link for its SMS, a handover link until the page has shown it) is
kept ``sealed``: encrypted with the data key, like contact details. A copy of
the database without the data key opens no link.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.dbtypes import utcnow
from pro_app.participants.crypto import decrypt, encrypt
from pro_app.participants.models import (
    AccessToken,
    LinkPurpose,
    Participant,
    ParticipantSession,
    ParticipantStatus,
)
from pro_app.participants.services import actor_for, hash_token

LONG_LIVED = "long_lived"
PER_MESSAGE = "per_message"

# Why a link stopped working (``AccessToken.revoked_reason``).
REPLACED = "replaced"
REVOKED = "revoked"
WITHDRAWN = "withdrawn"
# A participant may ask for a new link in place of an expired or replaced
# one; a revoked link (a lost phone) or a withdrawn participant may not.
RENEWABLE = (None, REPLACED)


def link_policy(participant: Participant) -> str:
    """The study's link policy (``long_lived`` unless the study says otherwise)."""
    return (participant.study.settings or {}).get("link_policy", LONG_LIVED)


@dataclass(frozen=True)
class Link:
    """A link to give out: its stored row and its raw token."""

    token: AccessToken
    raw: str


def _live(now: datetime):  # type: ignore[no-untyped-def]
    return (AccessToken.revoked_at.is_(None), AccessToken.expires_at > now)


def issue(
    session: Session,
    participant: Participant,
    *,
    purpose: LinkPurpose,
    expires_at: datetime,
    actor: str,
    now: datetime,
    data_key: str | None = None,
    to_show: bool = False,
) -> Link:
    """Issue a new link; revoke nothing. Sealed when ``data_key`` is given.

    ``to_show``: the handover page may show it once (see :func:`show_once`).
    """
    raw = secrets.token_urlsafe(24)
    token = AccessToken(
        participant=participant,
        token_hash=hash_token(raw),
        purpose=purpose,
        created_at=now,
        expires_at=expires_at,
        issued_by=actor,
        sealed=encrypt(raw, data_key) if data_key else None,
        # Nothing to show unless a handover asked for it.
        shown_at=None if to_show else now,
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor=actor,
        action="link.issue",
        entity_type="access_token",
        entity_id=token.id,
        new={
            "participant_id": participant.id,
            "purpose": str(purpose),
            "expires_at": token.expires_at,
        },
        study_id=participant.study_id,
    )
    return Link(token, raw)


def unseal(token: AccessToken, data_key: str) -> Link | None:
    """The link of a sealed token, or ``None`` if it is not kept."""
    if token.sealed is None:
        return None
    return Link(token, decrypt(token.sealed, data_key))


def personal_link(
    session: Session,
    participant: Participant,
    *,
    data_key: str,
    valid_days: int,
    actor: str,
    now: datetime,
    needed_until: datetime | None = None,
) -> Link:
    """The participant's live personal link, or a new one if none lasts long enough.

    ``needed_until`` is when the link must still work (a window's close). An
    older personal link that expires sooner is not revoked: it keeps working
    until its own expiry, so nothing already given out dies.
    """
    until = max(now, needed_until or now)
    current = session.scalars(
        select(AccessToken)
        .where(
            AccessToken.participant_id == participant.id,
            AccessToken.purpose == LinkPurpose.PERSONAL,
            AccessToken.sealed.is_not(None),
            AccessToken.revoked_at.is_(None),
            AccessToken.expires_at > until,
        )
        .order_by(AccessToken.expires_at.desc(), AccessToken.id.desc())
        .limit(1)
    ).first()
    if current is not None:
        link = unseal(current, data_key)
        if link is not None:
            return link
    expires = max(now + timedelta(days=valid_days), until + timedelta(days=1))
    return issue(
        session,
        participant,
        purpose=LinkPurpose.PERSONAL,
        expires_at=expires,
        actor=actor,
        now=now,
        data_key=data_key,
    )


def live_links(
    session: Session, participant: Participant, now: datetime | None = None
) -> list[AccessToken]:
    """Every link of the participant that works now, newest first."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(AccessToken)
            .where(AccessToken.participant_id == participant.id, *_live(now))
            .order_by(AccessToken.created_at.desc(), AccessToken.id.desc())
        )
    )


def _stop(
    session: Session,
    participant: Participant,
    now: datetime,
    reason: str,
    *,
    end_sessions: bool,
) -> list[int]:
    ids = [t.id for t in live_links(session, participant, now)]
    if ids:
        session.execute(
            update(AccessToken)
            .where(AccessToken.id.in_(ids))
            .values(revoked_at=now, revoked_reason=reason, sealed=None)
            .execution_options(synchronize_session="fetch")
        )
    if end_sessions:
        session.execute(
            update(ParticipantSession)
            .where(
                ParticipantSession.participant_id == participant.id,
                ParticipantSession.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
    return ids


def hand_over(
    session: Session,
    participant: Participant,
    *,
    data_key: str,
    valid_days: int,
    actor: str,
    now: datetime | None = None,
) -> AccessToken:
    """Get a link ready for the handover page to show once; return its row.

    ``long_lived``: the participant's personal link (the same as in their
    messages), issued if they have none. ``per_message``: a handover link of
    its own; earlier handover links keep working until they expire.
    """
    now = now or utcnow()
    if link_policy(participant) == LONG_LIVED:
        token = personal_link(
            session,
            participant,
            data_key=data_key,
            valid_days=valid_days,
            actor=actor,
            now=now,
        ).token
    else:
        token = issue(
            session,
            participant,
            purpose=LinkPurpose.HANDOVER,
            expires_at=now + timedelta(days=valid_days),
            actor=actor,
            now=now,
            data_key=data_key,
            to_show=True,
        ).token
    token.shown_at = None  # a personal link is shown again
    session.flush()
    record(
        session,
        actor=actor,
        action="link.handover",
        entity_type="access_token",
        entity_id=token.id,
        new={"participant_id": participant.id, "purpose": str(token.purpose)},
        study_id=participant.study_id,
    )
    return token


def show_once(
    session: Session,
    participant: Participant,
    token_id: int,
    *,
    data_key: str,
    now: datetime | None = None,
) -> Link | None:
    """Return the handover link to display, the first time only; else ``None``.

    A handover link that is not a personal link is not kept once shown.
    """
    now = now or utcnow()
    token = session.get(AccessToken, token_id)
    if (
        token is None
        or token.participant_id != participant.id
        or token.purpose not in (LinkPurpose.PERSONAL, LinkPurpose.HANDOVER)
        or token.shown_at is not None
        or token.revoked_at is not None
        or token.expires_at <= now
    ):
        return None
    link = unseal(token, data_key)
    if link is None:
        return None
    token.shown_at = now
    if token.purpose != LinkPurpose.PERSONAL:
        token.sealed = None
    session.flush()
    return link


def replace(
    session: Session,
    participant: Participant,
    *,
    data_key: str,
    valid_days: int,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> tuple[AccessToken, list[int]]:
    """Stop every live link and its sessions, issue the one that replaces them.

    Returns the new link's row (ready for the handover page to show once) and
    the ids of the links that stopped working. Audited with the reason.
    """
    now = now or utcnow()
    stopped = _stop(session, participant, now, REPLACED, end_sessions=True)
    purpose = (
        LinkPurpose.PERSONAL
        if link_policy(participant) == LONG_LIVED
        else LinkPurpose.HANDOVER
    )
    new = issue(
        session,
        participant,
        purpose=purpose,
        expires_at=now + timedelta(days=valid_days),
        actor=actor,
        now=now,
        data_key=data_key,
        to_show=True,
    ).token
    record(
        session,
        actor=actor,
        action="link.replace",
        entity_type="participant",
        entity_id=participant.id,
        old={"access_token_ids": stopped},
        new={"access_token_id": new.id},
        reason=reason,
        study_id=participant.study_id,
    )
    return new, stopped


def revoke_links(
    session: Session,
    participant: Participant,
    *,
    actor: str,
    reason: str | None = None,
    why: str = REVOKED,
) -> int:
    """Revoke every live link and session of a participant; return links revoked."""
    now = utcnow()
    revoked = _stop(session, participant, now, why, end_sessions=True)
    record(
        session,
        actor=actor,
        action="link.revoke",
        entity_type="participant",
        entity_id=participant.id,
        old={"access_token_ids": revoked},
        reason=reason,
        study_id=participant.study_id,
    )
    return len(revoked)


def find(session: Session, raw: str) -> AccessToken | None:
    """The stored row of a raw token, live or not."""
    if not raw or len(raw) > 128:
        return None
    return session.scalar(
        select(AccessToken).where(AccessToken.token_hash == hash_token(raw))
    )


def redeem_link(
    session: Session, raw: str, *, session_hours: int, now: datetime | None = None
) -> tuple[Participant, str] | None:
    """Exchange a personal-link token for a new login session.

    Returns the participant and the raw session key, or ``None`` for a token
    that is unknown, expired, revoked, or whose participant is not active.
    The caller cannot tell these apart, and neither can the person at the link.
    """
    now = now or utcnow()
    token = find(session, raw)
    if (
        token is None
        or token.revoked_at is not None
        or token.expires_at <= now
        or token.participant.status is not ParticipantStatus.ACTIVE
    ):
        return None
    token.last_used_at = now
    key = secrets.token_urlsafe(32)
    session.add(
        ParticipantSession(
            participant=token.participant,
            access_token_id=token.id,
            session_hash=hash_token(key),
            created_at=now,
            expires_at=now + timedelta(hours=session_hours),
        )
    )
    session.flush()
    record(
        session,
        actor=actor_for(token.participant),
        action="link.use",
        entity_type="access_token",
        entity_id=token.id,
        study_id=token.participant.study_id,
    )
    return token.participant, key


def renewable(token: AccessToken | None, now: datetime) -> bool:
    """Whether the holder of this dead link may ask for a new one."""
    return (
        token is not None
        and token.participant.status is ParticipantStatus.ACTIVE
        and token.revoked_reason in RENEWABLE
        and (token.revoked_at is not None or token.expires_at <= now)
    )
