"""Personal links and participant login sessions.

A personal link carries a random token of 192 bits; only its SHA-256 is
stored, so a copy of the database does not give anyone a working link.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.dbtypes import utcnow
from pro_app.participants.models import (
    AccessToken,
    Participant,
    ParticipantSession,
    ParticipantStatus,
)


def hash_token(raw: str) -> str:
    """Return the hex SHA-256 under which a token is stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


def actor_for(participant: Participant) -> str:
    """Return the audit actor string of a participant."""
    return f"participant:{participant.id}"


def _revoke_tokens(session: Session, participant: Participant, now: datetime) -> int:
    result = session.execute(
        update(AccessToken)
        .where(
            AccessToken.participant_id == participant.id,
            AccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return result.rowcount


def issue_link(
    session: Session,
    participant: Participant,
    *,
    valid_days: int,
    actor: str,
    now: datetime | None = None,
) -> str:
    """Revoke the participant's earlier links and issue a new one.

    Returns the raw token: the only time it exists outside the link itself.
    """
    now = now or utcnow()
    _revoke_tokens(session, participant, now)
    raw = secrets.token_urlsafe(24)
    token = AccessToken(
        participant=participant,
        token_hash=hash_token(raw),
        purpose="link",
        created_at=now,
        expires_at=now + timedelta(days=valid_days),
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor=actor,
        action="link.issue",
        entity_type="access_token",
        entity_id=token.id,
        new={"participant_id": participant.id, "expires_at": token.expires_at},
        study_id=participant.study_id,
    )
    return raw


def revoke_links(
    session: Session,
    participant: Participant,
    *,
    actor: str,
    reason: str | None = None,
) -> int:
    """Revoke every live link and session of a participant; return links revoked."""
    now = utcnow()
    revoked = _revoke_tokens(session, participant, now)
    session.execute(
        update(ParticipantSession)
        .where(
            ParticipantSession.participant_id == participant.id,
            ParticipantSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    record(
        session,
        actor=actor,
        action="link.revoke",
        entity_type="participant",
        entity_id=participant.id,
        reason=reason,
        study_id=participant.study_id,
    )
    return revoked


def redeem_link(
    session: Session, raw: str, *, session_hours: int, now: datetime | None = None
) -> tuple[Participant, str] | None:
    """Exchange a personal-link token for a new login session.

    Returns the participant and the raw session key, or ``None`` for a token
    that is unknown, expired, revoked, or whose participant is not active.
    The caller cannot tell these apart, and neither can the person at the link.
    """
    now = now or utcnow()
    token = session.scalar(
        select(AccessToken).where(AccessToken.token_hash == hash_token(raw))
    )
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


def participant_for_session(
    session: Session, key: str, *, now: datetime | None = None
) -> Participant | None:
    """Return the participant of a live session key, else ``None``."""
    now = now or utcnow()
    row = session.scalar(
        select(ParticipantSession).where(
            ParticipantSession.session_hash == hash_token(key)
        )
    )
    if (
        row is None
        or row.revoked_at is not None
        or row.expires_at <= now
        or row.participant.status is not ParticipantStatus.ACTIVE
    ):
        return None
    return row.participant


def end_session(session: Session, key: str) -> None:
    """Revoke one login session (sign-out)."""
    session.execute(
        update(ParticipantSession)
        .where(
            ParticipantSession.session_hash == hash_token(key),
            ParticipantSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )


def set_language(
    session: Session,
    participant: Participant,
    language: str | None,
    *,
    actor: str,
    reason: str | None = None,
) -> None:
    """Record a participant's chosen language (audited)."""
    if participant.language == language:
        return
    old = participant.language
    participant.language = language
    session.flush()
    record(
        session,
        actor=actor,
        action="participant.language",
        entity_type="participant",
        entity_id=participant.id,
        old={"language": old},
        new={"language": language},
        reason=reason,
        study_id=participant.study_id,
    )
