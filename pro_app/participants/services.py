"""Participant login sessions and the participant's own settings.

Personal links are in :mod:`pro_app.participants.links`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.dbtypes import utcnow
from pro_app.participants.models import (
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
