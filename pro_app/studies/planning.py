"""Bring one participant's assignments in line with the study's timepoints.

Shared by enrolment, protocol amendments, Day 0 moves and time-zone changes.
Only assignments nobody has started are touched: stored as scheduled or open,
with no submission, and whose window has not already closed (a closed window
is a recorded outcome, "missed"). Every change is audited with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pro_app.audit.services import record
from pro_app.dbtypes import utcnow
from pro_app.participants.models import Participant
from pro_app.studies.models import Assignment, Timepoint
from pro_app.studies.rules import (
    NOT_STARTED,
    AssignmentStatus,
    Window,
    parse_clock,
    window_for,
)


@dataclass(frozen=True)
class AssignmentChange:
    """One assignment created, moved or cancelled (plain values, for reports)."""

    kind: str  # "created" | "moved" | "cancelled"
    subject_id: str
    timepoint: str
    instrument: str
    old_opens_at: datetime | None = None
    old_closes_at: datetime | None = None
    new_opens_at: datetime | None = None
    new_closes_at: datetime | None = None

    def line(self) -> str:
        """Describe the change on one line."""
        where = f"{self.subject_id} {self.timepoint} {self.instrument}"
        old = f"{_fmt(self.old_opens_at)}..{_fmt(self.old_closes_at)}"
        new = f"{_fmt(self.new_opens_at)}..{_fmt(self.new_closes_at)}"
        if self.kind == "moved":
            return f"move    {where}: {old} -> {new}"
        if self.kind == "created":
            return f"create  {where}: {new}"
        return f"cancel  {where}: {old}"


def _fmt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def is_not_started(assignment: Assignment, now: datetime) -> bool:
    """Whether an assignment may still be re-planned or cancelled."""
    return (
        assignment.status in NOT_STARTED
        and assignment.submission is None
        and assignment.closes_at > now
    )


def active_timepoints(session: Session, study_id: int) -> list[Timepoint]:
    """Return a study's timepoints that still generate assignments, in order."""
    return list(
        session.scalars(
            select(Timepoint)
            .where(Timepoint.study_id == study_id, Timepoint.retired_at.is_(None))
            .order_by(Timepoint.position)
        )
    )


def window_of(participant: Participant, timepoint: Timepoint) -> Window:
    """The window of ``timepoint`` for ``participant``, in their own zone."""
    settings = participant.study.settings or {}
    return window_for(
        participant.day0,
        timepoint.day_offset,
        timepoint.window_before,
        timepoint.window_after,
        participant.timezone,
        parse_clock(settings.get("window_opens_at")),
    )


def _window_dict(a: Assignment) -> dict[str, object]:
    return {
        "target_date": a.target_date,
        "opens_at": a.opens_at,
        "due_at": a.due_at,
        "closes_at": a.closes_at,
        "instrument_version": a.instrument_version,
    }


def _audit(
    session: Session,
    a: Assignment,
    action: str,
    *,
    actor: str,
    reason: str | None,
    old: dict[str, object] | None,
    new: dict[str, object] | None,
) -> None:
    record(
        session,
        actor=actor,
        action=action,
        entity_type="assignment",
        entity_id=a.id,
        old=old,
        new=new,
        reason=reason,
        study_id=a.participant.study_id,
    )


def cancel(
    session: Session,
    assignment: Assignment,
    *,
    actor: str,
    reason: str | None,
) -> AssignmentChange:
    """Cancel one not-started assignment (audited)."""
    old_status = assignment.status
    assignment.status = AssignmentStatus.CANCELLED
    assignment.status_reason = reason
    session.flush()
    _audit(
        session,
        assignment,
        "assignment.cancel",
        actor=actor,
        reason=reason,
        old={"status": old_status},
        new={"status": AssignmentStatus.CANCELLED},
    )
    return AssignmentChange(
        "cancelled",
        assignment.participant.subject_id,
        assignment.timepoint.code,
        assignment.instrument_id,
        old_opens_at=assignment.opens_at,
        old_closes_at=assignment.closes_at,
    )


def replan(
    session: Session,
    participant: Participant,
    *,
    actor: str,
    reason: str | None,
    now: datetime | None = None,
) -> list[AssignmentChange]:
    """Create, move or cancel the participant's not-started assignments.

    Started, finished and already-missed assignments are left exactly as they are.
    """
    now = now or utcnow()
    changes: list[AssignmentChange] = []
    existing = {
        (a.timepoint_id, a.instrument_id): a
        for a in session.scalars(
            select(Assignment).where(Assignment.participant_id == participant.id)
        )
    }
    wanted: set[tuple[int, str]] = set()
    timepoints = active_timepoints(session, participant.study_id)
    for tp in timepoints:
        window = window_of(participant, tp)
        for ti in tp.instruments:
            wanted.add((tp.id, ti.instrument_id))
            a = existing.get((tp.id, ti.instrument_id))
            new = {
                "target_date": window.target_date,
                "opens_at": window.opens_at,
                "due_at": window.due_at,
                "closes_at": window.closes_at,
                "instrument_version": ti.instrument_version,
            }
            if a is None:
                if window.closes_at <= now:
                    # A window added in the past would only ever read "missed".
                    continue
                a = Assignment(
                    participant=participant,
                    timepoint=tp,
                    instrument_id=ti.instrument_id,
                    position=ti.position,
                    **new,
                )
                session.add(a)
                session.flush()
                _audit(
                    session,
                    a,
                    "assignment.create",
                    actor=actor,
                    reason=reason,
                    old=None,
                    new=new,
                )
                changes.append(
                    AssignmentChange(
                        "created",
                        participant.subject_id,
                        tp.code,
                        ti.instrument_id,
                        new_opens_at=window.opens_at,
                        new_closes_at=window.closes_at,
                    )
                )
                continue
            if not is_not_started(a, now):
                continue
            a.position = ti.position
            old = _window_dict(a)
            if old == new:
                continue
            for key, value in new.items():
                setattr(a, key, value)
            session.flush()
            _audit(
                session,
                a,
                "assignment.move",
                actor=actor,
                reason=reason,
                old=old,
                new=new,
            )
            changes.append(
                AssignmentChange(
                    "moved",
                    participant.subject_id,
                    tp.code,
                    ti.instrument_id,
                    old_opens_at=old["opens_at"],
                    old_closes_at=old["closes_at"],
                    new_opens_at=window.opens_at,
                    new_closes_at=window.closes_at,
                )
            )
    for key, a in existing.items():
        if key not in wanted and is_not_started(a, now):
            changes.append(cancel(session, a, actor=actor, reason=reason))
    return changes
