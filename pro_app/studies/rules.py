"""Pure schedule decisions: no database, no Flask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class AssignmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    MISSED = "missed"
    NOT_DONE = "not_done"
    # Withdrawn from the plan (participant withdrawn, timepoint removed by an
    # amendment) before it was started; kept for the record, never answerable.
    CANCELLED = "cancelled"


_FINAL = {
    AssignmentStatus.COMPLETED,
    AssignmentStatus.NOT_DONE,
    AssignmentStatus.CANCELLED,
}
# Stored statuses of an assignment nobody has touched yet: only these may be
# re-planned when Day 0, the time zone or the protocol changes.
NOT_STARTED = frozenset({AssignmentStatus.SCHEDULED, AssignmentStatus.OPEN})


def effective_status(
    stored: AssignmentStatus, opens_at: datetime, closes_at: datetime, now: datetime
) -> AssignmentStatus:
    """Return an assignment's status at ``now`` from its stored status and window.

    The stored status records what people did (started, completed, marked not
    done); the window decides the rest, so nothing depends on a job having run.
    """
    if stored in _FINAL:
        return stored
    if now < opens_at:
        return AssignmentStatus.SCHEDULED
    if now >= closes_at:
        return AssignmentStatus.MISSED
    if stored is AssignmentStatus.IN_PROGRESS:
        return AssignmentStatus.IN_PROGRESS
    return AssignmentStatus.OPEN


def is_answerable(status: AssignmentStatus) -> bool:
    """Whether a participant may still save answers or submit."""
    return status in (AssignmentStatus.OPEN, AssignmentStatus.IN_PROGRESS)


def local_midnight(day: date, tz: str) -> datetime:
    """Return the UTC instant at which ``day`` begins in time zone ``tz``.

    On a day whose midnight is skipped by a daylight-saving change the
    wall-clock time is normalised forward by ``zoneinfo`` semantics.
    """
    return local_instant(day, time(0), tz)


def local_instant(day: date, at: time, tz: str) -> datetime:
    """Return the UTC instant of wall-clock time ``at`` on ``day`` in ``tz``.

    A time skipped by a daylight-saving change (spring forward) is moved on
    by the length of the gap (01:30 becomes 02:30); a repeated one (fall back)
    takes its first occurrence (``fold=0``), so a window never opens late.
    """
    local = datetime.combine(day, at, tzinfo=ZoneInfo(tz))
    # Round-trip through UTC to land on a real instant when the time does not exist.
    return local.astimezone(UTC)


def parse_clock(value: str | None) -> time:
    """Parse a ``"HH:MM"`` study setting (``None`` means midnight)."""
    if not value:
        return time(0)
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class Window:
    """When an assignment opens, is due and closes (UTC), around its target day."""

    target_date: date
    opens_at: datetime
    due_at: datetime
    closes_at: datetime


def window_for(
    day0: date,
    day_offset: int,
    before: int,
    after: int,
    tz: str,
    opens_at: time | None = None,
) -> Window:
    """Compute an assignment's window in the participant's time zone.

    It opens at local midnight (or the study's ``opens_at`` local time)
    ``before`` days ahead of the target day, is due at the end of the target
    day, and closes at the end of the day ``after`` days past it.
    """
    target = day0 + timedelta(days=day_offset)
    return Window(
        target_date=target,
        opens_at=local_instant(
            target - timedelta(days=before), opens_at or time(0), tz
        ),
        due_at=local_midnight(target + timedelta(days=1), tz),
        closes_at=local_midnight(target + timedelta(days=after + 1), tz),
    )
