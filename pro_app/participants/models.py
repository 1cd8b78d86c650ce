"""Participants, their personal-link tokens and their login sessions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pro_app.dbtypes import UTCDateTime, str_enum, utcnow
from pro_app.extensions import db

if TYPE_CHECKING:
    from pro_app.studies.models import Assignment, Site, Study


class ParticipantStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"


class Participant(db.Model):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("study_id", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    subject_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[ParticipantStatus] = mapped_column(
        str_enum(ParticipantStatus), default=ParticipantStatus.ACTIVE
    )
    day0: Mapped[date]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    study: Mapped[Study] = relationship()
    site: Mapped[Site] = relationship()
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="participant", order_by="Assignment.opens_at"
    )


class LinkPurpose(StrEnum):
    """What a personal link was issued for (``AccessToken.purpose``)."""

    PERSONAL = "personal"  # long_lived: the participant's one link, in every message
    MESSAGE = "message"  # per_message: one planned message (email and SMS alike)
    HANDOVER = "handover"  # per_message: shown at a visit
    LINK = "link"  # issued before purposes were recorded


class AccessToken(db.Model):
    """A personal link. Only the SHA-256 of the token identifies it.

    ``sealed`` keeps the token encrypted with the data key (as contact details
    are) while it must be given out again: a long-lived personal link goes into
    every message and the handover, a message's link into its SMS as well as
    its email. A copy of the database without the data key opens no link.
    """

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20), default="link")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why it stopped working: "replaced" (a new link took its place),
    # "revoked" (staff ended every link: lost phone), "withdrawn".
    revoked_reason: Mapped[str | None] = mapped_column(String(20))
    sealed: Mapped[str | None] = mapped_column(Text)
    issued_by: Mapped[str | None] = mapped_column(String(100))
    # When the handover page showed it (a link is shown there once).
    shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participant: Mapped[Participant] = relationship()


class ParticipantSession(db.Model):
    """A server-side login session, so a session can be ended on the server."""

    __tablename__ = "participant_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id"), index=True
    )
    access_token_id: Mapped[int | None] = mapped_column(ForeignKey("access_tokens.id"))
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participant: Mapped[Participant] = relationship()
