"""The public API: answers checked, ScoreSet shape, versions, purity, shipped params."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pro_app.catalog import KNOWN_METHODS, load_catalog
from pro_app.scoring import (
    ALGORITHM_VERSION,
    METHODS,
    ParamError,
    ScaleScore,
    ScoreSet,
    default_catalog,
    score_answers,
    validate_params,
)

REPO = Path(__file__).parents[3]
ALL_ONE = {str(n): 1 for n in range(1, 37)}


def test_scoring_is_pure():
    # A fresh interpreter: this test process may already have imported Flask.
    code = (
        "import sys, pro_app.catalog, pro_app.scoring\n"
        "loaded = {'flask', 'sqlalchemy', 'wtforms'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_the_registry_implements_every_method_the_catalogue_accepts():
    assert set(METHODS) == KNOWN_METHODS
    assert all(METHODS[name].name == name for name in METHODS)


@pytest.mark.parametrize(
    "instrument", default_catalog().instruments, ids=lambda i: f"{i.id}-{i.version}"
)
def test_every_shipped_instrument_has_valid_scoring_parameters(instrument):
    validate_params(instrument)


def test_the_default_catalogue_is_the_shipped_one_loaded_once():
    assert default_catalog() is default_catalog()
    shipped = load_catalog(REPO / "instruments")
    assert [(i.id, i.version) for i in default_catalog().instruments] == [
        (i.id, i.version) for i in shipped.instruments
    ]


def test_score_set_is_a_frozen_mapping_in_instrument_order():
    result = score_answers("rand36", ALL_ONE)
    assert isinstance(result, ScoreSet)
    assert (result.instrument_id, result.instrument_version) == ("rand36", "1.0")
    assert result.algorithm == ALGORITHM_VERSION == "pro_app.scoring/2"
    ids = [s.id for s in default_catalog().get("rand36").scales]
    assert list(result) == ids == [s.scale_id for s in result.scales]
    assert len(result) == 18
    assert result["pf"] is result.scales[0]
    assert dict(result.items())["mcs"].method == "norm_composite"
    with pytest.raises(KeyError):
        result["nope"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.algorithm = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result["pf"].value = 1.0  # type: ignore[misc]


def test_scale_score_carries_what_is_stored():
    score = score_answers("rand36", ALL_ONE)["gh"]
    assert isinstance(score, ScaleScore)
    assert score == ScaleScore(
        scale_id="gh", name="General health", method="recode_average", status="ok",
        value=60.0, raw=None, se=None, n_answered=5, n_items=5, prorated=False,
        reason=None, algorithm="pro_app.scoring/2",
    )  # fmt: skip
    assert score.ok


def test_skipped_and_left_out_items_are_the_same():
    left_out = {k: v for k, v in ALL_ONE.items() if k not in {"3", "4"}}
    skipped = {**ALL_ONE, "3": None, "4": None}
    assert score_answers("rand36", left_out) == score_answers("rand36", skipped)
    assert score_answers("rand36", skipped)["pf"].n_answered == 8


def test_nothing_answered_scores_nothing():
    result = score_answers("rand36", {})
    assert all(not s.ok and s.value is None for s in result.values())
    assert result["pf"].reason == "0 of 10 items answered; rule 'any' needs at least 1"
    assert result["pcs"].reason.startswith("input scale(s) not scorable: sf36v1_pf")


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"37": 1}, "rand36 1.0: unknown item '37' (answer 1)"),
        ({1: 1}, "unknown item 1 (answer 1)"),
        ({"1": 6}, "item '1': 6 is not one of its codes [1, 2, 3, 4, 5]"),
        ({"13": 0}, "item '13': 0 is not one of its codes [1, 2]"),
        ({"1": True}, "item '1': True is not one of its codes"),
        ({"1": "1"}, "item '1': '1' is not one of its codes"),
        ({"1": 1.0}, "item '1': 1.0 is not one of its codes"),
        ({"21": -1}, "item '21': -1 is not one of its codes [1, 2, 3, 4, 5, 6]"),
    ],
)
def test_bad_answers_raise_value_error_naming_item_and_value(answers, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        score_answers("rand36", answers)


def test_answers_must_be_a_mapping():
    with pytest.raises(TypeError, match="answers must be a mapping"):
        score_answers("rand36", [("1", 1)])  # type: ignore[arg-type]


def test_version_none_is_the_latest_and_unknown_ones_raise(make_catalog):
    scales = '[[scales]]\nid = "q"\nname = "Q"\nmethod = "single_item"\nitems = ["q"]\n'
    make_catalog({"q": [1, 2]}, scales)
    catalog = make_catalog({"q": [1, 2, 3]}, scales, version="1.10")
    latest = score_answers("test", {"q": 3}, catalog=catalog)
    assert (latest.instrument_version, latest["q"].value) == ("1.10", 3)
    assert score_answers("test", {"q": 2}, version="1.0", catalog=catalog)["q"].raw == 2
    with pytest.raises(ValueError, match="'q': 3 is not one of its codes"):
        score_answers("test", {"q": 3}, version="1.0", catalog=catalog)
    with pytest.raises(LookupError):
        score_answers("test", {"q": 2}, version="9.9", catalog=catalog)
    with pytest.raises(LookupError):
        score_answers("nope", {}, catalog=catalog)


def test_invalid_parameters_are_reported_when_scoring(make_catalog):
    scales = (
        '[[scales]]\nid = "q"\nname = "Q"\nmethod = "single_item"\nitems = ["q"]\n'
        "recode = 3\n"
    )
    catalog = make_catalog({"q": [1, 2]}, scales)
    with pytest.raises(
        ParamError, match="test 1.0: scale 'q': recode: must be a table"
    ):
        score_answers("test", {"q": 1}, catalog=catalog)
