"""Submissions and their answers. Answers are appended, never updated in place."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pro_app.dbtypes import UTCDateTime, str_enum, utcnow
from pro_app.extensions import db

if TYPE_CHECKING:
    from pro_app.studies.models import Assignment


class SubmissionStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class Mode(StrEnum):
    SELF = "self"
    PAPER = "paper"
    INTERVIEW = "interview"


class Submission(db.Model):
    """One administration of an instrument for one assignment."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: a double tap or a second device can never open a second one.
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id"), unique=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id"), index=True
    )
    instrument_id: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[str] = mapped_column(String(20))
    mode: Mapped[Mode] = mapped_column(str_enum(Mode), default=Mode.SELF)
    # The language the instrument text was shown in, and the interface's.
    language: Mapped[str] = mapped_column(String(10))
    ui_language: Mapped[str] = mapped_column(String(10))
    status: Mapped[SubmissionStatus] = mapped_column(
        str_enum(SubmissionStatus), default=SubmissionStatus.IN_PROGRESS
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Paper or interview entry: who typed it in, and the day it was answered.
    entered_by: Mapped[str | None] = mapped_column(String(60))
    administered_on: Mapped[date | None]
    # Set when scoring failed: the answers are kept and the team is told.
    scoring_error: Mapped[str | None] = mapped_column(Text)

    assignment: Mapped[Assignment] = relationship(back_populates="submission")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="submission", order_by="Answer.id"
    )
    scores: Mapped[list[Score]] = relationship(
        back_populates="submission", order_by="Score.id"
    )


class Answer(db.Model):
    """One recorded response to one item.

    A new value for an item is a new row; the row it replaces keeps its value
    and gets ``replaced_at``/``replaced_by_id``. ``code`` is NULL when the
    participant saw the item and chose to skip it.
    """

    __tablename__ = "answers"
    __table_args__ = (
        # At most one current answer per item, enforced by the database so
        # two tabs saving at once cannot both win.
        Index(
            "uq_answers_current_item",
            "submission_id",
            "item_id",
            unique=True,
            sqlite_where=text("replaced_at IS NULL"),
            postgresql_where=text("replaced_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(40))
    code: Mapped[int | None]
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(60))
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id"))
    reason: Mapped[str | None] = mapped_column(Text)

    submission: Mapped[Submission] = relationship(back_populates="answers")


class Score(db.Model):
    """One scale score of one submission, with how it was computed.

    A re-score appends a new row and marks the one it replaces, so an earlier
    value is never lost.
    """

    __tablename__ = "scores"
    __table_args__ = (
        Index(
            "uq_scores_current_scale",
            "submission_id",
            "scale_id",
            unique=True,
            sqlite_where=text("replaced_at IS NULL"),
            postgresql_where=text("replaced_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    scale_id: Mapped[str] = mapped_column(String(40))
    instrument_id: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    raw: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    se: Mapped[float | None] = mapped_column(Float)
    n_answered: Mapped[int]
    n_items: Mapped[int]
    prorated: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    algorithm: Mapped[str] = mapped_column(String(60))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    submission: Mapped[Submission] = relationship(back_populates="scores")
