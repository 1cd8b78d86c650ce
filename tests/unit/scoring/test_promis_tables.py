"""The PROMIS raw-score-to-T tables in the instrument files, checked row by row.

Pure: reads instruments/*.toml and the second transcription in data/promis_tables.csv
(sources in data/promis_tables_sources.md); no app, no scorer.
"""

from __future__ import annotations

import csv
import itertools
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).parents[3]
DATA = Path(__file__).parent / "data"
INSTRUMENTS = {
    ("promis29", "2.1"): REPO / "instruments" / "promis29" / "2.1" / "instrument.toml",
    ("promis_global", "1.2"): REPO
    / "instruments"
    / "promis_global"
    / "1.2"
    / "instrument.toml",
}

# Every scale that has a table, and what a higher raw sum means. In every PROMIS table
# a higher T is "more of the concept": more of the symptom, or better function.
DIRECTION = {
    ("promis29", "physical_function"): "better function",
    ("promis29", "anxiety"): "more symptoms",
    ("promis29", "depression"): "more symptoms",
    ("promis29", "fatigue"): "more symptoms",
    ("promis29", "sleep_disturbance"): "more symptoms",
    ("promis29", "social_roles"): "better function",
    ("promis29", "pain_interference"): "more symptoms",
    ("promis_global", "global_physical_health"): "better health",
    ("promis_global", "global_mental_health"): "better health",
}

# Cells for which no independent source agrees with the instrument file: either no
# source gives the value, or every source that gives it disagrees (then the cell is
# also in KNOWN_DISAGREEMENTS). Fixing or sourcing a cell makes
# test_unverified_cells_are_the_known_ones fail until the entry here is removed.
UNVERIFIED = {
    ("promis29", "physical_function", 13, "se"),
}

# Every value in the CSV that differs from the instrument file:
# (instrument, scale, raw, column, source) -> (instrument file, source). The
# judgement on each is in data/promis_tables_sources.md ("Disagreements").
KNOWN_DISAGREEMENTS = {
    ("promis_global", "global_mental_health", 4, "t", "hays_2009_gmh"): (
        "21.2",
        "21.1",
    ),
    ("promis29", "physical_function", 13, "se", "prolix_scoring_config"): (
        "2.3",
        "2.4",
    ),
}

# Scale keys that only drive charts and change flags (instruments/README.md).
PRESENTATION_KEYS = {"higher_is", "chart"}

PAIN_RECODE = {
    "0": 5, "1": 4, "2": 4, "3": 4, "4": 3, "5": 3, "6": 3,
    "7": 2, "8": 2, "9": 2, "10": 1,
}  # fmt: skip


def _load(key):
    with INSTRUMENTS[key].open("rb") as fh:
        return tomllib.load(fh)


DOCS = {key: _load(key) for key in INSTRUMENTS}


def _scale(instrument, scale_id):
    key = next(k for k in DOCS if k[0] == instrument)
    return next(s for s in DOCS[key]["scales"] if s["id"] == scale_id)


def _item_codes(instrument, item_id, recode=None):
    key = next(k for k in DOCS if k[0] == instrument)
    doc = DOCS[key]
    item = next(i for i in doc["items"] if i["id"] == item_id)
    codes = doc["response_sets"][item["response_set"]]["codes"]
    if recode and item_id in recode:
        return [recode[item_id][str(code)] for code in codes]
    return codes


def _raw_range(instrument, scale):
    recode = scale.get("recode")
    lows, highs = [], []
    for item_id in scale["items"]:
        codes = _item_codes(instrument, item_id, recode)
        lows.append(min(codes))
        highs.append(max(codes))
    return sum(lows), sum(highs)


def _second_transcription():
    """The CSV as {(instrument, version, scale, raw, column): {source: value}}."""
    cells = {}
    with (DATA / "promis_tables.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            assert row["column"] in ("t", "se"), row
            assert row["source"].strip(), f"{row}: no source named"
            assert row["value"].strip(), f"{row}: no value"
            key = (
                row["instrument"],
                row["version"],
                row["scale"],
                int(row["raw"]),
                row["column"],
            )
            by_source = cells.setdefault(key, {})
            assert row["source"] not in by_source, f"duplicate row {key} {row}"
            by_source[row["source"]] = row["value"]
    return cells


SECOND = _second_transcription()
TABLE_SCALES = sorted(DIRECTION)
SOURCES_MD = (DATA / "promis_tables_sources.md").read_text(encoding="utf-8")


def _table(instrument, scale_id):
    return [tuple(row) for row in _scale(instrument, scale_id)["table"]]


def _one_decimal(value):
    """The value as printed with one decimal; fails on more precision than that."""
    d = Decimal(str(value))
    assert d == d.quantize(Decimal("0.1")), f"{value} has more than one decimal"
    return d.quantize(Decimal("0.1"))


def test_every_sum_to_t_scale_has_a_cited_table():
    found = set()
    for (instrument, _), doc in DOCS.items():
        for scale in doc["scales"]:
            if scale["method"] == "sum_to_t":
                found.add((instrument, scale["id"]))
                assert scale["table"], scale["id"]
                source = scale["table_source"]
                assert source.startswith("HealthMeasures"), scale["id"]
                assert "transcribed from https://github.com/" in source, scale["id"]
    assert found == set(DIRECTION)


@pytest.mark.parametrize(("instrument", "scale_id"), TABLE_SCALES)
def test_table_covers_every_raw_sum_once(instrument, scale_id):
    scale = _scale(instrument, scale_id)
    low, high = _raw_range(instrument, scale)
    assert (low, high) == (4, 20)
    rows = _table(instrument, scale_id)
    assert all(len(row) == 3 for row in rows)
    assert [row[0] for row in rows] == list(range(low, high + 1))
    assert all(isinstance(row[0], int) for row in rows)


@pytest.mark.parametrize(("instrument", "scale_id"), TABLE_SCALES)
def test_t_rises_with_the_raw_sum(instrument, scale_id):
    # Symptom domains: a higher raw sum is more symptoms and a higher (worse) T.
    # Function and global health: a higher raw sum is better, and so is a higher T.
    assert DIRECTION[instrument, scale_id]
    ts = [row[1] for row in _table(instrument, scale_id)]
    assert all(a < b for a, b in itertools.pairwise(ts)), ts
    assert all(10 <= t <= 90 for t in ts)


@pytest.mark.parametrize(("instrument", "scale_id"), TABLE_SCALES)
def test_standard_errors_are_plausible(instrument, scale_id):
    ses = [row[2] for row in _table(instrument, scale_id)]
    assert all(1 <= se <= 10 for se in ses), ses


def _cells():
    """(instrument, version, scale, raw, column) -> value, from the instrument files."""
    cells = {}
    for (instrument, version), doc in DOCS.items():
        for scale in doc["scales"]:
            if scale["method"] == "sum_to_t":
                for raw, t, se in scale["table"]:
                    cells[instrument, version, scale["id"], raw, "t"] = t
                    cells[instrument, version, scale["id"], raw, "se"] = se
    return cells


CELLS = _cells()


@pytest.mark.parametrize(("instrument", "scale_id"), TABLE_SCALES)
def test_every_row_matches_the_second_transcription(instrument, scale_id):
    mismatches = {}
    for key, by_source in SECOND.items():
        inst, _, scale, raw, column = key
        if (inst, scale) != (instrument, scale_id):
            continue
        ours = _one_decimal(CELLS[key])
        for source, theirs in by_source.items():
            if ours != _one_decimal(theirs):
                mismatches[inst, scale, raw, column, source] = (str(ours), theirs)
    expected = {
        key: value
        for key, value in KNOWN_DISAGREEMENTS.items()
        if key[:2] == (instrument, scale_id)
    }
    assert mismatches == expected


def test_the_second_transcription_has_no_extra_rows():
    assert set(SECOND) <= set(CELLS)


def test_unverified_cells_are_the_known_ones():
    unverified = set()
    for key, value in CELLS.items():
        agreeing = [
            source
            for source, theirs in SECOND.get(key, {}).items()
            if _one_decimal(theirs) == _one_decimal(value)
        ]
        if not agreeing:
            unverified.add((key[0], key[2], key[3], key[4]))
    assert unverified == UNVERIFIED


def test_every_cell_has_two_sources_for_t_and_one_for_se():
    # Where the cells stand today (the two UNVERIFIED SE cells have one disagreeing
    # source each): each T has at least two independent sources, each SE at least one.
    for key in CELLS:
        sources = SECOND.get(key, {})
        assert len(sources) >= (2 if key[4] == "t" else 1), (key, sources)


def test_every_source_key_is_documented():
    keys = {source for by_source in SECOND.values() for source in by_source}
    for key in keys:
        assert f"| `{key}` |" in SOURCES_MD, key


def test_promis29_missing_item_rules():
    for scale_id in (s for i, s in DIRECTION if i == "promis29"):
        scale = _scale("promis29", scale_id)
        assert len(scale["items"]) == 4
        assert scale["min_answered"] == 2  # at least half of the 4 items
        assert scale["prorate"] is True
        assert "recode" not in scale  # the printed codes are the scoring values


def test_global_health_missing_item_rules():
    for scale_id in ("global_physical_health", "global_mental_health"):
        scale = _scale("promis_global", scale_id)
        assert len(scale["items"]) == 4
        assert scale["min_answered"] == 4  # all four: no proration
        assert scale["prorate"] is False


def test_global_physical_health_pain_recode():
    scale = _scale("promis_global", "global_physical_health")
    assert scale["items"] == ["Global03", "Global06", "Global07r", "Global08r"]
    assert scale["recode"] == {"Global07r": PAIN_RECODE}
    assert set(PAIN_RECODE) == {
        str(c) for c in _item_codes("promis_global", "Global07r")
    }
    mental = _scale("promis_global", "global_mental_health")
    assert mental["items"] == ["Global02", "Global04", "Global05", "Global10r"]
    assert "recode" not in mental


@pytest.mark.parametrize(
    ("instrument", "scale_id", "item"),
    [
        ("promis29", "pain_intensity", "Global07"),
        ("promis_global", "global01", "Global01"),
        ("promis_global", "global09r", "Global09r"),
    ],
)
def test_single_items(instrument, scale_id, item):
    scale = _scale(instrument, scale_id)
    assert scale["method"] == "single_item"
    assert scale["items"] == [item]
    # No recode, no table; higher_is and chart are presentation, not scoring.
    assert set(scale) - PRESENTATION_KEYS == {"id", "name", "method", "items"}


@pytest.mark.parametrize(("instrument", "scale_id"), TABLE_SCALES)
def test_higher_is_agrees_with_the_table_direction(instrument, scale_id):
    # More symptoms is worse; better function or health is better.
    expected = (
        "worse" if DIRECTION[instrument, scale_id] == "more symptoms" else "better"
    )
    assert _scale(instrument, scale_id).get("higher_is") == expected
