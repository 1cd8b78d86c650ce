"""Pure message timing: when each message is due, quiet hours, retry back-off.

No database and no Flask. Every instant in and out is an aware UTC datetime;
local wall-clock arithmetic goes through ``zoneinfo`` so daylight-saving
changes are handled the way the participant experiences them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

INVITATION = "invitation"
REMINDER = "reminder"
LAST_CALL = "last_call"
# Not part of the plan: asked for from a dead link's page.
NEW_LINK = "new_link"

DEFAULT_QUIET = ("21:00", "08:00")


@dataclass(frozen=True)
class ReminderPlan:
    """Which messages a study sends for each window."""

    invitation: bool = True
    reminder_days: tuple[int, ...] = (3,)  # days after opening
    last_call_days: int | None = 1  # days before closing; None: no last call


@dataclass(frozen=True)
class QuietHours:
    """Local times between which no message is sent (may span midnight)."""

    start: time
    end: time

    def contains(self, t: time) -> bool:
        """Whether wall-clock time ``t`` is inside the quiet period."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


def plan_from_settings(settings: dict[str, Any] | None) -> ReminderPlan:
    """Read ``Study.settings["reminders"]``; missing keys take the defaults.

    Shape: ``{"invitation": true, "reminder_days": [3], "last_call_days": 1}``.
    """
    raw = (settings or {}).get("reminders") or {}
    default = ReminderPlan()
    last_call = raw.get("last_call_days", default.last_call_days)
    return ReminderPlan(
        invitation=bool(raw.get("invitation", default.invitation)),
        reminder_days=tuple(
            int(d) for d in raw.get("reminder_days", default.reminder_days)
        ),
        last_call_days=None if last_call is None else int(last_call),
    )


def quiet_from_settings(settings: dict[str, Any] | None) -> QuietHours:
    """Read ``Study.settings["quiet_hours"]`` (``["21:00", "08:00"]`` by default)."""
    start, end = (settings or {}).get("quiet_hours") or DEFAULT_QUIET
    return QuietHours(time.fromisoformat(start), time.fromisoformat(end))


def _to_utc(local: datetime) -> datetime:
    # Converting a wall-clock time that does not exist (spring forward) lands
    # on the instant zoneinfo maps it to, i.e. one hour later on the clock.
    return local.astimezone(UTC)


def shift_days(instant: datetime, days: int, tz: str) -> datetime:
    """Add whole local days: the same wall-clock time, even across a DST change."""
    local = instant.astimezone(ZoneInfo(tz))
    return _to_utc(local + timedelta(days=days))


def out_of_quiet(instant: datetime, tz: str, quiet: QuietHours) -> datetime:
    """Move ``instant`` to the end of the quiet period if it falls inside it."""
    zone = ZoneInfo(tz)
    local = instant.astimezone(zone)
    if not quiet.contains(local.time()):
        return instant
    day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        day += timedelta(days=1)  # the quiet period runs on past midnight
    return _to_utc(datetime.combine(day, quiet.end, tzinfo=zone))


def message_times(
    opens_at: datetime,
    closes_at: datetime,
    tz: str,
    plan: ReminderPlan,
    quiet: QuietHours,
) -> list[tuple[str, datetime]]:
    """Return ``(kind, due_at)`` for each message of one window, in time order.

    Messages that would fall at or after closing, or that quiet hours push
    past a later message, are dropped: a reminder that would arrive after the
    last call has nothing left to say.
    """
    wanted: list[tuple[str, datetime]] = []
    if plan.invitation:
        wanted.append((INVITATION, opens_at))
    for n, days in enumerate(sorted(plan.reminder_days), start=1):
        kind = REMINDER if n == 1 else f"{REMINDER}_{n}"
        wanted.append((kind, shift_days(opens_at, days, tz)))
    last_call: datetime | None = None
    if plan.last_call_days is not None:
        last_call = out_of_quiet(
            shift_days(closes_at, -plan.last_call_days, tz), tz, quiet
        )
    result: list[tuple[str, datetime]] = []
    latest = opens_at - timedelta(microseconds=1)
    for kind, at in wanted:
        at = out_of_quiet(max(at, opens_at), tz, quiet)
        if at >= closes_at or at <= latest:
            continue
        if last_call is not None and at >= last_call and kind != INVITATION:
            continue
        result.append((kind, at))
        latest = at
    if last_call is not None and latest < last_call < closes_at:
        result.append((LAST_CALL, last_call))
    return result


def is_planned(kind: str) -> bool:
    """Whether an outbox kind is a message of the reminder plan."""
    # The plan's reminders are "reminder", "reminder_2", ...; a staff
    # reminder ("reminder_s1") is not.
    number = kind.removeprefix(f"{REMINDER}_")
    return kind in (INVITATION, REMINDER, LAST_CALL) or (
        number != kind and number.isdigit()
    )


def template_kind(kind: str) -> str:
    """The message template of an outbox kind ("reminder_2" is a reminder)."""
    if kind.startswith(REMINDER):
        return REMINDER
    if kind.startswith(NEW_LINK):
        return NEW_LINK
    return kind


def backoff(attempts: int, *, base_minutes: int = 5, cap_hours: int = 6) -> timedelta:
    """Delay before retry number ``attempts`` (1, 2, ...): doubling, capped."""
    minutes = base_minutes * 2 ** max(attempts - 1, 0)
    return min(timedelta(minutes=minutes), timedelta(hours=cap_hours))


def local_day_end(closes_at: datetime, tz: str) -> datetime:
    """The last local instant of a window, for showing its last day."""
    return (closes_at - timedelta(microseconds=1)).astimezone(ZoneInfo(tz))
