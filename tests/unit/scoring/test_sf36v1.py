"""RAND-36 items scored the SF-36 v1 (Ware/MOS) way, and PCS/MCS with 1990 norms.

Expected values are worked out by hand from the manuals' precodes and the
published norms and coefficients (the arithmetic is in the comments), never by
calling the scorer.
"""

from __future__ import annotations

import pytest

from pro_app.scoring import score_answers

V1 = ("sf36v1_pf", "sf36v1_rp", "sf36v1_bp", "sf36v1_gh",
      "sf36v1_vt", "sf36v1_sf", "sf36v1_re", "sf36v1_mh")  # fmt: skip
ITEMS = {
    "sf36v1_pf": [str(n) for n in range(3, 13)],
    "sf36v1_rp": ["13", "14", "15", "16"],
    "sf36v1_bp": ["21", "22"],
    "sf36v1_gh": ["1", "33", "34", "35", "36"],
    "sf36v1_vt": ["23", "27", "29", "31"],
    "sf36v1_sf": ["20", "32"],
    "sf36v1_re": ["17", "18", "19"],
    "sf36v1_mh": ["24", "25", "26", "28", "30"],
}
# Best and worst answer to every RAND-36 item (item 2 left out: in no scale).
BEST = {"1": 1, **{str(n): 3 for n in range(3, 13)},
        **{str(n): 2 for n in range(13, 20)},
        "20": 1, "21": 1, "22": 1, "23": 1, "24": 6, "25": 6, "26": 1, "27": 1,
        "28": 6, "29": 6, "30": 1, "31": 6, "32": 5, "33": 5, "34": 1, "35": 5,
        "36": 1}  # fmt: skip
WORST = {"1": 5, **{str(n): 1 for n in range(3, 13)},
         **{str(n): 1 for n in range(13, 20)},
         "20": 5, "21": 6, "22": 5, "23": 6, "24": 1, "25": 1, "26": 6, "27": 6,
         "28": 1, "29": 1, "30": 6, "31": 1, "32": 1, "33": 1, "34": 5, "35": 1,
         "36": 5}  # fmt: skip


def score(answers, scale):
    return score_answers("rand36", answers)[scale]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # Item 1 precode p with 33-36 at their best (5 each after reversal):
        # raw = p + 20, GH = (raw - 5) / 20 x 100.
        (1, 100.0),  # p = 5.0: (25 - 5) / 20 x 100
        (2, 97.0),  # p = 4.4: (24.4 - 5) / 20 x 100
        (3, 92.0),  # p = 3.4: (23.4 - 5) / 20 x 100
        (4, 85.0),  # p = 2.0: (22 - 5) / 20 x 100
        (5, 80.0),  # p = 1.0: (21 - 5) / 20 x 100
    ],
)
def test_general_health_item_1_precodes(code, expected):
    answers = {"1": code, "33": 5, "34": 1, "35": 5, "36": 1}
    result = score(answers, "sf36v1_gh")
    assert result.value == pytest.approx(expected)
    assert result.raw == pytest.approx(expected / 100 * 20 + 5)


def test_general_health_differs_from_rand():
    # Item 1 = 2 ("very good") with the others at their best: RAND 75 for item 1,
    # so (75 + 4 x 100) / 5 = 95; SF-36 v1 precode 4.4, (24.4 - 5) / 20 x 100 = 97.
    result = score_answers("rand36", {"1": 2, "33": 5, "34": 1, "35": 5, "36": 1})
    assert result["gh"].value == 95.0
    assert result["sf36v1_gh"].value == pytest.approx(97.0)


@pytest.mark.parametrize(
    ("item21", "item22", "expected"),
    [
        # Both answered: 21 precode + 22 precode (22 = 1 scores 6 only with 21 = 1);
        # BP = (raw - 2) / 10 x 100.
        (1, 1, 100.0),  # 6 + 6 = 12
        (2, 1, 84.0),  # 5.4 + 5 = 10.4
        (6, 1, 40.0),  # 1 + 5 = 6
        (1, 2, 80.0),  # 6 + 4 = 10
        (3, 3, 52.0),  # 4.2 + 3 = 7.2
        (4, 4, 31.0),  # 3.1 + 2 = 5.1
        (5, 5, 12.0),  # 2.2 + 1 = 3.2
        (6, 5, 0.0),  # 1 + 1 = 2
        # Item 21 missing: 22 alone (6, 4.75, 3.5, 2.25, 1), imputed for 21.
        (None, 1, 100.0),  # 6 + 6 = 12
        (None, 2, 75.0),  # 4.75 + 4.75 = 9.5
        (None, 3, 50.0),  # 3.5 + 3.5 = 7
        (None, 4, 25.0),  # 2.25 + 2.25 = 4.5
        (None, 5, 0.0),  # 1 + 1 = 2
        # Item 22 missing: 21's precode imputed for 22.
        (1, None, 100.0),  # 6 + 6 = 12
        (2, None, 88.0),  # 5.4 + 5.4 = 10.8
        (3, None, 64.0),  # 4.2 + 4.2 = 8.4
        (4, None, 42.0),  # 3.1 + 3.1 = 6.2
        (5, None, 24.0),  # 2.2 + 2.2 = 4.4
        (6, None, 0.0),  # 1 + 1 = 2
    ],
)
def test_bodily_pain_precodes(item21, item22, expected):
    result = score({"21": item21, "22": item22}, "sf36v1_bp")
    assert result.value == pytest.approx(expected)
    assert result.raw == pytest.approx(expected / 10 + 2)
    assert result.n_answered == (item21 is not None) + (item22 is not None)


def test_bodily_pain_with_both_items_missing_is_not_scorable():
    result = score({"1": 1}, "sf36v1_bp")
    assert result.status == "not_scorable"
    assert result.reason == "0 of 2 items answered; rule 'half' needs at least 1"


@pytest.mark.parametrize(
    ("scale", "half"),
    [("sf36v1_pf", 5), ("sf36v1_rp", 2), ("sf36v1_bp", 1), ("sf36v1_gh", 3),
     ("sf36v1_vt", 2), ("sf36v1_sf", 1), ("sf36v1_re", 2), ("sf36v1_mh", 3)],
)  # fmt: skip
def test_half_rule_boundary(scale, half):
    items = ITEMS[scale]
    exactly_half = {i: BEST[i] for i in items[:half]}
    result = score(exactly_half, scale)
    assert (result.status, result.value, result.n_answered) == ("ok", 100.0, half)
    one_fewer = score({i: BEST[i] for i in items[: half - 1]}, scale)
    assert one_fewer.status == "not_scorable"
    assert (one_fewer.value, one_fewer.n_answered) == (None, half - 1)


def test_person_mean_imputation_worked_example():
    # GH with items 1 = 2 (4.4), 33 = 3 (3), 34 = 2 (6 - 2 = 4); 35, 36 missing.
    # Mean of the answered = 11.4 / 3 = 3.8, imputed twice: raw = 11.4 + 7.6 = 19,
    # GH = (19 - 5) / 20 x 100 = 70.
    result = score({"1": 2, "33": 3, "34": 2}, "sf36v1_gh")
    assert result.raw == pytest.approx(19.0)
    assert result.value == pytest.approx(70.0)
    assert (result.n_answered, result.n_items, result.prorated) == (3, 5, False)


@pytest.mark.parametrize(
    ("scale", "answers", "expected"),
    [
        # The scales whose SF-36 v1 precodes are a linear map of RAND's recode give
        # RAND's values when every item is answered.
        ("sf36v1_pf", {str(n): 2 for n in range(3, 13)}, 50.0),  # (20 - 10) / 20
        ("sf36v1_rp", {"13": 1, "14": 2, "15": 2, "16": 2}, 75.0),  # (7 - 4) / 4
        ("sf36v1_re", {"17": 2, "18": 2, "19": 1}, 200 / 3),  # (5 - 3) / 3
        ("sf36v1_vt", {"23": 3, "27": 3, "29": 4, "31": 4}, 60.0),  # (4+4+4+4-4)/20
        ("sf36v1_sf", {"20": 2, "32": 4}, 75.0),  # (4 + 4 - 2) / 8
        ("sf36v1_mh", {"24": 5, "25": 5, "26": 2, "28": 5, "30": 2}, 80.0),  # 20/25
    ],
)
def test_reversed_items(scale, answers, expected):
    assert score(answers, scale).value == pytest.approx(expected)


def test_all_best_and_all_worst():
    best, worst = score_answers("rand36", BEST), score_answers("rand36", WORST)
    for scale in V1:
        assert best[scale].value == pytest.approx(100.0)
        assert worst[scale].value == pytest.approx(0.0)
    # PCS/MCS with every scale at 100: z = (100 - mean) / SD, e.g. PF
    # (100 - 84.52404) / 22.89490 = 0.675957; PCS = 50 + 10 x sum(coefficient x z)
    # = 50 + 10 x (0.42402 x 0.675957 + 0.35119 x 0.556285 + 0.31754 x 1.040293
    # + 0.24954 x 1.377657 + 0.02877 x 1.866150 - 0.00753 x 0.733025
    # - 0.19206 x 0.566362 - 0.22069 x 1.396737) = 57.872440;
    # MCS = 50 + 10 x (-0.22999 x 0.675957 - 0.12329 x 0.556285 - 0.09731 x 1.040293
    # - 0.01571 x 1.377657 + 0.23534 x 1.866150 + 0.26876 x 0.733025
    # + 0.43407 x 0.566362 + 0.48581 x 1.396737) = 62.136556.
    # Stored rounded half-up to 4 decimals (docs/scoring.md, "Precision").
    assert best["pcs"].value == 57.8724
    assert best["mcs"].value == 62.1366
    # Every scale at 0: z = -mean / SD (PF -3.691828, RP -2.402532, BP -3.204407,
    # GH -3.580290, VT -2.925550, SF -3.735965, RE -2.461448, MH -4.155151), so
    # PCS = 50 + 10 x (0.42402 x -3.691828 + ... - 0.22069 x -4.155151) = 20.136024
    # and MCS = 50 + 10 x (-0.22999 x -3.691828 + ... + 0.48581 x -4.155151)
    # = 17.337274.
    assert worst["pcs"].value == 20.136
    assert worst["mcs"].value == 17.3373


MIDDLE = {
    **{str(n): 2 for n in range(3, 13)},  # PF (20 - 10) / 20 x 100 = 50
    "13": 1, "14": 2, "15": 2, "16": 2,  # RP (7 - 4) / 4 x 100 = 75
    "21": 2, "22": 2,  # BP 5.4 + 4 = 9.4, (9.4 - 2) / 10 x 100 = 74
    "1": 3, "33": 4, "34": 2, "35": 3, "36": 3,  # GH 3.4+4+4+3+3 = 17.4 -> 62
    "23": 3, "27": 3, "29": 4, "31": 4,  # VT 4+4+4+4 = 16 -> 60
    "20": 2, "32": 4,  # SF 4 + 4 = 8 -> 75
    "17": 2, "18": 2, "19": 1,  # RE 5 -> 66.667
    "24": 5, "25": 5, "26": 2, "28": 5, "30": 2,  # MH 25 -> 80
}  # fmt: skip


def test_pcs_and_mcs_hand_computed_middle_case():
    result = score_answers("rand36", MIDDLE)
    values = {s: result[s].value for s in V1}
    assert values == dict(
        zip(V1, (50.0, 75.0, 74.0, 62.0, 60.0, 75.0, 66.6667, 80.0), strict=True)
    )
    # z: PF (50 - 84.52404) / 22.89490 = -1.507936, RP -0.183419, BP -0.063329,
    # GH -0.506363, VT -0.050530, SF -0.384223, RE -0.442908, MH 0.286360.
    # PCS aggregate = -0.639395 - 0.064415 - 0.020110 - 0.126358 - 0.001454
    # + 0.002893 + 0.085065 - 0.063197 = -0.826970 -> 50 - 8.269696 = 41.730304.
    # MCS aggregate = 0.346810 + 0.022614 + 0.006163 + 0.007955 - 0.011892
    # - 0.103264 - 0.192253 + 0.139116 = 0.215249 -> 50 + 2.152493 = 52.152493.
    # Stored to 4 decimals; the raw aggregate to 5, the T-score's resolution.
    assert result["pcs"].value == 41.7303
    assert result["mcs"].value == 52.1525
    assert result["pcs"].raw == -0.82697
    assert (result["pcs"].n_answered, result["pcs"].n_items) == (35, 35)


@pytest.mark.parametrize("scale", V1)
def test_summaries_need_all_eight_scales(scale):
    # Leave every item of one scale out: that scale, and so PCS and MCS, fail.
    answers = {i: c for i, c in MIDDLE.items() if i not in ITEMS[scale]}
    result = score_answers("rand36", answers)
    assert result[scale].status == "not_scorable"
    for summary in ("pcs", "mcs"):
        assert result[summary].status == "not_scorable"
        assert result[summary].value is None
        assert result[summary].reason == f"input scale(s) not scorable: {scale}"
    others = [s for s in V1 if s != scale]
    assert all(result[s].ok for s in others)


def test_summaries_use_imputed_scales():
    # One GH item missing still scores GH (4 of 5), so PCS and MCS are scored.
    answers = {k: v for k, v in MIDDLE.items() if k != "36"}
    result = score_answers("rand36", answers)
    # 3.4 + 4 + 4 + 3 = 14.4, + 14.4 / 4 imputed = 18, (18 - 5) / 20 x 100 = 65.
    assert result["sf36v1_gh"].value == pytest.approx(65.0)
    assert (result["pcs"].status, result["mcs"].status) == ("ok", "ok")
