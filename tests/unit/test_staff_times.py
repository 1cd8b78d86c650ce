"""How staff pages write a moment: the zone's clock, its label, the month in letters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pro_app.staff.labels import answer_text
from pro_app.staff.times import local_text, utc_text

MOMENT = datetime(2026, 12, 3, 14, 38, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "locale", "expected"),
    [
        ("Asia/Jerusalem", "en", "Dec 3, 2026, 16:38 IST"),
        ("Europe/London", "en", "Dec 3, 2026, 14:38 GMT"),
        ("UTC", "en", "Dec 3, 2026, 14:38 UTC"),
        # A zone without an abbreviation is labelled by its offset.
        ("Asia/Dubai", "en", "Dec 3, 2026, 18:38 UTC+04"),
        ("America/New_York", "es", "3 dic 2026, 09:38 EST"),
        ("Europe/Moscow", "ru", "3 дек. 2026\u202fг., 17:38 MSK"),
    ],
)
def test_local_text_names_its_zone_and_spells_the_month(zone, locale, expected):
    assert local_text(MOMENT, zone, locale, seconds=False) == expected


def test_seconds_and_the_utc_title():
    assert local_text(MOMENT, "UTC", "en", seconds=True).endswith("14:38:05 UTC")
    assert utc_text(MOMENT) == "2026-12-03 14:38 UTC"
    assert utc_text(MOMENT, seconds=True) == "2026-12-03 14:38:05 UTC"


@pytest.mark.parametrize(
    ("code", "label", "expected"),
    [(1, "1", "1"), (0, "No pain", "0 · No pain"), (3, None, "3"), (None, "x", "")],
)
def test_an_answer_prints_its_code_once_when_the_label_is_the_code(
    code, label, expected
):
    assert answer_text(code, label) == expected
