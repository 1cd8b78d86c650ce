"""Participants, their personal-link tokens and their login sessions."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
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


class AccessToken(db.Model):
    """A personal link. Only the SHA-256 of the token is kept."""

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
