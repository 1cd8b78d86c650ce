"""The time estimate told to participants: optional, whole minutes, checked at load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pro_app.catalog import load_catalog

INSTRUMENTS = Path(__file__).parents[3] / "instruments"
RECALL = 'recall_period = "P7D"\n'


def test_an_instrument_without_an_estimate_loads_with_none(demo):
    assert demo.load().get("demo").estimated_minutes is None


def test_an_estimate_is_read_as_whole_minutes(demo):
    demo.edit("instrument.toml", RECALL, RECALL + "estimated_minutes = 4\n")
    assert demo.load().get("demo").estimated_minutes == 4


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ('"5"', "must be an integer, not a string"),
        ("5.5", "must be an integer, not float"),
        ("true", "must be an integer, not bool"),
        ("0", "must be from 1 to 120 minutes"),
        ("-3", "must be from 1 to 120 minutes"),
        ("121", "must be from 1 to 120 minutes"),
    ],
)
def test_a_bad_estimate_stops_the_load_naming_file_and_key(demo, value, reason):
    demo.edit("instrument.toml", RECALL, RECALL + f"estimated_minutes = {value}\n")
    error = demo.error()
    assert error.path == demo.dir / "instrument.toml"
    assert error.key == "estimated_minutes"
    assert reason in error.reason


def test_a_misspelt_estimate_is_an_unknown_key(demo):
    demo.edit("instrument.toml", RECALL, RECALL + "estimated_minute = 4\n")
    error = demo.error()
    assert error.key == "estimated_minute"
    assert "did you mean 'estimated_minutes'?" in error.reason


# Each shipped estimate, and the source or computation written beside it.
SHIPPED = {
    "rand36": (10, "datashare.nida.nih.gov"),
    "promis29": (6, "29 items / 5 a\n# minute = 5.8, rounded up to 6"),
    "promis_global": (2, "10 items / 5 a\n# minute = 2"),
}


@pytest.mark.parametrize("instrument_id", sorted(SHIPPED))
def test_every_shipped_instrument_has_a_stated_estimate(instrument_id):
    minutes, note = SHIPPED[instrument_id]
    instrument = load_catalog(INSTRUMENTS).get(instrument_id)
    assert instrument.estimated_minutes == minutes
    source = (
        INSTRUMENTS / instrument_id / instrument.version / "instrument.toml"
    ).read_text(encoding="utf-8")
    comment = re.search(r"((?:^#.*\n)+)estimated_minutes = ", source, re.MULTILINE)
    assert comment, f"{instrument_id}: no comment above estimated_minutes"
    assert note in comment.group(1)
    if instrument_id != "rand36":
        # Computed from PROMIS's stated rate of about 5 questions a minute.
        assert "5 questions per minute" in comment.group(1)
        assert minutes == -(-len(instrument.items) // 5)
