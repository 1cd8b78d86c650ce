"""Every label within one SPSS or Stata file is distinct and within the
format's limit, for every shipped instrument; repeated wording under
different stems is told apart by the stem's own words."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyreadstat
import pytest

from pro_app.catalog import load_catalog
from pro_app.exports import stats
from pro_app.exports.dta import dta_chunks
from pro_app.exports.item_labels import item_labels, stem_qualifiers
from pro_app.exports.layout import ExportFilters, ExportPlan
from pro_app.exports.sav import sav_chunks

CATALOG = load_catalog("instruments")
INSTRUMENTS = sorted(CATALOG.instruments, key=lambda i: (i.id, i.version))
FORMATS = {
    "sav": (256, lambda text: len(text.encode("utf-8")), sav_chunks),
    "dta": (80, len, dta_chunks),
}
WHEN = datetime(2026, 12, 4, 23, 0)


def _plan(instrument) -> ExportPlan:
    return ExportPlan(
        "TEST-1", 1, ExportFilters(), (instrument,), WHEN.replace(tzinfo=UTC)
    )


def _without_number(label: str, instrument) -> str:
    return re.sub(rf"^{re.escape(instrument.short_name)} \S+: ", "", label)


@pytest.mark.parametrize("suffix", sorted(FORMATS))
@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda i: i.id)
def test_every_label_of_a_file_is_distinct_and_fits(instrument, suffix):
    limit, measure, _write = FORMATS[suffix]
    variables = stats.instrument_variables(_plan(instrument), instrument.id, suffix)
    labels = [v.label for v in variables]
    assert all(0 < measure(label) <= limit for label in labels), labels
    assert len(set(labels)) == len(labels)
    # Distinct apart from the item number too (what a reader skims).
    rests = [_without_number(label, instrument) for label in labels]
    repeated = {r for r in rests if rests.count(r) > 1}
    assert not repeated


@pytest.mark.parametrize("suffix", sorted(FORMATS))
@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda i: i.id)
def test_the_file_carries_those_labels_uncut(instrument, suffix, tmp_path):
    _limit, _measure, write = FORMATS[suffix]
    variables = stats.instrument_variables(_plan(instrument), instrument.id, suffix)
    path = tmp_path / f"x.{suffix}"
    path.write_bytes(b"".join(write(variables, iter(()), WHEN)))
    read = pyreadstat.read_sav if suffix == "sav" else pyreadstat.read_dta
    _frame, meta = read(str(path))
    assert meta.column_labels == [v.label for v in variables]
    assert len(set(meta.column_labels)) == len(variables)


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_rand36_physical_and_emotional_items_name_their_cause(suffix):
    limit, measure, _write = FORMATS[suffix]
    labels = item_labels(CATALOG.get("rand36"), limit, measure)
    for item in ("13", "14", "15", "16"):
        assert "physical health" in labels[item], labels[item]
    for item in ("17", "18", "19"):
        assert "emotional problems" in labels[item], labels[item]
    assert labels["13"] != labels["17"]
    # An item whose wording no other section repeats keeps its text alone.
    assert labels["1"] == "RAND-36 1: In general, would you say your health is:"


def test_the_qualifier_is_where_the_stems_differ():
    forms = stem_qualifiers(
        {
            "a": "In the past week, because of your back (lower part), did you:",
            "b": "In the past week, because of your mood, did you:",
        }
    )
    assert forms["a"] == [
        "week, because of your back (lower part)",
        "week, because of your back",
        "back",
    ]
    assert forms["b"] == ["week, because of your mood", "mood"]


def test_a_cut_that_would_make_two_labels_alike_keeps_both_ends():
    rand36 = CATALOG.get("rand36")
    # At 40 characters items 22 and 32 both begin "During the past 4 weeks,
    # how much ...": cut at the end, they would read the same.
    labels = item_labels(rand36, 40)
    rests = [_without_number(label, rand36) for label in labels.values()]
    assert len(set(rests)) == len(rests)
    assert all(len(label) <= 40 for label in labels.values())
    assert labels["22"].startswith("RAND-36 22: During the")
    assert labels["22"].endswith("housework)?")
    assert labels["32"].endswith("etc.)?")
