"""PROMIS-29 4a tables recomputed from the item banks' IRT parameters.

A check of a different kind from the transcriptions in data/promis_tables.csv: the
published summed-score tables are expected a posteriori (EAP) estimates under the
graded response model (Lord-Wingersky recursion, standard normal prior), so the item
parameters of a short form determine every T and SE of its table. Parameters in
data/promis_item_params.csv (sources in data/promis_item_params_sources.md).

The quadrature (181 points on -4.5..4.5) is the one that reproduces the published
tables; the manuals do not state it. Pure Python: no app, no scorer, no numpy.
"""

from __future__ import annotations

import csv
import math
import tomllib
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).parents[3]
DATA = Path(__file__).parent / "data"
PROMIS29 = REPO / "instruments" / "promis29" / "2.1" / "instrument.toml"
THETA = [-4.5 + 0.05 * i for i in range(181)]
TABLES = ("anxiety", "depression", "fatigue", "pain_interference")

# Recomputed values that differ from the instrument file:
# (scale, raw, column) -> (instrument file, recomputed). None since the depression
# raw 20 SE was corrected (2.6 -> 3.6; data/promis_tables_sources.md).
DISAGREEMENTS: dict[tuple[str, int, str], tuple[str, str]] = {}

# The published PROMIS Short Form v1.0 Physical Function 4a T-scores, raw 4-20 (the
# table the v2.0 one replaced; DVS-Lab/grant-submissions `pf_t`).
PF_V1_0_T = ("22.9", "26.9", "29.1", "30.7", "32.1", "33.3", "34.4", "35.6",
             "36.7", "37.9", "39.1", "40.4", "41.8", "43.4", "45.3", "48.0",
             "56.9")  # fmt: skip


def _params():
    tables = {}
    with (DATA / "promis_item_params.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            thresholds = [float(row[f"b{k}"]) for k in range(1, 5)]
            assert thresholds == sorted(thresholds), row
            tables.setdefault(row["table"], {})[row["item"]] = (
                float(row["a"]),
                thresholds,
            )
    return tables


PARAMS = _params()


def _category_probabilities(a, thresholds, theta):
    """P(response category 0..4 | theta) under the graded response model."""
    above = [1.0] + [1 / (1 + math.exp(-a * (theta - b))) for b in thresholds] + [0.0]
    return [above[k] - above[k + 1] for k in range(len(above) - 1)]


def _summed_score_table(items):
    """[(raw, T, SE)] for raw = n_items .. 5 * n_items (codes 1-5)."""
    likelihoods = []  # per quadrature point: P(summed score s | theta), s from 0
    for theta in THETA:
        by_sum = [1.0]
        for a, thresholds in items:
            probs = _category_probabilities(a, thresholds, theta)
            new = [0.0] * (len(by_sum) + len(probs) - 1)
            for s, p_s in enumerate(by_sum):
                for k, p_k in enumerate(probs):
                    new[s + k] += p_s * p_k
            by_sum = new
        likelihoods.append(by_sum)
    prior = [math.exp(-theta * theta / 2) for theta in THETA]
    rows = []
    for s in range(len(likelihoods[0])):
        weights = [lk[s] * p for lk, p in zip(likelihoods, prior, strict=True)]
        total = sum(weights)
        mean = sum(w * t for w, t in zip(weights, THETA, strict=True)) / total
        var = sum(w * (t - mean) ** 2 for w, t in zip(weights, THETA, strict=True))
        rows.append((s + len(items), 50 + 10 * mean, 10 * math.sqrt(var / total)))
    return rows


def _one_decimal(value):
    return str(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _instrument_scale(scale_id):
    with PROMIS29.open("rb") as fh:
        doc = tomllib.load(fh)
    return next(s for s in doc["scales"] if s["id"] == scale_id)


@pytest.mark.parametrize("scale_id", TABLES)
def test_parameters_are_for_the_instrument_items(scale_id):
    assert set(PARAMS[scale_id]) == set(_instrument_scale(scale_id)["items"])


@pytest.mark.parametrize("scale_id", TABLES)
def test_table_reproduces_from_item_parameters(scale_id):
    scale = _instrument_scale(scale_id)
    computed = _summed_score_table(list(PARAMS[scale_id].values()))
    assert [raw for raw, _, _ in computed] == [row[0] for row in scale["table"]]
    differences = {}
    for (raw, t, se), (_, our_t, our_se) in zip(computed, scale["table"], strict=True):
        for column, ours, theirs in (("t", our_t, t), ("se", our_se, se)):
            if _one_decimal(ours) != _one_decimal(theirs):
                differences[scale_id, raw, column] = (
                    _one_decimal(ours),
                    _one_decimal(theirs),
                )
    expected = {k: v for k, v in DISAGREEMENTS.items() if k[0] == scale_id}
    assert differences == expected


def test_method_reproduces_the_v1_0_physical_function_table():
    # The v1.0 PF item parameters give the published v1.0 4a table to the decimal,
    # and the instrument file uses the different v2.0 table, as it should.
    computed = _summed_score_table(list(PARAMS["physical_function_v1_0"].values()))
    assert tuple(_one_decimal(t) for _, t, _ in computed) == PF_V1_0_T
    ours = tuple(
        _one_decimal(row[1]) for row in _instrument_scale("physical_function")["table"]
    )
    assert ours[0] == "22.5"
    assert sum(a != b for a, b in zip(ours, PF_V1_0_T, strict=True)) >= 10
