"""The precision rule: scores computed exactly, stored rounded half-up (4 decimals).

The expected values are worked out here from the second transcriptions in
``data/`` with ``fractions`` and rounded with ``decimal``, never by the scorer's
own rounding code.
"""

from __future__ import annotations

import csv
import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pro_app.scoring import METHODS, default_catalog, score_answers
from pro_app.scoring.average import parse as parse_average
from pro_app.scoring.lookup import parse_sum_to_t
from pro_app.scoring.precision import DECIMALS, exact, rounded, stored
from pro_app.scoring.result import METHOD_VERSIONS
from tests.unit.scoring.test_rand36 import DATA, MEMBERS, TABLE1

RAND36 = default_catalog().get("rand36", "1.0")
PROMIS = (default_catalog().get("promis29"), default_catalog().get("promis_global"))
PROPERTY = settings(max_examples=300, deadline=None)


def rule(value: Fraction, places: int = 4) -> float:
    """The documented rule, written with ``decimal``: half away from zero."""
    quotient = Decimal(value.numerator) / Decimal(value.denominator)
    return float(quotient.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def places(value: float) -> int:
    """Decimal places of a float as Python prints it (57.0 has one)."""
    exponent = Decimal(repr(value)).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def answer_sets(instrument):
    return st.fixed_dictionaries(
        {item.id: st.sampled_from([None, *item.codes]) for item in instrument.items}
    )


# The second transcription of the SF-36 v1 norms (lbscorer's copy of the manual).
def _norms() -> dict[str, dict[str, Fraction]]:
    with (DATA / "sf36v1_norms.csv").open(encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {
            r["scale"]: {
                k: Fraction(v) for k, v in r.items() if k not in {"source", "scale"}
            }
            for r in rows
            if r["source"] == "lbscorer_sf36"
        }


NORMS = _norms()


def _sf36v1_exact(answers) -> dict[str, Fraction | None]:
    """SF-36 v1 scales as the mean of the answered items' 0-100 values.

    Algebraically the person-mean-imputed raw sum transformed to 0-100 (the
    scorer's formula), computed here the other way round.
    """
    out: dict[str, Fraction | None] = {}
    for scale_id in NORMS:
        spec = parse_average(RAND36, RAND36.scale(scale_id))
        low, high = (Fraction(repr(b)) for b in spec.precode_range)
        values = []
        for item_id in spec.scale.items:
            code = answers.get(item_id)
            if code is None:
                continue
            if item_id in spec.conditional:
                rule_ = spec.conditional[item_id]
                precode = rule_.tables[answers.get(rule_.if_item)][code]
            else:
                precode = spec.tables[item_id][code]
            values.append((Fraction(repr(float(precode))) - low) / (high - low) * 100)
        half = math.ceil(len(spec.scale.items) / 2)
        out[scale_id] = (
            sum(values, Fraction(0)) / len(values) if len(values) >= half else None
        )
    return out


def test_rounding_is_half_away_from_zero_at_four_places():
    assert DECIMALS == 4
    assert stored(Fraction(200, 3)) == 66.6667
    assert stored(Fraction(100, 3)) == 33.3333
    assert stored(57) == 57.0
    assert repr(stored(57)) == "57.0"
    assert stored(Fraction(1, 20000)) == 0.0001  # an exact half goes up
    assert stored(Fraction(-1, 20000)) == -0.0001  # ... and away from zero below 0
    assert stored(Fraction(3, 20000) - Fraction(1, 10**9)) == 0.0001
    assert rounded(Fraction(123456789, 10**6), 5) == Fraction(12345679, 10**5)
    # A float leftover from binary arithmetic is the decimal it nearly is.
    assert stored(56.99999999999999) == 57.0
    assert stored(55.00000000000001) == 55.0
    assert stored(66.66666666666666) == stored(66.66666666666667) == 66.6667
    # A number from an instrument file stands for the decimal written there.
    assert exact(4.4) == Fraction(22, 5)
    assert exact(0.42402) == Fraction(42402, 10**5)


def test_every_method_has_a_stored_algorithm_version():
    assert set(METHOD_VERSIONS) == set(METHODS)
    # The methods whose stored values the rule changed moved to version 2.
    assert METHOD_VERSIONS["recode_average"] == "pro_app.scoring/2"
    assert METHOD_VERSIONS["norm_composite"] == "pro_app.scoring/2"
    assert METHOD_VERSIONS["sum_to_t"] == "pro_app.scoring/1"
    result = score_answers("rand36", {"1": 2})
    assert {s.algorithm for s in result.values()} == {"pro_app.scoring/2"}
    assert result.algorithm == "pro_app.scoring/2"
    promis = score_answers("promis_global", {"Global02": 3})
    assert {s.algorithm for s in promis.values()} == {"pro_app.scoring/1"}


def test_a_score_that_is_57_is_stored_as_57():
    # SF-36 v1 general health: item 1 "very good" is precode 4.4, the other four
    # add up to 12: (16.4 - 5) / 20 x 100 = 57 (binary floats: 56.99999999999999).
    result = score_answers("rand36", {"1": 2, "33": 4, "34": 5, "35": 5, "36": 4})
    gh = result["sf36v1_gh"]
    assert gh.value == 57.0
    assert repr(gh.value) == "57.0"
    assert gh.raw == 16.4
    assert repr(gh.raw) == "16.4"


def test_two_scales_of_two_thirds_store_the_same_number():
    # RAND emotional role (0 + 100 + 100) / 3 and SF-36 v1 (5 - 3) / 3 x 100:
    # 66.66666666666667 and 66.66666666666666 with binary floats.
    result = score_answers("rand36", {"17": 1, "18": 2, "19": 2})
    assert result["re"].value == result["sf36v1_re"].value == 66.6667
    assert repr(result["re"].value) == "66.6667"


def expected_rand36(answers) -> dict[str, tuple[float, float | None] | None]:
    """Scale id -> (value, raw) by the rule, or None when not scorable.

    ``raw`` is given for PCS/MCS only (the other scales' raw is checked by the
    SF-36 v1 tests).
    """
    out: dict[str, tuple[float, float | None] | None] = {}
    for scale_id, items in MEMBERS.items():
        values = [Fraction(TABLE1[i, answers[i]]) for i in items
                  if answers.get(i) is not None]  # fmt: skip
        mean = sum(values, Fraction(0)) / len(values) if values else None
        out[scale_id] = None if mean is None else (rule(mean), None)
    v1 = _sf36v1_exact(answers)
    out |= {s: None if v is None else (rule(v), None) for s, v in v1.items()}
    for summary in ("pcs", "mcs"):
        if any(v is None for v in v1.values()):
            out[summary] = None
            continue
        weight = f"{summary}_coefficient"
        aggregate = sum(
            (NORMS[s][weight] * (v - NORMS[s]["mean"]) / NORMS[s]["sd"]
             for s, v in v1.items()),
            Fraction(0),
        )  # fmt: skip
        out[summary] = (rule(50 + 10 * aggregate), rule(aggregate, 5))
    return out


@PROPERTY
@given(answer_sets(RAND36))
def test_rand36_every_score_is_the_exact_value_rounded(answers):
    result = score_answers("rand36", answers)
    expected = expected_rand36(answers)
    assert set(expected) == set(result)
    for scale_id, want in expected.items():
        score = result[scale_id]
        assert score.ok == (want is not None), scale_id
        if want is None:
            continue
        assert score.value == want[0], scale_id
        if want[1] is not None:
            assert score.raw == want[1]
    for score in result.values():
        for number in (score.value, score.raw, score.se):
            if number is not None:
                allowed = 5 if score.method == "norm_composite" else DECIMALS
                assert places(number) <= allowed, (score.scale_id, number)


def _promis_cases():
    return st.sampled_from(PROMIS).flatmap(
        lambda instrument: st.tuples(st.just(instrument), answer_sets(instrument))
    )


@PROPERTY
@given(_promis_cases())
def test_promis_scores_are_the_published_table_values(case):
    instrument, answers = case
    result = score_answers(instrument.id, answers, version=instrument.version)
    for scale in instrument.scales:
        score = result[scale.id]
        if scale.method != "sum_to_t":
            if score.ok:  # a single item: its whole-number value
                assert float(score.value).is_integer()
                assert places(score.value) == 1
            continue
        if not score.ok:
            continue
        spec = parse_sum_to_t(instrument, scale)
        given_ = [
            spec.tables[i][answers[i]] for i in scale.items if answers[i] is not None
        ]
        exact_raw = Fraction(sum(given_) * len(scale.items), len(given_))
        if spec.rounding == "up":
            raw = math.ceil(exact_raw)
        else:
            raw = math.floor(exact_raw + Fraction(1, 2))
        assert score.raw == raw
        assert score.prorated == (len(given_) < len(scale.items))
        ((t_score, se),) = [r[1:] for r in scale.params["table"] if r[0] == raw]
        # As published: one decimal, no interpolation, no averaging, no leftover.
        assert (score.value, score.se) == (t_score, se)
        assert places(score.value) <= 1
        assert places(score.se) <= 1


@pytest.mark.parametrize("instrument", [RAND36, *PROMIS], ids=lambda i: i.id)
def test_every_number_of_every_best_and_worst_answer_set_is_rounded(instrument):
    for pick in (min, max):
        answers = {item.id: pick(item.codes) for item in instrument.items}
        for score in score_answers(instrument.id, answers).values():
            assert score.ok
            assert score.value == rule(score.exact)
