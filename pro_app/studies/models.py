"""Studies, sites, timepoints and the assignments they generate."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pro_app.dbtypes import UTCDateTime, str_enum, utcnow
from pro_app.extensions import db
from pro_app.studies.rules import AssignmentStatus
from pro_app.studies.site_contact import MAX_EMAIL, MAX_NAME, MAX_PHONE, SiteContact

if TYPE_CHECKING:
    from pro_app.participants.models import Participant
    from pro_app.surveys.models import Submission


class Study(db.Model):
    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    registry_id: Mapped[str | None] = mapped_column(String(40))
    protocol_version: Mapped[str] = mapped_column(String(40), default="1")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Study-level options, e.g. {"rand36_min_answered": "half",
    # "show_scores_to_participants": false}; see docs/scoring.md.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    sites: Mapped[list[Site]] = relationship(back_populates="study")
    timepoints: Mapped[list[Timepoint]] = relationship(
        back_populates="study", order_by="Timepoint.position"
    )


class Site(db.Model):
    __tablename__ = "sites"
    __table_args__ = (UniqueConstraint("study_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The study team participants call or write to (``[sites.contact]`` in
    # the protocol file); see ``team_contact``.
    contact_name: Mapped[str | None] = mapped_column(String(MAX_NAME))
    contact_phone: Mapped[str | None] = mapped_column(String(MAX_PHONE))
    contact_email: Mapped[str | None] = mapped_column(String(MAX_EMAIL))
    # Free text from before contacts were structured: shown only when there
    # is no structured contact.
    contact: Mapped[str | None] = mapped_column(Text)

    study: Mapped[Study] = relationship(back_populates="sites")

    @property
    def team_contact(self) -> SiteContact | None:
        """The structured contact, or None when the protocol gives none."""
        if not self.contact_name:
            return None
        return SiteContact(self.contact_name, self.contact_phone, self.contact_email)


class Timepoint(db.Model):
    __tablename__ = "timepoints"
    __table_args__ = (UniqueConstraint("study_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    day_offset: Mapped[int]
    window_before: Mapped[int] = mapped_column(default=0)
    window_after: Mapped[int] = mapped_column(default=0)
    # The protocol's baseline visit (``baseline = true``; at most one a study).
    is_baseline: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Set when an amendment drops the timepoint: it generates nothing more, but
    # stays for the assignments already answered against it.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    study: Mapped[Study] = relationship(back_populates="timepoints")
    instruments: Mapped[list[TimepointInstrument]] = relationship(
        back_populates="timepoint", order_by="TimepointInstrument.position"
    )


class TimepointInstrument(db.Model):
    """One instrument, in order, administered at a timepoint."""

    __tablename__ = "timepoint_instruments"
    __table_args__ = (UniqueConstraint("timepoint_id", "instrument_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    timepoint_id: Mapped[int] = mapped_column(ForeignKey("timepoints.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]

    timepoint: Mapped[Timepoint] = relationship(back_populates="instruments")


class Assignment(db.Model):
    """One instrument that one participant is to answer in one window."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("participant_id", "timepoint_id", "instrument_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id"), index=True
    )
    timepoint_id: Mapped[int] = mapped_column(ForeignKey("timepoints.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(default=1)
    target_date: Mapped[date]
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[AssignmentStatus] = mapped_column(
        str_enum(AssignmentStatus), default=AssignmentStatus.SCHEDULED
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participant: Mapped[Participant] = relationship(back_populates="assignments")
    timepoint: Mapped[Timepoint] = relationship()
    submission: Mapped[Submission | None] = relationship(
        back_populates="assignment", uselist=False
    )

    @property
    def last_moment(self) -> datetime:
        """The last instant of the window, for showing its last day."""
        return self.closes_at - timedelta(microseconds=1)


class DataLock(db.Model):
    """A data manager's lock on a whole study, a timepoint, a participant, or
    one participant's timepoint. While ``unlocked_at`` is empty nobody may
    change the data it covers.
    """

    __tablename__ = "data_locks"

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    # Both empty: the whole study.
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    timepoint_id: Mapped[int | None] = mapped_column(ForeignKey("timepoints.id"))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(Text)
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unlocked_by: Mapped[str | None] = mapped_column(String(60))
    unlock_reason: Mapped[str | None] = mapped_column(Text)

    participant: Mapped[Participant | None] = relationship()
    timepoint: Mapped[Timepoint | None] = relationship()
