"""``sum_to_t`` and ``single_item`` on tiny made-up instruments (not PROMIS tables)."""

from __future__ import annotations

import pytest

from pro_app.scoring import ParamError, score_answers
from pro_app.scoring.lookup import prorate

ITEMS = {"a": [1, 2, 3, 4, 5], "b": [1, 2, 3, 4, 5], "c": [1, 2, 3, 4, 5],
         "d": [5, 4, 3, 2, 1], "pain": list(range(11))}  # fmt: skip
# A made-up table: T = 10 + 2 x raw, SE = raw / 10 (raw sums 4..20).
TABLE = ",\n".join(f"  [{raw}, {10 + 2 * raw}.0, {raw / 10}]" for raw in range(4, 21))


def sum_scale(scale_id="s", items=("a", "b", "c", "d"), extra="", table=TABLE):
    item_list = ", ".join(f'"{i}"' for i in items)
    return (
        f'[[scales]]\nid = "{scale_id}"\nname = "S"\nmethod = "sum_to_t"\n'
        f"items = [{item_list}]\nmin_answered = 2\nprorate = true\n"
        f'table_source = "made up for the tests"\n{extra}\ntable = [\n{table}\n]\n\n'
    )


@pytest.fixture
def catalog(make_catalog):
    return make_catalog(ITEMS, sum_scale())


def t_of(raw):
    return 10 + 2 * raw, raw / 10


@pytest.mark.parametrize(
    ("answers", "raw"),
    [
        ({"a": 1, "b": 1, "c": 1, "d": 1}, 4),  # lowest raw sum: first row
        ({"a": 5, "b": 5, "c": 5, "d": 5}, 20),  # highest: last row
        ({"a": 2, "b": 3, "c": 4, "d": 5}, 14),
    ],
)
def test_complete_answers_look_the_sum_up(catalog, answers, raw):
    result = score_answers("test", answers, catalog=catalog)["s"]
    assert (result.value, result.se) == t_of(raw)
    assert (result.raw, result.n_answered, result.prorated) == (raw, 4, False)


def test_exactly_half_answered_is_prorated(catalog):
    # 3 + 4 = 7, 7 x 4 / 2 = 14 (no rounding needed).
    result = score_answers("test", {"a": 3, "c": 4}, catalog=catalog)["s"]
    assert (result.status, result.raw, result.prorated) == ("ok", 14, True)
    assert (result.value, result.se, result.n_answered) == (*t_of(14), 2)


def test_one_fewer_than_min_answered_is_not_scorable(catalog):
    result = score_answers("test", {"a": 3}, catalog=catalog)["s"]
    assert result.status == "not_scorable"
    assert result.reason == "1 of 4 items answered; proration needs at least 2"
    assert (result.value, result.raw, result.se, result.prorated) == (
        None, None, None, False,
    )  # fmt: skip
    nothing = score_answers("test", {}, catalog=catalog)["s"]
    assert (nothing.status, nothing.n_answered) == ("not_scorable", 0)


@pytest.mark.parametrize(
    ("answers", "up", "nearest"),
    [
        ({"a": 3, "b": 2, "c": 2}, 10, 9),  # 7 x 4 / 3 = 9.33
        ({"a": 3, "b": 3, "c": 2}, 11, 11),  # 8 x 4 / 3 = 10.67
        ({"a": 3, "b": 3, "c": 3}, 12, 12),  # 9 x 4 / 3 = 12 exactly
        ({"a": 1, "b": 1, "c": 1}, 4, 4),  # 3 x 4 / 3 = 4
        ({"a": 5, "b": 5, "c": 4}, 19, 19),  # 14 x 4 / 3 = 18.67
    ],
)
def test_prorated_raw_is_rounded_by_the_rule(make_catalog, answers, up, nearest):
    for rounding, raw in (("up", up), ("nearest", nearest)):
        extra = f'prorate_rounding = "{rounding}"'
        catalog = make_catalog(ITEMS, sum_scale(extra=extra), instrument_id=rounding)
        result = score_answers(rounding, answers, catalog=catalog)["s"]
        assert (result.raw, result.value, result.prorated) == (raw, t_of(raw)[0], True)


def test_the_default_rounding_is_up(catalog):
    result = score_answers("test", {"a": 3, "b": 2, "c": 2}, catalog=catalog)["s"]
    assert result.raw == 10


@pytest.mark.parametrize(
    ("total", "n_items", "n_answered", "up", "nearest"),
    [(9, 5, 4, 12, 11),  # 11.25
     (10, 5, 4, 13, 13),  # 12.5: a half rounds up either way
     (7, 6, 4, 11, 11),  # 10.5
     (8, 4, 4, 8, 8)],
)  # fmt: skip
def test_prorate_is_exact(total, n_items, n_answered, up, nearest):
    assert prorate(total, n_items, n_answered, "up") == up
    assert prorate(total, n_items, n_answered, "nearest") == nearest


def test_without_proration_any_missing_item_is_not_scorable(make_catalog):
    scales = sum_scale().replace("prorate = true", "prorate = false")
    catalog = make_catalog(ITEMS, scales)
    result = score_answers("test", {"a": 5, "b": 5, "c": 5}, catalog=catalog)["s"]
    assert result.status == "not_scorable"
    assert result.reason == (
        "3 of 4 items answered; this scale is scored only when every item is answered"
    )
    full = score_answers("test", {"a": 5, "b": 5, "c": 5, "d": 5}, catalog=catalog)
    assert full["s"].value == 50.0


PAIN_RECODE = ('recode = { pain = { "0" = 5, "1" = 4, "2" = 4, "3" = 4, "4" = 3, '
               '"5" = 3, "6" = 3, "7" = 2, "8" = 2, "9" = 2, "10" = 1 } }')  # fmt: skip


@pytest.mark.parametrize(
    ("pain", "recoded"),
    [(0, 5), (1, 4), (3, 4), (4, 3), (6, 3), (7, 2), (9, 2), (10, 1)],
)
def test_recode_before_summing(make_catalog, pain, recoded):
    scales = sum_scale(items=("a", "b", "c", "pain"), extra=PAIN_RECODE)
    catalog = make_catalog(ITEMS, scales)
    answers = {"a": 1, "b": 1, "c": 1, "pain": pain}
    result = score_answers("test", answers, catalog=catalog)["s"]
    assert result.raw == 3 + recoded


def single_scale(extra=""):
    return (
        '[[scales]]\nid = "p"\nname = "Pain"\nmethod = "single_item"\n'
        f'items = ["pain"]\n{extra}\n'
    )


def test_single_item_reports_the_code(make_catalog):
    catalog = make_catalog(ITEMS, single_scale())
    result = score_answers("test", {"pain": 7}, catalog=catalog)["p"]
    assert (result.status, result.value, result.raw, result.n_answered) == (
        "ok", 7, 7, 1,
    )  # fmt: skip
    skipped = score_answers("test", {"pain": None}, catalog=catalog)["p"]
    assert (skipped.status, skipped.value, skipped.reason) == (
        "not_scorable", None, "item pain skipped",
    )  # fmt: skip


def test_single_item_with_a_recode(make_catalog):
    scales = single_scale(PAIN_RECODE.replace("recode = { pain = ", "recode = ")[:-2])
    catalog = make_catalog(ITEMS, scales + '\nsource = "made up"\n')
    result = score_answers("test", {"pain": 8}, catalog=catalog)["p"]
    assert (result.value, result.raw) == (2, 8)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("prorate = true", "prorate = 1"), "prorate: must be true or false"),
        (("min_answered = 2", "min_answered = 5"), "min_answered: 5 is not an integer"),
        (("min_answered = 2", 'min_answered = "half"'), "'half' is not an integer"),
        (("min_answered = 2", "min_answered = 0"), "0 is not an integer from 1 to 4"),
        (("min_answered = 2\n", ""), "min_answered: missing"),
        (('table_source = "made up for the tests"', 'table_source = ""'),
         "table_source: must be a non-empty string"),
        (("  [4, 18.0, 0.4],\n", ""), "table[0]: raw score 5 where 4 was expected"),
        (("  [20, 50.0, 2.0]", "  [20, 50.0, 2.0],\n  [21, 52.0, 2.1]"),
         "table: covers raw scores 4-21, not 4-20"),
        ((",\n  [20, 50.0, 2.0]", ""), "table: covers raw scores 4-19, not 4-20"),
        (("[4, 18.0, 0.4]", "[4.0, 18.0, 0.4]"), "raw score 4.0 is not an integer"),
        (("[4, 18.0, 0.4]", "[4, 18.0, 0]"), "SE > 0"),
        (("[4, 18.0, 0.4]", '[4, "18", 0.4]'), "must be numbers"),
        (("[4, 18.0, 0.4]", "[4, 18.0]"), "table[0]: must be a [raw, t, se] row"),
        (("[4, 18.0, 0.4]", '"4, 18.0, 0.4"'), "table[0]: must be a [raw, t, se] row"),
        (("prorate = true", 'prorate = true\nprorate_rounding = "down"'),
         "prorate_rounding: 'down' is not one of"),
        (("prorate = true", "prorate = true\nlookup = 1"),
         "lookup: unknown parameter of 'sum_to_t'"),
        (("prorate = true", 'prorate = true\nrecode = { a = { "1" = 1.5, "2" = 2, '
          '"3" = 3, "4" = 4, "5" = 5 } }'), "recode.a: values must be integers"),
        (("prorate = true", 'prorate = true\nrecode = { e = { "1" = 1 } }'),
         "recode: item 'e' is not in this scale"),
        (("prorate = true", 'prorate = true\nrecode = { a = { "1" = 1 } }'),
         "recode.a: no value for code(s) [2, 3, 4, 5] of item 'a'"),
        (("prorate = true", 'prorate = true\nrecode = { a = { "9" = 1 } }'),
         "recode.a: '9' is not a code of item 'a'"),
        (("prorate = true", 'prorate = true\nrecode = { a = { "1" = true } }'),
         "recode.a.1: True is not a number"),
        (("prorate = true", 'prorate = true\nrecode = { a = { "1" = 1 }, "2" = 3 }'),
         "recode: mixes per-item tables with codes"),
    ],
)  # fmt: skip
def test_invalid_sum_to_t_parameters(make_catalog, change, message):
    old, new = change
    scales = sum_scale()
    assert old in scales
    catalog = make_catalog(ITEMS, scales.replace(old, new, 1))
    with pytest.raises(ParamError, match="test 1.0: scale 's': ") as info:
        score_answers("test", {}, catalog=catalog)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('source = ""', "source: must be a non-empty string"),
        ("min_answered = 1", "min_answered: unknown parameter of 'single_item'"),
        ("recode = [1]", "recode: must be a table, not tuple"),
    ],
)
def test_invalid_single_item_parameters(make_catalog, extra, message):
    catalog = make_catalog(ITEMS, single_scale(extra))
    with pytest.raises(ParamError, match=message):
        score_answers("test", {}, catalog=catalog)
