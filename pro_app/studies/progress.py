"""Pure progress decisions for the dashboard: no database, no Flask.

A participant's timepoint holds several questionnaires (assignments); the
dashboard shows one state for it, and lists what needs the team's attention.
Statuses come in already made effective at ``now`` (``rules.effective_status``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pro_app.studies.rules import AssignmentStatus as S

# "Needs action" horizons.
DUE_SOON = timedelta(days=2)
OPENING_SOON = timedelta(hours=24)
RECENT = timedelta(days=14)
# Two instants on the same local day are less than a day apart, give or take
# a daylight-saving shift: a cheap test before any zone conversion.
_SAME_DAY_SPAN = timedelta(hours=26)


class CellState(StrEnum):
    """One participant's timepoint, across its questionnaires."""

    COMPLETED = "completed"
    IN_PROGRESS = "in_progress"
    OPEN = "open"
    OVERDUE = "overdue"
    MISSED = "missed"
    NOT_DONE = "not_done"
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    EMPTY = "empty"


class ActionKind(StrEnum):
    OPENING = "opening"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    MISSED = "missed"
    FAILED_MESSAGE = "failed_message"


class Slot(NamedTuple):
    """Assignments of one timepoint alike in effective status and window (UTC)."""

    status: S
    opens_at: datetime
    due_at: datetime
    closes_at: datetime
    n: int = 1  # how many assignments


@dataclass(frozen=True)
class Cell:
    state: CellState
    done: int  # questionnaires completed
    total: int  # questionnaires not cancelled


@dataclass(frozen=True)
class Rate:
    """Completed questionnaires of those whose window has opened (not cancelled)."""

    timepoint_code: str
    completed: int
    expected: int

    @property
    def fraction(self) -> float | None:
        return self.completed / self.expected if self.expected else None


def cell_state(slots: list[Slot], now: datetime) -> CellState:
    """Derive one state for a timepoint from its questionnaires' statuses.

    Something still answerable wins (overdue once past due), then something
    not yet open; once every window is over, all done reads "completed" and
    any missed questionnaire "missed".
    """
    if not slots:
        return CellState.EMPTY
    live = [s for s in slots if s.status is not S.CANCELLED]
    if not live:
        return CellState.CANCELLED
    answerable = [s for s in live if s.status in (S.OPEN, S.IN_PROGRESS)]
    if answerable:
        if now >= min(s.due_at for s in answerable):
            return CellState.OVERDUE
        if any(s.status in (S.IN_PROGRESS, S.COMPLETED) for s in live):
            return CellState.IN_PROGRESS
        return CellState.OPEN
    if any(s.status is S.SCHEDULED for s in live):
        return CellState.SCHEDULED
    if all(s.status is S.COMPLETED for s in live):
        return CellState.COMPLETED
    if any(s.status is S.MISSED for s in live):
        return CellState.MISSED
    return CellState.NOT_DONE


def local_day(moment: datetime, tz: str) -> date:
    """Return the calendar day of ``moment`` in time zone ``tz``."""
    return moment.astimezone(ZoneInfo(tz)).date()


def _day_before(moment: datetime, tz: str) -> date:
    # Due and close times are the first instant after a day: name that day.
    return local_day(moment - timedelta(microseconds=1), tz)


def opens_today(opens_at: datetime, now: datetime, tz: str) -> bool:
    """Whether a window opens within a day, or opened today in the zone ``tz``."""
    if now <= opens_at < now + OPENING_SOON:
        return True
    return abs(opens_at - now) < _SAME_DAY_SPAN and local_day(
        opens_at, tz
    ) == local_day(now, tz)


def cell_actions(
    slots: list[Slot], state: CellState, now: datetime, tz: str
) -> Iterator[tuple[ActionKind, date]]:
    """Yield what needs action in one timepoint of an active participant.

    Each entry comes with the participant's local day it is about: the day
    the window opens, the due day, or the window's last day (overdue, missed).
    """
    opening = [
        s
        for s in slots
        if s.status in (S.SCHEDULED, S.OPEN) and opens_today(s.opens_at, now, tz)
    ]
    if opening:
        yield ActionKind.OPENING, local_day(opening[0].opens_at, tz)
    answerable = [s for s in slots if s.status in (S.OPEN, S.IN_PROGRESS)]
    if state is CellState.OVERDUE:
        yield ActionKind.OVERDUE, _day_before(max(s.closes_at for s in answerable), tz)
    elif any(now < s.due_at <= now + DUE_SOON for s in answerable):
        yield ActionKind.DUE_SOON, _day_before(min(s.due_at for s in answerable), tz)
    missed = [s for s in slots if s.status is S.MISSED and s.closes_at >= now - RECENT]
    if missed:
        yield ActionKind.MISSED, _day_before(max(s.closes_at for s in missed), tz)
