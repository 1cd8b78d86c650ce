"""The outbox: one row per intended message."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pro_app.dbtypes import UTCDateTime, str_enum, utcnow
from pro_app.extensions import db


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Outbox(db.Model):
    """A message to a participant: queued once, claimed by one sender, sent once."""

    __tablename__ = "outbox"
    __table_args__ = (
        # A message is never queued twice for one window, whoever plans it and
        # how often; a window that moves (Day 0 or time zone changed) is a new
        # window and gets its own messages.
        UniqueConstraint("assignment_id", "kind", "channel", "window_opens_at"),
        # The sender's one hot query: what is pending and due.
        Index("ix_outbox_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id"), index=True
    )
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"))
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    # The assignment's opening time when the message was planned: the window
    # the message belongs to.
    window_opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.PENDING
    )
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What went wrong, for the trial team: an error class and code, never an
    # address or message text.
    last_error: Mapped[str | None] = mapped_column(String(300))
    # The link the message carried (the SMS of a planned message carries the
    # same link as its email).
    access_token_id: Mapped[int | None] = mapped_column(ForeignKey("access_tokens.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
