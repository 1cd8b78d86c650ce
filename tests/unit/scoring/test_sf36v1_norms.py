"""SF-36 v1 PCS/MCS norms and coefficients, checked against independent copies.

Every mean, SD and factor score coefficient of the `pcs` and `mcs` scales of
instruments/rand36/1.0/instrument.toml is compared, as a decimal, with each source in
data/sf36v1_norms.csv (sources in data/sf36v1_norms_sources.md). Pure: no scorer.
"""

from __future__ import annotations

import csv
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).parents[3]
DATA = Path(__file__).parent / "data"
RAND36 = REPO / "instruments" / "rand36" / "1.0" / "instrument.toml"
V1 = ("sf36v1_pf", "sf36v1_rp", "sf36v1_bp", "sf36v1_gh",
      "sf36v1_vt", "sf36v1_sf", "sf36v1_re", "sf36v1_mh")  # fmt: skip
COLUMNS = {  # CSV column -> (summary scale, parameter table)
    "mean": ("pcs", "means"),
    "sd": ("pcs", "sds"),
    "pcs_coefficient": ("pcs", "coefficients"),
    "mcs_coefficient": ("mcs", "coefficients"),
}


def _sources():
    sources = {}
    with (DATA / "sf36v1_norms.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            by_scale = sources.setdefault(row["source"], {})
            assert row["scale"] not in by_scale, row
            by_scale[row["scale"]] = {c: Decimal(row[c]) for c in COLUMNS}
    return sources


def _summaries():
    with RAND36.open("rb") as fh:
        doc = tomllib.load(fh)
    return {s["id"]: s for s in doc["scales"] if s["id"] in ("pcs", "mcs")}


SOURCES = _sources()
SUMMARIES = _summaries()


def _ours(scale_id, column):
    summary, table = COLUMNS[column]
    return Decimal(repr(SUMMARIES[summary][table][scale_id]))


def test_two_sources_cover_all_eight_scales():
    assert len(SOURCES) >= 2
    for by_scale in SOURCES.values():
        assert tuple(by_scale) == V1
    text = (DATA / "sf36v1_norms_sources.md").read_text(encoding="utf-8")
    for key in SOURCES:
        assert f"| `{key}` |" in text, key


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_value_matches_the_source(source):
    mismatches = [
        (scale_id, column, str(_ours(scale_id, column)), str(value))
        for scale_id, values in SOURCES[source].items()
        for column, value in values.items()
        if _ours(scale_id, column) != value
    ]
    assert not mismatches


def test_pcs_and_mcs_share_the_norms_and_the_t_metric():
    pcs, mcs = SUMMARIES["pcs"], SUMMARIES["mcs"]
    for summary in (pcs, mcs):
        assert summary["method"] == "norm_composite"
        assert tuple(summary["scales"]) == V1
        assert set(summary["coefficients"]) == set(V1)
        # Both sources: summary = score x 10 + 50.
        assert (summary["constant"], summary["multiplier"]) == (50.0, 10.0)
    assert pcs["means"] == mcs["means"]
    assert pcs["sds"] == mcs["sds"]
    assert pcs["coefficients"] != mcs["coefficients"]


def test_values_have_the_published_five_decimals():
    # The manual prints five decimals; a value with more (or a float slip) would show.
    for summary in SUMMARIES.values():
        for table in ("means", "sds", "coefficients"):
            for value in summary[table].values():
                d = Decimal(repr(value))
                assert d == d.quantize(Decimal("0.00001")), value
