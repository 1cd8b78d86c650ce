from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pro_app.notify import rules
from pro_app.studies.rules import window_for

QUIET = rules.QuietHours(time(21), time(8))
PLAN = rules.ReminderPlan()
ZONES = ("Asia/Jerusalem", "America/New_York", "Europe/London")

# Days on which the clocks change in 2026.
DST_DAYS = {
    "Asia/Jerusalem": (date(2026, 3, 27), date(2026, 10, 25)),
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
    "Europe/London": (date(2026, 3, 29), date(2026, 10, 25)),
}


def local(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz))


def times_for(tz: str, target: date, before: int = 0, after: int = 6):
    window = window_for(target, 0, before, after, tz)
    return window, dict(
        rules.message_times(window.opens_at, window.closes_at, tz, PLAN, QUIET)
    )


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("shift", range(-4, 5))
@pytest.mark.parametrize("which", [0, 1])
def test_messages_keep_local_times_through_dst_weeks(tz, shift, which):
    target = DST_DAYS[tz][which] + timedelta(days=shift)
    window, times = times_for(tz, target)
    assert set(times) == {"invitation", "reminder", "last_call"}
    invitation = local(times["invitation"], tz)
    assert (invitation.date(), invitation.time()) == (target, time(8))
    reminder = local(times["reminder"], tz)
    assert (reminder.date(), reminder.time()) == (target + timedelta(3), time(8))
    last_call = local(times["last_call"], tz)
    assert (last_call.date(), last_call.time()) == (target + timedelta(6), time(8))
    assert window.opens_at <= times["invitation"] < times["reminder"]
    assert times["reminder"] < times["last_call"] < window.closes_at


def test_short_window_has_no_reminder_after_the_last_call():
    _, times = times_for("Europe/London", date(2026, 5, 4), after=2)
    assert list(times) == ["invitation", "last_call"]
    _, times = times_for("Europe/London", date(2026, 5, 4), after=0)
    assert list(times) == ["invitation"]


def test_plan_and_quiet_hours_from_study_settings():
    settings = {
        "reminders": {"reminder_days": [1, 2], "last_call_days": None},
        "quiet_hours": ["22:00", "07:30"],
    }
    plan = rules.plan_from_settings(settings)
    quiet = rules.quiet_from_settings(settings)
    assert plan == rules.ReminderPlan(True, (1, 2), None)
    window = window_for(date(2026, 6, 1), 0, 0, 6, "America/New_York")
    times = rules.message_times(
        window.opens_at, window.closes_at, "America/New_York", plan, quiet
    )
    assert [k for k, _ in times] == ["invitation", "reminder", "reminder_2"]
    assert local(times[0][1], "America/New_York").time() == time(7, 30)
    assert rules.plan_from_settings({}) == rules.ReminderPlan()
    assert rules.quiet_from_settings(None) == QUIET


@pytest.mark.parametrize(
    ("clock", "expected_day", "expected_time"),
    [
        ("20:59", 0, time(20, 59)),
        ("21:00", 1, time(8)),
        ("23:59", 1, time(8)),
        ("00:00", 0, time(8)),
        ("07:59", 0, time(8)),
        ("08:00", 0, time(8)),
        ("12:00", 0, time(12)),
    ],
)
def test_out_of_quiet_spanning_midnight(clock, expected_day, expected_time):
    tz = "Asia/Jerusalem"
    at = datetime.combine(
        date(2026, 3, 26), time.fromisoformat(clock), tzinfo=ZoneInfo(tz)
    ).astimezone(UTC)
    moved = local(rules.out_of_quiet(at, tz, QUIET), tz)
    assert moved.date() == date(2026, 3, 26) + timedelta(expected_day)
    assert moved.time() == expected_time


def test_out_of_quiet_within_a_day_and_disabled():
    lunch = rules.QuietHours(time(12), time(13))
    at = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)
    assert rules.out_of_quiet(at, "UTC", lunch) == datetime(2026, 7, 1, 13, tzinfo=UTC)
    off = rules.QuietHours(time(8), time(8))
    assert rules.out_of_quiet(at, "UTC", off) == at


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
    st.sampled_from(ZONES),
)
def test_out_of_quiet_never_lands_in_quiet_hours(at, tz):
    moved = rules.out_of_quiet(at, tz, QUIET)
    assert at <= moved < at + timedelta(hours=13)
    assert not QUIET.contains(local(moved, tz).time())


def test_backoff_doubles_then_caps():
    assert [rules.backoff(n) for n in (1, 2, 3)] == [
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=20),
    ]
    assert rules.backoff(20) == timedelta(hours=6)


def test_last_day_is_local():
    closes = datetime(2026, 3, 9, 4, tzinfo=UTC)  # midnight in New York
    assert rules.local_day_end(closes, "America/New_York").date() == date(2026, 3, 8)
