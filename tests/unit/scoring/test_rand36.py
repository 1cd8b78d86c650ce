"""RAND-36 1.0: the eight RAND scales, scored as RAND's scoring instructions say."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pro_app.scoring import default_catalog, score_answers

DATA = Path(__file__).parent / "data"
RAND = ("pf", "rp", "re", "vt", "mh", "sf", "bp", "gh")
# RAND Table 2 (items averaged into each scale).
MEMBERS = {
    "pf": [str(n) for n in range(3, 13)],
    "rp": ["13", "14", "15", "16"],
    "re": ["17", "18", "19"],
    "vt": ["23", "27", "29", "31"],
    "mh": ["24", "25", "26", "28", "30"],
    "sf": ["20", "32"],
    "bp": ["21", "22"],
    "gh": ["1", "33", "34", "35", "36"],
}
INSTRUMENT = default_catalog().get("rand36", "1.0")
CODES = {item.id: item.codes for item in INSTRUMENT.items}


def recode_rows() -> list[tuple[str, int, float]]:
    with (DATA / "rand36_recode.csv").open(encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return [
        (row["item"], int(row["original_response"]), float(row["recoded_value"]))
        for row in csv.DictReader(lines)
    ]


ROWS = recode_rows()
# RAND Table 1 as a lookup: what "a better answer" means in the property tests.
TABLE1 = {(item, code): value for item, code, value in ROWS}


def test_scale_membership_is_rands_table_2():
    scales = {s.id: list(s.items) for s in INSTRUMENT.scales if s.id in RAND}
    assert scales == MEMBERS
    assert all(s.method == "recode_average" for s in INSTRUMENT.scales[:8])


def test_item_2_is_in_no_scale_and_is_not_scored():
    assert all("2" not in scale.items for scale in INSTRUMENT.scales)
    only_item_2 = score_answers("rand36", {"2": 1})
    assert all(not s.ok for s in only_item_2.values())


def test_the_second_transcription_covers_every_scored_code():
    scored_codes = {
        (i, c) for items in MEMBERS.values() for i in items for c in CODES[i]
    }
    transcribed = {(i, c) for i, c, _ in ROWS if i != "2"}
    assert transcribed == scored_codes
    assert len(ROWS) == len(set(TABLE1)) == 149  # item 2's five rows included


@pytest.mark.parametrize(("item", "code", "value"), [r for r in ROWS if r[0] != "2"])
def test_recode_matches_the_second_transcription(item, code, value):
    # With RAND's rule a scale of one answered item is that item's recoded value,
    # so this checks the instrument file's table row by row through the scorer.
    (scale,) = [s for s, items in MEMBERS.items() if item in items]
    assert score_answers("rand36", {item: code})[scale].value == value


def answers_for(scale: str, codes: list[int]) -> dict[str, int]:
    return dict(zip(MEMBERS[scale], codes, strict=True))


@pytest.mark.parametrize(
    ("scale", "codes", "expected"),
    [
        # Best, worst and middle answers of every scale (RAND Table 1 values).
        ("pf", [3] * 10, 100.0),
        ("pf", [1] * 10, 0.0),
        ("pf", [2] * 10, 50.0),
        ("pf", [1, 2, 3, 3, 3, 3, 3, 3, 3, 3], 85.0),  # (0 + 50 + 8 x 100) / 10
        ("rp", [2, 2, 2, 2], 100.0),
        ("rp", [1, 1, 1, 1], 0.0),
        ("rp", [1, 2, 2, 2], 75.0),
        ("re", [2, 2, 2], 100.0),
        ("re", [1, 1, 1], 0.0),
        ("re", [1, 2, 2], pytest.approx(200 / 3)),
        # Energy/fatigue: 23 and 27 ("pep", "energy") run the other way to 29 and
        # 31 ("worn out", "tired").
        ("vt", [1, 1, 6, 6], 100.0),
        ("vt", [6, 6, 1, 1], 0.0),
        ("vt", [1, 1, 1, 1], 50.0),
        ("vt", [3, 4, 3, 4], 50.0),  # (60 + 40 + 40 + 60) / 4
        # Emotional well-being: 26 and 30 ("calm", "happy") are reversed.
        ("mh", [6, 6, 1, 6, 1], 100.0),
        ("mh", [1, 1, 6, 1, 6], 0.0),
        ("mh", [4, 4, 3, 4, 3], 60.0),  # (60 + 60 + 60 + 60 + 60) / 5
        # Social functioning: 20 ("extent") and 32 ("how much of the time").
        ("sf", [1, 5], 100.0),
        ("sf", [5, 1], 0.0),
        ("sf", [2, 4], 75.0),
        # Pain: 21 six categories, 22 five.
        ("bp", [1, 1], 100.0),
        ("bp", [6, 5], 0.0),
        ("bp", [2, 3], 65.0),  # (80 + 50) / 2
        # General health: 1, 34, 36 run the other way to 33, 35.
        ("gh", [1, 5, 1, 5, 1], 100.0),
        ("gh", [5, 1, 5, 1, 5], 0.0),
        ("gh", [3, 3, 3, 3, 3], 50.0),
        ("gh", [2, 4, 2, 4, 2], 75.0),
    ],
)
def test_worked_cases(scale, codes, expected):
    result = score_answers("rand36", answers_for(scale, codes))[scale]
    assert result.ok
    assert result.value == expected
    assert (result.n_answered, result.n_items) == (len(codes), len(codes))
    assert (result.raw, result.se, result.prorated) == (None, None, False)


def test_rand_worked_example_with_a_missing_item():
    # The energy/fatigue example of the public "How to score the RAND SF-36"
    # copies: 4 on item 23 -> 40, 3 on 27 -> 60, 3 on 29 -> 40, 31 left blank;
    # (40 + 60 + 40) / 3 answered = 46.7.
    result = score_answers("rand36", {"23": 4, "27": 3, "29": 3})["vt"]
    assert result.value == pytest.approx(140 / 3)
    assert (result.n_answered, result.n_items) == (3, 4)


@pytest.mark.parametrize("scale", RAND)
def test_rands_rule_any_answered_item_scores_the_scale(scale):
    first = MEMBERS[scale][0]
    best = max(CODES[first], key=lambda code: TABLE1[first, code])
    result = score_answers("rand36", {first: best})[scale]
    assert (result.status, result.value, result.n_answered) == ("ok", 100.0, 1)
    none = score_answers("rand36", {})[scale]
    assert none.status == "not_scorable"
    assert none.reason == (
        f"0 of {len(MEMBERS[scale])} items answered; rule 'any' needs at least 1"
    )


@pytest.mark.parametrize(
    ("scale", "half"),
    [("pf", 5), ("rp", 2), ("re", 2), ("vt", 2), ("mh", 3), ("sf", 1), ("bp", 1),
     ("gh", 3)],
)  # fmt: skip
def test_the_study_setting_half_needs_half_of_the_items(scale, half):
    items = MEMBERS[scale]
    enough = {i: CODES[i][0] for i in items[:half]}
    fewer = {i: CODES[i][0] for i in items[: half - 1]}
    half_rule = {"rand36_min_answered": "half"}
    assert score_answers("rand36", enough, settings=half_rule)[scale].ok
    result = score_answers("rand36", fewer, settings=half_rule)[scale]
    assert result.status == "not_scorable"
    assert result.reason == (
        f"{half - 1} of {len(items)} items answered; rule 'half' needs at least {half}"
    )
    if half > 1:  # RAND's own rule scores the same answers
        assert score_answers("rand36", fewer)[scale].ok
        any_rule = {"rand36_min_answered": "any"}
        assert score_answers("rand36", fewer, settings=any_rule)[scale].ok


def test_the_setting_does_not_change_the_sf36_v1_scales():
    # The SF-36 v1 scales always use their manual's half rule.
    answers = {"1": 1, "33": 5}
    for settings in ({}, {"rand36_min_answered": "any"}):
        result = score_answers("rand36", answers, settings=settings)
        assert (result["gh"].ok, result["sf36v1_gh"].ok) == (True, False)


@pytest.mark.parametrize("value", ["all", "HALF", 2, None])
def test_an_invalid_setting_value_is_an_error(value):
    with pytest.raises(ValueError, match="study setting rand36_min_answered"):
        score_answers("rand36", {"3": 1}, settings={"rand36_min_answered": value})


def test_unrelated_settings_are_ignored():
    result = score_answers("rand36", {"3": 3}, settings={"show_scores": True})
    assert result["pf"].value == 100.0


answer_sets = st.fixed_dictionaries(
    {}, optional={i: st.sampled_from((None, *codes)) for i, codes in CODES.items()}
)


@given(answers=answer_sets)
def test_every_rand_value_lies_within_0_to_100(answers):
    result = score_answers("rand36", answers)
    for scale in RAND:
        score = result[scale]
        assert score.ok == any(answers.get(i) is not None for i in MEMBERS[scale])
        assert score.value is None or 0 <= score.value <= 100


@given(answers=answer_sets, other=answer_sets, scale=st.sampled_from(RAND))
def test_answers_outside_a_scale_never_change_it(answers, other, scale):
    outside = {i: v for i, v in other.items() if i not in MEMBERS[scale]}
    mixed = {**answers, **outside}
    assert (
        score_answers("rand36", answers)[scale] == score_answers("rand36", mixed)[scale]
    )


@given(answers=answer_sets, item=st.sampled_from(sorted(TABLE1)), data=st.data())
def test_a_better_answer_never_gives_a_worse_scale_score(answers, item, data):
    # "Better" by RAND Table 1 (the second transcription): a higher recoded value.
    item_id, code = item
    scales = [s for s in INSTRUMENT.scales if item_id in s.items
              and s.method == "recode_average"]  # fmt: skip
    better = data.draw(
        st.sampled_from(
            [c for c in CODES[item_id] if TABLE1[item_id, c] >= TABLE1[item]]
        )
    )
    worse_result = score_answers("rand36", {**answers, item_id: code})
    better_result = score_answers("rand36", {**answers, item_id: better})
    for scale in scales:  # RAND and SF-36 v1 scales alike
        better_score, worse_score = better_result[scale.id], worse_result[scale.id]
        assert better_score.status == worse_score.status
        if better_score.ok:
            assert better_score.value >= worse_score.value - 1e-9
