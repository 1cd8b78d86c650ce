"""``norm_composite`` on a tiny made-up instrument: arithmetic, order and checks."""

from __future__ import annotations

import pytest

from pro_app.scoring import ParamError, score_answers, validate_params

ITEMS = {"a": [1, 2, 3], "b": [1, 2, 3]}
INPUTS = """[[scales]]
id = "sa"
name = "A"
method = "recode_average"
items = ["a"]
recode = { "1" = 0, "2" = 50, "3" = 100 }
min_answered = "any"

[[scales]]
id = "sb"
name = "B"
method = "recode_average"
items = ["b"]
recode = { "1" = 0, "2" = 50, "3" = 100 }
min_answered = "any"
"""
COMPOSITE = """[[scales]]
id = "sum"
name = "Summary"
method = "norm_composite"
items = ["a", "b"]
scales = ["sa", "sb"]
means = { sa = 50.0, sb = 40.0 }
sds = { sa = 10.0, sb = 20.0 }
coefficients = { sa = 0.5, sb = -0.25 }
source = "made up for the tests"
"""


def test_weighted_z_scores_on_the_t_metric(make_catalog):
    # Listed before its inputs: inputs are still scored first.
    catalog = make_catalog(ITEMS, COMPOSITE + "\n" + INPUTS)
    result = score_answers("test", {"a": 3, "b": 2}, catalog=catalog)
    assert list(result) == ["sum", "sa", "sb"]
    # z(sa) = (100 - 50) / 10 = 5, z(sb) = (50 - 40) / 20 = 0.5;
    # 0.5 x 5 - 0.25 x 0.5 = 2.375 -> 50 + 10 x 2.375 = 73.75.
    summary = result["sum"]
    assert (summary.value, summary.raw) == (73.75, 2.375)
    assert (summary.n_answered, summary.n_items, summary.se) == (2, 2, None)


def test_constant_and_multiplier(make_catalog):
    body = COMPOSITE + "constant = 100.0\nmultiplier = 15\n"
    catalog = make_catalog(ITEMS, INPUTS + "\n" + body)
    summary = score_answers("test", {"a": 3, "b": 2}, catalog=catalog)["sum"]
    assert summary.value == 100 + 15 * 2.375


def test_not_scorable_when_an_input_is_not(make_catalog):
    catalog = make_catalog(ITEMS, INPUTS + "\n" + COMPOSITE)
    result = score_answers("test", {"a": 3}, catalog=catalog)
    assert result["sum"].status == "not_scorable"
    assert result["sum"].reason == "input scale(s) not scorable: sb"
    assert result["sum"].n_answered == 1


def test_composites_of_composites(make_catalog):
    outer = (
        COMPOSITE.replace('id = "sum"', 'id = "outer"')
        .replace('scales = ["sa", "sb"]', 'scales = ["sum", "sa"]')
        .replace("sb =", "sum =")
    )
    catalog = make_catalog(ITEMS, outer + "\n" + COMPOSITE + "\n" + INPUTS)
    result = score_answers("test", {"a": 3, "b": 2}, catalog=catalog)
    # z(sum) = (73.75 - 40) / 20 = 1.6875, z(sa) = 5:
    # 0.5 x 5 - 0.25 x 1.6875 = 2.078125 -> 70.78125.
    assert result["outer"].value == pytest.approx(70.78125)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('scales = ["sa", "sb"]', 'scales = ["sa", "sc"]'),
         "scales: 'sc' is not another scale of the instrument"),
        (('scales = ["sa", "sb"]', 'scales = ["sa", "sum"]'),
         "scales: 'sum' is not another scale of the instrument"),
        (('scales = ["sa", "sb"]', 'scales = ["sa", "sb", "sa"]'),
         "lists a scale twice"),
        (('scales = ["sa", "sb"]', "scales = []"), "scales: must not be empty"),
        (("sb = 20.0", "sb = 0.0"), "sds.sb: must be positive"),
        (("sb = 40.0 }", "sb = 40.0, sc = 1.0 }"),
         "means: must have exactly one entry"),
        (("sa = 0.5, ", ""), "coefficients: must have exactly one entry"),
        (("sa = 0.5", 'sa = "0.5"'), "coefficients.sa: '0.5' is not a number"),
        (('items = ["a", "b"]', 'items = ["a"]'),
         "items: must be exactly the items of the input scales"),
        (('source = "made up for the tests"\n', ""), "source: missing"),
        (('source = "made up for the tests"',
          'source = "made up"\nconstant = "fifty"'),
         "constant: 'fifty' is not a number"),
        (("means = {", "norms = { sa = 1.0 }\nmeans = {"),
         "norms: unknown parameter of 'norm_composite'"),
        (("means = { sa = 50.0, sb = 40.0 }", "means = [50.0, 40.0]"),
         "means: must be a table, not tuple"),
    ],
)  # fmt: skip
def test_invalid_composite_parameters(make_catalog, change, message):
    old, new = change
    assert old in COMPOSITE
    catalog = make_catalog(ITEMS, INPUTS + "\n" + COMPOSITE.replace(old, new, 1))
    with pytest.raises(ParamError, match="test 1.0: scale 'sum': ") as info:
        validate_params(catalog.get("test"))
    assert message in str(info.value)


def test_composites_that_depend_on_each_other_are_rejected(make_catalog):
    first = COMPOSITE.replace('scales = ["sa", "sb"]', 'scales = ["sa", "other"]')
    first = first.replace("sb =", "other =")
    second = first.replace('id = "sum"', 'id = "other"').replace("other =", "sum =")
    second = second.replace('scales = ["sa", "other"]', 'scales = ["sa", "sum"]')
    catalog = make_catalog(ITEMS, INPUTS + "\n" + first + "\n" + second)
    with pytest.raises(ParamError, match="composite scales depend on each other"):
        validate_params(catalog.get("test"))
