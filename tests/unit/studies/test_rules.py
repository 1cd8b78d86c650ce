from datetime import UTC, date, datetime, timedelta

import pytest

from pro_app.studies.rules import (
    AssignmentStatus as S,
)
from pro_app.studies.rules import (
    effective_status,
    is_answerable,
    local_midnight,
    window_for,
)

OPENS = datetime(2026, 3, 1, tzinfo=UTC)
CLOSES = datetime(2026, 3, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("stored", "now", "expected"),
    [
        (S.SCHEDULED, OPENS - timedelta(seconds=1), S.SCHEDULED),
        (S.SCHEDULED, OPENS, S.OPEN),
        (S.SCHEDULED, CLOSES - timedelta(seconds=1), S.OPEN),
        (S.SCHEDULED, CLOSES, S.MISSED),
        (S.IN_PROGRESS, OPENS + timedelta(days=1), S.IN_PROGRESS),
        (S.IN_PROGRESS, CLOSES, S.MISSED),
        (S.COMPLETED, CLOSES + timedelta(days=9), S.COMPLETED),
        (S.NOT_DONE, OPENS, S.NOT_DONE),
    ],
)
def test_effective_status(stored, now, expected):
    assert effective_status(stored, OPENS, CLOSES, now) is expected


def test_only_open_and_in_progress_are_answerable():
    assert {s for s in S if is_answerable(s)} == {S.OPEN, S.IN_PROGRESS}


def test_window_is_local_midnight_to_midnight():
    w = window_for(date(2026, 1, 10), 28, 3, 2, "Asia/Jerusalem")
    assert w.target_date == date(2026, 2, 7)
    # Israel is UTC+2 in winter: local midnight is 22:00 UTC the day before.
    assert w.opens_at == datetime(2026, 2, 3, 22, tzinfo=UTC)
    assert w.due_at == datetime(2026, 2, 7, 22, tzinfo=UTC)
    assert w.closes_at == datetime(2026, 2, 9, 22, tzinfo=UTC)


def test_window_across_a_daylight_saving_change():
    # New York springs forward on 2026-03-08: the window is 7 local days long
    # but 167 real hours.
    w = window_for(date(2026, 3, 4), 0, 0, 6, "America/New_York")
    assert w.opens_at == datetime(2026, 3, 4, 5, tzinfo=UTC)
    assert w.closes_at == datetime(2026, 3, 11, 4, tzinfo=UTC)
    assert w.closes_at - w.opens_at == timedelta(hours=167)


def test_local_midnight_is_aware_utc():
    instant = local_midnight(date(2026, 7, 1), "Europe/London")
    assert instant == datetime(2026, 6, 30, 23, tzinfo=UTC)
    assert instant.tzinfo is UTC
