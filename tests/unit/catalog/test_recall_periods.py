"""Each item's recall period: its own, else its section's, else the instrument's."""

from __future__ import annotations

from pathlib import Path

import pytest

from pro_app.catalog import load_catalog

INSTRUMENTS = Path(__file__).parents[3] / "instruments"
SECTION = "[sections.recent]\n"


def _recalls(demo) -> dict[str, str | None]:
    return {i.id: i.recall_period for i in demo.load().get("demo").items}


def test_items_take_the_instrument_recall_period_by_default(demo):
    assert _recalls(demo) == {"q1": "P7D", "q2": "P7D", "q3": "P7D"}


def test_a_section_recall_period_applies_to_its_items_only(demo):
    demo.edit("instrument.toml", SECTION, SECTION + 'recall_period = "P4W"\n')
    assert _recalls(demo) == {"q1": "P4W", "q2": "P4W", "q3": "P7D"}


def test_none_means_no_recall_period_where_the_instrument_has_one(demo):
    demo.edit("instrument.toml", SECTION, SECTION + 'recall_period = "none"\n')
    assert _recalls(demo) == {"q1": None, "q2": None, "q3": "P7D"}


def test_an_item_recall_period_overrides_its_section(demo):
    demo.edit("instrument.toml", SECTION, SECTION + 'recall_period = "P4W"\n')
    demo.edit(
        "instrument.toml",
        'id = "q2"\nresponse_set = "agree"\nsection = "recent"\n',
        'id = "q2"\nresponse_set = "agree"\nsection = "recent"\n'
        'recall_period = "none"\n',
    )
    demo.edit(
        "instrument.toml",
        'id = "q3"\nresponse_set = "pain"\n',
        'id = "q3"\nresponse_set = "pain"\nrecall_period = "PT24H"\n',
    )
    assert _recalls(demo) == {"q1": "P4W", "q2": None, "q3": "PT24H"}


def test_without_an_instrument_recall_items_have_none(demo):
    demo.edit("instrument.toml", 'recall_period = "P7D"\n', "")
    assert _recalls(demo) == {"q1": None, "q2": None, "q3": None}


@pytest.mark.parametrize("value", ['"7 days"', '"P"', '""', '"None"', "7"])
def test_a_bad_section_recall_period_stops_the_load(demo, value):
    demo.edit("instrument.toml", SECTION, SECTION + f"recall_period = {value}\n")
    error = demo.error()
    assert error.path == demo.dir / "instrument.toml"
    assert error.key == "sections.recent.recall_period"


def test_a_bad_item_recall_period_names_the_item(demo):
    demo.edit(
        "instrument.toml",
        'id = "q3"\nresponse_set = "pain"\n',
        'id = "q3"\nresponse_set = "pain"\nrecall_period = "weekly"\n',
    )
    error = demo.error()
    assert error.key == "items.q3.recall_period"
    assert "'weekly' is not a valid recall period" in error.reason


def test_an_unknown_section_key_is_still_refused(demo):
    demo.edit("instrument.toml", SECTION, SECTION + 'recall = "P4W"\n')
    error = demo.error()
    assert error.key == "sections.recent.recall"
    assert "did you mean 'recall_period'" in error.reason


# From each form's own wording (text.en.toml): RAND-36 "Does your health now limit
# you" (3-12) and "How TRUE or FALSE" (33-36) have none, nor items 1 and 2; the
# 4-week sections and items say "during the past 4 weeks". PROMIS-29 physical
# function and social roles items are printed without "In the past 7 days";
# PROMIS Global Health items asking "In general" (and Global06) have none.
SHIPPED = {
    "rand36": {str(n): None if n <= 12 or n >= 33 else "P4W" for n in range(1, 37)},
    "promis_global": {"Global10r": "P7D", "Global08r": "P7D", "Global07r": "P7D"},
}


def test_shipped_instruments_state_each_items_recall_period():
    catalog = load_catalog(INSTRUMENTS)
    rand = {i.id: i.recall_period for i in catalog.get("rand36", "1.0").items}
    assert rand == SHIPPED["rand36"]
    for item in catalog.get("promis29", "2.1").items:
        none = item.id.startswith(("PFA", "SRPPER"))
        assert item.recall_period == (None if none else "P7D"), item.id
    for item in catalog.get("promis_global", "1.2").items:
        assert item.recall_period == SHIPPED["promis_global"].get(item.id), item.id


def test_section_wording_agrees_with_the_recall_period():
    """A section stem that names a time frame carries it; one that does not, none."""
    catalog = load_catalog(INSTRUMENTS)
    frames = {"past 4 weeks": "P4W", "past 7 days": "P7D"}
    for instrument in catalog.instruments:
        text = instrument.text("en")
        for item in instrument.items:
            stem = (text.section_text_for_item(item.id) or "").lower()
            wording = f"{stem} {text.item_text(item.id).lower()}"
            named = {p for frame, p in frames.items() if frame in wording}
            expected = named.pop() if named else None
            assert item.recall_period == expected, (instrument.id, item.id)
