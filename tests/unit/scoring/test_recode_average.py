"""``recode_average`` on tiny made-up instruments: forms, rules and checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pro_app.catalog import Catalog, Instrument, Item, ResponseSet, Scale
from pro_app.scoring import ParamError, score_answers, validate_params

ITEMS = {"a": [1, 2, 3], "b": [1, 2, 3], "c": [1, 2, 3], "x": [1, 2]}


def scale(body: str, scale_id: str = "s", items: str = '"a", "b", "c"') -> str:
    return (
        f'[[scales]]\nid = "{scale_id}"\nname = "S"\nmethod = "recode_average"\n'
        f"items = [{items}]\n{body}\n\n"
    )


def test_flat_and_per_item_recode(make_catalog):
    flat = scale('recode = { "1" = 0, "2" = 50, "3" = 100 }\nmin_answered = "any"')
    per_item = scale(
        'recode = { a = { "1" = 100, "2" = 50, "3" = 0 }, b = { "1" = 0, "2" = 0, '
        '"3" = 10 } }\nmin_answered = 2',
        scale_id="t",
        items='"a", "b"',
    )
    catalog = make_catalog(ITEMS, flat + per_item)
    result = score_answers("test", {"a": 1, "b": 3}, catalog=catalog)
    assert result["s"].value == 50.0  # (0 + 100) / 2
    assert result["t"].value == 55.0  # (100 + 10) / 2
    assert not score_answers("test", {"a": 1}, catalog=catalog)["t"].ok


def python_instrument(instrument_id: str, params: dict) -> Instrument:
    """Build a one-scale instrument in Python (no files), items a, b, c coded 1-3."""
    codes = ResponseSet("abc", "single_choice", (1, 2, 3))
    items = tuple(Item(i, n, codes) for n, i in enumerate("abc", start=1))
    scale = Scale("s", "S", "recode_average", ("a", "b", "c"), params)
    return Instrument(instrument_id, "1.0", "T", "T", "src", "lic", ("en",), "en",
                      None, items, (scale,))  # fmt: skip


PM = {"precode_range": [1, 3], "min_answered": "half"}
PM_CATALOG = Catalog((
    python_instrument("pm", {**PM, "person_mean_imputation": True}),
    python_instrument("plain", PM),
))  # fmt: skip


@given(
    answers=st.fixed_dictionaries(
        {}, optional={i: st.sampled_from((None, 1, 2, 3)) for i in "abc"}
    )
)
def test_person_mean_imputation_equals_the_mean_of_answered_items(answers):
    # With one precode range for every item, filling each gap with the mean of
    # the answered items and transforming the sum gives the mean of the answered
    # items' 0-100 values: the flag changes ``raw`` only.
    imputed = score_answers("pm", answers, catalog=PM_CATALOG)["s"]
    plain = score_answers("plain", answers, catalog=PM_CATALOG)["s"]
    assert imputed.status == plain.status
    if plain.ok:
        assert imputed.value == pytest.approx(plain.value)
        assert imputed.raw == pytest.approx(3 + plain.value / 100 * 6)
        assert plain.raw is None


def test_min_answered_as_a_count(make_catalog):
    catalog = make_catalog(ITEMS, scale("min_answered = 3\nprecode_range = [1, 3]"))
    assert not score_answers("test", {"a": 1, "b": 2}, catalog=catalog)["s"].ok
    done = score_answers("test", {"a": 1, "b": 2, "c": 3}, catalog=catalog)["s"]
    assert done.value == 50.0  # precodes 1, 2, 3 on 1-3: (0 + 50 + 100) / 3


def test_a_named_setting_only_switches_between_any_and_half(make_catalog):
    body = (
        'min_answered = "any"\nmin_answered_setting = "my_rule"\nprecode_range = [1, 3]'
    )
    catalog = make_catalog(ITEMS, scale(body))
    one = {"a": 3}
    assert score_answers("test", one, catalog=catalog)["s"].ok
    half = score_answers("test", one, catalog=catalog, settings={"my_rule": "half"})
    assert half["s"].reason == "1 of 3 items answered; rule 'half' needs at least 2"
    with pytest.raises(ValueError, match="study setting my_rule: 3 is not one of"):
        score_answers("test", one, catalog=catalog, settings={"my_rule": 3})


CONDITIONAL = """min_answered = "half"
precode_range = [1, 3]
person_mean_imputation = true
[[scales.recode_if]]
item = "b"
if_item = "x"
if_codes = [1]
table = { "1" = 1, "2" = 2, "3" = 3 }
[[scales.recode_if]]
item = "b"
if_item = "x"
if_codes = [2]
table = { "1" = 3, "2" = 2, "3" = 1 }
[[scales.recode_if]]
item = "b"
if_item = "x"
if_missing = true
table = { "1" = 2, "2" = 2, "3" = 2 }
"""


@pytest.mark.parametrize(
    ("x", "b", "expected"),
    [(1, 1, 0.0), (1, 3, 100.0), (2, 1, 100.0), (2, 3, 0.0), (None, 1, 50.0),
     (None, 3, 50.0)],
)  # fmt: skip
def test_conditional_recode_depends_on_another_item(make_catalog, x, b, expected):
    # The condition item x is outside the scale: it only picks b's table.
    catalog = make_catalog(ITEMS, scale(CONDITIONAL, items='"b"'))
    result = score_answers("test", {"b": b, "x": x}, catalog=catalog)["s"]
    assert result.value == expected
    assert result.n_answered == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("if_codes = [2]", "if_codes = [1]"), "condition 1 is already covered"),
        (("if_codes = [2]", "if_codes = [3]"), "[3]: not codes of 'x'"),
        (("if_codes = [2]", "if_codes = [true]"), "[True]: not codes of 'x'"),
        (("if_codes = [2]\n", ""), "needs exactly one of if_codes and if_missing"),
        (("if_codes = [1]\n", "if_codes = [1]\nif_missing = true\n"),
         "needs exactly one of if_codes and if_missing"),
        (("if_missing = true", "if_missing = false"), "if_missing: must be true"),
        (("if_codes = [2]", "if_codes = []"), "if_codes: must not be empty"),
        (('item = "b"\nif_item = "x"\nif_codes = [2]',
          'item = "b"\nif_item = "a"\nif_codes = [2]'),
         "all rules for item 'b' must test one item"),
        (('item = "b"\nif_item = "x"\nif_codes = [1]',
          'item = "b"\nif_item = "b"\nif_codes = [1]'),
         "an item cannot depend on itself"),
        (('item = "b"\nif_item = "x"\nif_codes = [1]',
          'item = "a"\nif_item = "x"\nif_codes = [1]'),
         "recode_if[0].item: 'a' is not an item of this scale"),
        (('if_item = "x"\nif_codes = [1]', 'if_item = "zz"\nif_codes = [1]'),
         "recode_if[0].if_item: unknown item 'zz'"),
        (('table = { "1" = 2, "2" = 2, "3" = 2 }', 'table = { "1" = 2 }'),
         "recode_if[2].table: no value for code(s) [2, 3]"),
        (('table = { "1" = 2, "2" = 2, "3" = 2 }', 'tabel = { "1" = 2 }'),
         "recode_if[2]: unknown key(s) ['tabel']"),
        (("if_missing = true\n", "if_codes = [1]\n"), "condition 1 is already covered"),
        (('[[scales.recode_if]]\nitem = "b"\nif_item = "x"\nif_missing = true\n'
          'table = { "1" = 2, "2" = 2, "3" = 2 }\n', ""),
         "rules for item 'b' do not cover 'x' = [None]"),
        (("precode_range = [1, 3]", 'precode_range = [1, 3]\nrecode = { b = { "1" = '
          '1, "2" = 2, "3" = 3 } }'), "recode_if: item 'b' also has a recode table"),
    ],
)  # fmt: skip
def test_invalid_conditional_recodes(make_catalog, change, message):
    old, new = change
    assert old in CONDITIONAL
    body = CONDITIONAL.replace(old, new, 1)
    catalog = make_catalog(ITEMS, scale(body, items='"b"'))
    with pytest.raises(ParamError, match="test 1.0: scale 's': ") as info:
        validate_params(catalog.get("test"))
    assert message in str(info.value)


RANGED = 'min_answered = "any"\nprecode_range = [1, 3]'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "min_answered: missing"),
        ('min_answered = "all"\nprecode_range = [1, 3]',
         "'all' is not an integer from 1 to 3, 'any' or 'half'"),
        ("min_answered = true\nprecode_range = [1, 3]", "True is not an integer"),
        ('min_answered = "any"\nrecode = { "1" = 0, "2" = 50, "3" = 150 }',
         "recode: item values [150] lie outside 0-100"),
        ('min_answered = "any"\nprecode_range = [1, 2]',
         "precode_range: item values [3] lie outside 1-2"),
        ('min_answered = "any"\nprecode_range = [3, 1]', "must be below highest"),
        ('min_answered = "any"\nprecode_range = [1, 2, 3]', "be [lowest, highest]"),
        ('min_answered = "any"\nprecode_range = ["1", 3]', "'1' is not a number"),
        ('min_answered = "any"\nprecode_range = 3', "must be an array, not int"),
        (f"{RANGED}\nmin_answered_setting = 1", "must be a setting name"),
        (f'{RANGED}\nperson_mean_imputation = "yes"', "must be true or false"),
        (f"{RANGED}\nsource = 3", "source: must be a string"),
        ('min_answered = "any"\nrecode_if = {}', "recode_if: must be an array"),
        ('min_answered = "any"\nrecode_if = [1]', "recode_if[0]: must be a table"),
        ('min_answered = "any"\nrecode = { "1" = "0" }', "recode.1: '0' is not a"),
        ('min_answered = "any"\nrecode = {}', "recode: no value for code(s) [1, 2, 3]"),
        ('min_answered = "any"', "recode: no table for item 'a' (needed without"),
        ('min_answered = "any"\nrecode = { b = { "1" = 0, "2" = 1, "3" = 2 } }',
         "recode: no table for item 'a'"),
    ],
)  # fmt: skip
def test_invalid_recode_average_parameters(make_catalog, body, message):
    catalog = make_catalog(ITEMS, scale(body))
    with pytest.raises(ParamError) as info:
        validate_params(catalog.get("test"))
    assert message in str(info.value)


def test_parameters_built_in_python_are_checked_too():
    # Instruments can be built without TOML (tests, tools): int code keys and
    # lists work; a float code key is not a code.
    codes = ResponseSet("abc", "single_choice", (1, 2))
    item = Item("a", 1, codes)

    def instrument(params):
        scale = Scale("s", "S", "recode_average", ("a",), params)
        return Instrument("t", "1.0", "T", "T", "src", "lic", ("en",), "en", None,
                          (item,), (scale,))  # fmt: skip

    validate_params(instrument({"recode": {1: 0, 2: 100}, "min_answered": "any"}))
    with pytest.raises(ParamError, match="1.0 is not a code of item 'a'"):
        validate_params(instrument({"recode": {1.0: 0, 2: 100}, "min_answered": 1}))
    with pytest.raises(ParamError, match="precode_range: must be an array, not str"):
        validate_params(instrument({"precode_range": "13", "min_answered": 1}))
