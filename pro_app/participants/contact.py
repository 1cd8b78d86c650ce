"""Participants' contact details, kept apart and encrypted at rest.

Only this module turns the stored tokens back into addresses. The audit trail
records which fields changed, never their values, and nothing here logs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from pro_app.audit.services import record
from pro_app.dbtypes import UTCDateTime, utcnow
from pro_app.extensions import db
from pro_app.participants.crypto import decrypt, encrypt
from pro_app.participants.models import Participant


class ParticipantContact(db.Model):
    """A participant's email and phone, each a Fernet token."""

    __tablename__ = "participant_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id"), unique=True
    )
    email_enc: Mapped[str | None] = mapped_column(Text)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    participant: Mapped[Participant] = relationship()


@dataclass(frozen=True)
class Contact:
    """Clear contact details, for the sender only; never log or audit them."""

    email: str | None
    phone: str | None
    opted_out: bool

    def __repr__(self) -> str:
        # Keep addresses out of tracebacks and debug logs.
        return (
            f"Contact(email={'set' if self.email else None}, "
            f"phone={'set' if self.phone else None}, opted_out={self.opted_out})"
        )


def _row(session: Session, participant: Participant) -> ParticipantContact | None:
    return session.scalar(
        select(ParticipantContact).where(
            ParticipantContact.participant_id == participant.id
        )
    )


def contact_for(session: Session, participant: Participant, data_key: str) -> Contact:
    """Return a participant's decrypted contact details (empty when none stored)."""
    row = _row(session, participant)
    if row is None:
        return Contact(None, None, False)
    return Contact(
        email=decrypt(row.email_enc, data_key),
        phone=decrypt(row.phone_enc, data_key),
        opted_out=row.opted_out_at is not None,
    )


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def set_contact(
    session: Session,
    participant: Participant,
    *,
    email: str | None,
    phone: str | None,
    data_key: str,
    actor: str,
    reason: str | None = None,
) -> None:
    """Store a participant's email and phone, encrypted (audited without values).

    ``None`` or blank clears a field. Nothing is written when nothing changed.
    """
    email, phone = _clean(email), _clean(phone)
    row = _row(session, participant)
    before = (
        contact_for(session, participant, data_key)
        if row
        else Contact(None, None, False)
    )
    changed = [
        name
        for name, old, new in (
            ("email", before.email, email),
            ("phone", before.phone, phone),
        )
        if old != new
    ]
    if not changed:
        return
    if row is None:
        row = ParticipantContact(participant_id=participant.id)
        session.add(row)
    # Fernet tokens are salted: re-encrypting an unchanged value would still
    # change the column, so only the changed fields are rewritten.
    if "email" in changed:
        row.email_enc = encrypt(email, data_key)
    if "phone" in changed:
        row.phone_enc = encrypt(phone, data_key)
    row.updated_at = utcnow()
    session.flush()
    record(
        session,
        actor=actor,
        action="participant.contact",
        entity_type="participant",
        entity_id=participant.id,
        new={
            "changed": changed,
            "email_set": email is not None,
            "phone_set": phone is not None,
        },
        reason=reason,
        study_id=participant.study_id,
    )


def opt_out(
    session: Session,
    participant: Participant,
    *,
    actor: str,
    channel: str | None = None,
) -> None:
    """Stop all messages to a participant (audited); repeating it is harmless.

    Args:
        channel: how the request came (``"email"``, ``"sms"``, ``"staff"``...),
            kept in the audit trail only.
    """
    row = _row(session, participant)
    if row is not None and row.opted_out_at is not None:
        return
    if row is None:
        row = ParticipantContact(participant_id=participant.id)
        session.add(row)
    now = utcnow()
    row.opted_out_at = now
    row.updated_at = now
    session.flush()
    record(
        session,
        actor=actor,
        action="participant.opt_out",
        entity_type="participant",
        entity_id=participant.id,
        new={"opted_out_at": now, "channel": channel},
        study_id=participant.study_id,
    )
