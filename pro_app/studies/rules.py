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


_FINAL = {AssignmentStatus.COMPLETED, AssignmentStatus.NOT_DONE}


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
    local = datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))
    # Round-trip through UTC to land on a real instant when 00:00 does not exist.
    return local.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """When an assignment opens, is due and closes (UTC), around its target day."""

    target_date: date
    opens_at: datetime
    due_at: datetime
    closes_at: datetime


def window_for(day0: date, day_offset: int, before: int, after: int, tz: str) -> Window:
    """Compute an assignment's window in the participant's time zone.

    It opens at local midnight ``before`` days ahead of the target day, is due
    at the end of the target day, and closes at the end of the day ``after``
    days past it.
    """
    target = day0 + timedelta(days=day_offset)
    return Window(
        target_date=target,
        opens_at=local_midnight(target - timedelta(days=before), tz),
        due_at=local_midnight(target + timedelta(days=1), tz),
        closes_at=local_midnight(target + timedelta(days=after + 1), tz),
    )
