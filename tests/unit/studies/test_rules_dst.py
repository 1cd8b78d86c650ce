"""Windows across daylight-saving changes and time-zone moves (issue 4)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pro_app.studies.rules import (
    AssignmentStatus,
    effective_status,
    local_instant,
    parse_clock,
    window_for,
)


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


@pytest.mark.parametrize(
    ("tz", "day", "opens", "closes", "length"),
    [
        # Israel springs forward on Friday 2026-03-27 at 02:00 (UTC+2 -> +3).
        ("Asia/Jerusalem", date(2026, 3, 27),
         datetime(2026, 3, 24, 22, tzinfo=UTC), datetime(2026, 3, 29, 21, tzinfo=UTC),
         119),
        # ...and falls back on Sunday 2026-10-25 at 02:00 (UTC+3 -> +2).
        ("Asia/Jerusalem", date(2026, 10, 25),
         datetime(2026, 10, 22, 21, tzinfo=UTC), datetime(2026, 10, 27, 22, tzinfo=UTC),
         121),
        # New York: 2026-03-08 (UTC-5 -> -4) and 2026-11-01 (UTC-4 -> -5).
        ("America/New_York", date(2026, 3, 8),
         datetime(2026, 3, 6, 5, tzinfo=UTC), datetime(2026, 3, 11, 4, tzinfo=UTC),
         119),
        ("America/New_York", date(2026, 11, 1),
         datetime(2026, 10, 30, 4, tzinfo=UTC), datetime(2026, 11, 4, 5, tzinfo=UTC),
         121),
        # London: 2026-03-29 (UTC+0 -> +1) and 2026-10-25 (UTC+1 -> +0).
        ("Europe/London", date(2026, 3, 29),
         datetime(2026, 3, 27, 0, tzinfo=UTC), datetime(2026, 3, 31, 23, tzinfo=UTC),
         119),
        ("Europe/London", date(2026, 10, 25),
         datetime(2026, 10, 22, 23, tzinfo=UTC), datetime(2026, 10, 28, 0, tzinfo=UTC),
         121),
    ],
)  # fmt: skip
def test_window_spanning_a_dst_change_is_whole_local_days(
    tz, day, opens, closes, length
):
    w = window_for(day, 0, 2, 2, tz)
    assert (w.opens_at, w.closes_at) == (opens, closes)
    assert hours(w.closes_at - w.opens_at) == length
    zone = ZoneInfo(tz)
    # Every boundary is a local midnight, whatever the offset that day.
    for instant in (w.opens_at, w.due_at, w.closes_at):
        assert instant.astimezone(zone).time() == time(0)
        assert instant.tzinfo is UTC


@pytest.mark.parametrize(
    ("tz", "day", "hours_long"),
    [
        ("Asia/Jerusalem", date(2026, 3, 27), 23),
        ("Asia/Jerusalem", date(2026, 10, 25), 25),
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
        ("Europe/London", date(2026, 3, 29), 23),
        ("Europe/London", date(2026, 10, 25), 25),
    ],
)
def test_a_one_day_window_on_the_change_day(tz, day, hours_long):
    w = window_for(day, 0, 0, 0, tz)
    assert hours(w.closes_at - w.opens_at) == hours_long
    assert w.due_at == w.closes_at


def test_window_opening_time_setting():
    w = window_for(date(2026, 1, 10), 0, 1, 0, "Asia/Jerusalem", time(8, 0))
    assert w.opens_at == datetime(2026, 1, 9, 6, tzinfo=UTC)  # 08:00 at UTC+2
    # Only the opening moves; due and close stay at local midnight.
    assert w.due_at == datetime(2026, 1, 10, 22, tzinfo=UTC)


def test_the_old_signature_still_opens_at_midnight():
    assert window_for(date(2026, 5, 1), 0, 0, 0, "UTC").opens_at == datetime(
        2026, 5, 1, tzinfo=UTC
    )


def test_an_opening_time_skipped_by_spring_forward_moves_forward():
    # London has no 01:30 on 2026-03-29: the window opens at 02:30 BST (01:30 UTC).
    instant = local_instant(date(2026, 3, 29), time(1, 30), "Europe/London")
    assert instant == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert instant.astimezone(ZoneInfo("Europe/London")).hour == 2


def test_a_repeated_opening_time_takes_its_first_occurrence():
    # New York has 01:30 twice on 2026-11-01; the first is 05:30 UTC (EDT).
    instant = local_instant(date(2026, 11, 1), time(1, 30), "America/New_York")
    assert instant == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_a_participant_who_changes_time_zone():
    # Same schedule, re-planned for a move from New York to Jerusalem. Between
    # the US change (8 March) and the Israeli one (27 March) they are 6 hours
    # apart; before and after, 7.
    day0 = date(2026, 1, 5)
    for offset, gap in ((0, 7), (70, 6), (98, 7)):
        ny = window_for(day0, offset, 3, 3, "America/New_York")
        il = window_for(day0, offset, 3, 3, "Asia/Jerusalem")
        assert ny.target_date == il.target_date
        assert hours(ny.opens_at - il.opens_at) == gap
        assert hours(ny.closes_at - il.closes_at) == gap


def test_cancelled_is_final():
    opens = datetime(2026, 3, 1, tzinfo=UTC)
    closes = opens + timedelta(days=7)
    for now in (opens - timedelta(days=1), opens, closes):
        assert (
            effective_status(AssignmentStatus.CANCELLED, opens, closes, now)
            is AssignmentStatus.CANCELLED
        )


@pytest.mark.parametrize(
    ("text", "expected"), [(None, time(0)), ("00:00", time(0)), ("08:30", time(8, 30))]
)
def test_parse_clock(text, expected):
    assert parse_clock(text) == expected


ZONES = ("Asia/Jerusalem", "America/New_York", "Europe/London", "Pacific/Auckland")


@given(
    day0=st.dates(date(2020, 1, 1), date(2035, 12, 31)),
    offset=st.integers(-30, 400),
    before=st.integers(0, 30),
    after=st.integers(0, 30),
    tz=st.sampled_from(ZONES),
)
def test_windows_are_whole_local_days_in_any_zone(day0, offset, before, after, tz):
    w = window_for(day0, offset, before, after, tz)
    zone = ZoneInfo(tz)
    assert w.opens_at < w.due_at <= w.closes_at
    assert w.opens_at.astimezone(zone).date() == w.target_date - timedelta(days=before)
    assert w.closes_at.astimezone(zone).date() == w.target_date + timedelta(
        days=after + 1
    )
    for instant in (w.opens_at, w.due_at, w.closes_at):
        assert instant.astimezone(zone).time() == time(0)
