"""``recode_average``: recode each answered item, then average on a 0-100 scale.

Parameters (all read from the ``[[scales]]`` table):

- ``recode``: code tables (one for every item, or one per item); with
  ``precode_range`` an item without a table keeps its code as its precode, without
  it every item needs a table.
- ``recode_if``: conditional tables, for an item whose value depends on another
  item (SF-36 v1 bodily pain item 22 depends on item 21). Each rule is
  ``{ item, if_item, if_codes = [...] | if_missing = true, table }``; for one
  item the rules must cover every code of ``if_item`` and its absence, once each.
- ``precode_range = [lowest, highest]``: item values are precodes on this range
  and become 0-100 by ``(value - lowest) / (highest - lowest) x 100`` (the SF-36
  v1 transformation). Without it the recoded values are already 0-100 (RAND).
- ``min_answered``: "any", "half" or an item count; ``min_answered_setting`` names
  a study setting ("any" or "half") that may replace it.
- ``person_mean_imputation``: fill each missing item with the mean of the answered
  items before summing (SF-36 v1). When every item shares one range this gives
  exactly the mean of the answered items, so the value is the same either way;
  the flag also makes ``raw`` the manual's imputed raw sum.

The arithmetic is exact (``Fraction``); ``scored`` rounds the result once by the
precision rule (``precision.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pro_app.catalog import Instrument, Scale
from pro_app.scoring.params import (
    NAMED_RULES,
    Context,
    Where,
    array,
    code_table,
    min_answered,
    number,
    recode_tables,
    table,
    threshold,
)
from pro_app.scoring.precision import exact
from pro_app.scoring.result import ScaleScore, not_scorable, scored

KEYS = (
    "recode", "recode_if", "precode_range", "min_answered_setting",
    "person_mean_imputation", "source",
)  # fmt: skip
RULE_KEYS = {"item", "if_item", "if_codes", "if_missing", "table"}


@dataclass(frozen=True)
class Conditional:
    """Tables of one item chosen by another item's code (None: not answered)."""

    if_item: str
    tables: Mapping[int | None, Mapping[int, float]]


@dataclass(frozen=True)
class AverageSpec:
    """Checked parameters of one ``recode_average`` scale."""

    scale: Scale
    tables: Mapping[str, Mapping[int, float]]
    conditional: Mapping[str, Conditional]
    precode_range: tuple[float, float] | None
    min_answered: int | str
    min_answered_setting: str | None
    person_mean: bool
    depends_on: tuple[str, ...] = ()


def parse(instrument: Instrument, scale: Scale) -> AverageSpec:
    """Check a ``recode_average`` scale's parameters and return them parsed."""
    where = Where(instrument, scale)
    where.keys(("min_answered",), KEYS)
    params = scale.params
    tables = recode_tables(where)
    conditional = _conditional(where)
    for item_id in conditional:
        if item_id in tables:
            where.fail("recode_if", f"item {item_id!r} also has a recode table")
    precode_range = _range(where)
    for item_id in scale.items:
        if item_id in tables or item_id in conditional:
            continue
        # A code is a precode only on a declared range: without one, a forgotten
        # 0-100 table must not pass as codes 1-5.
        if precode_range is None:
            where.fail("recode", f"no table for item {item_id!r} (needed without "
                                 "precode_range)")  # fmt: skip
        tables[item_id] = {c: c for c in instrument.item(item_id).codes}
    lowest, highest = precode_range or (0, 100)
    values = [v for t in tables.values() for v in t.values()]
    values += [v for c in conditional.values() for t in c.tables.values()
               for v in t.values()]  # fmt: skip
    outside = sorted({v for v in values if not lowest <= v <= highest})
    if outside:
        key = "precode_range" if precode_range else "recode"
        where.fail(key, f"item values {outside} lie outside {lowest}-{highest}")
    setting = params.get("min_answered_setting")
    if setting is not None and (not isinstance(setting, str) or not setting):
        where.fail("min_answered_setting", "must be a setting name")
    person_mean = params.get("person_mean_imputation", False)
    if not isinstance(person_mean, bool):
        where.fail("person_mean_imputation", "must be true or false")
    if "source" in params and not isinstance(params["source"], str):
        where.fail("source", "must be a string")
    return AverageSpec(
        scale=scale,
        tables=tables,
        conditional=conditional,
        precode_range=precode_range,
        min_answered=min_answered(where, named=True),
        min_answered_setting=setting,
        person_mean=person_mean,
    )


def _range(where: Where) -> tuple[float, float] | None:
    if "precode_range" not in where.scale.params:
        return None
    bounds = array(where, "precode_range", where.scale.params["precode_range"])
    if len(bounds) != 2:
        where.fail("precode_range", "must be [lowest, highest]")
    lowest, highest = (number(where, "precode_range", b) for b in bounds)
    if not lowest < highest:
        where.fail("precode_range", "lowest must be below highest")
    return lowest, highest


def _conditional(where: Where) -> dict[str, Conditional]:
    if "recode_if" not in where.scale.params:
        return {}
    rules: dict[str, Conditional] = {}
    bodies = array(where, "recode_if", where.scale.params["recode_if"])
    for index, rule in enumerate(bodies):
        key = f"recode_if[{index}]"
        rule = table(where, key, rule)
        unknown = sorted(set(rule) - RULE_KEYS)
        if unknown:
            where.fail(key, f"unknown key(s) {unknown}")
        if ("if_codes" in rule) == ("if_missing" in rule):
            where.fail(key, "needs exactly one of if_codes and if_missing")
        item_id, if_item_id = rule.get("item"), rule.get("if_item")
        if item_id not in where.scale.items:
            where.fail(f"{key}.item", f"{item_id!r} is not an item of this scale")
        item = where.item(key, item_id)
        if_item = where.item(f"{key}.if_item", if_item_id)
        if item_id == if_item_id:
            where.fail(key, "an item cannot depend on itself")
        entry = rules.setdefault(item_id, Conditional(if_item_id, {}))
        if entry.if_item != if_item_id:
            where.fail(key, f"all rules for item {item_id!r} must test one item")
        if "if_missing" in rule:
            if rule["if_missing"] is not True:
                where.fail(f"{key}.if_missing", "must be true")
            conditions: list[int | None] = [None]
        else:
            conditions = list(array(where, f"{key}.if_codes", rule["if_codes"]))
            bad = [c for c in conditions
                   if isinstance(c, bool) or c not in if_item.codes]  # fmt: skip
            if bad:
                where.fail(f"{key}.if_codes", f"{bad}: not codes of {if_item_id!r}")
        parsed = code_table(where, f"{key}.table", item, rule.get("table"))
        for condition in conditions:
            if condition in entry.tables:
                where.fail(key, f"condition {condition!r} is already covered")
            entry.tables[condition] = parsed  # type: ignore[index]
    for item_id, entry in rules.items():
        wanted = {*where.instrument.item(entry.if_item).codes, None}
        if set(entry.tables) != wanted:
            missing = sorted(wanted - set(entry.tables), key=str)
            where.fail("recode_if", f"rules for item {item_id!r} do not cover "
                                    f"{entry.if_item!r} = {missing}")  # fmt: skip
    return rules


def _rule(spec: AverageSpec, settings: Mapping[str, Any]) -> int | str:
    # RAND scores a scale from any answered item; a study may require half of
    # them instead (the SF-36 convention) through a named setting.
    name = spec.min_answered_setting
    if name is None or name not in settings:
        return spec.min_answered
    value = settings[name]
    if value not in NAMED_RULES:
        raise ValueError(f"study setting {name}: {value!r} is not one of {NAMED_RULES}")
    return value


def score(spec: AverageSpec, ctx: Context) -> ScaleScore:
    """Score one ``recode_average`` scale."""
    scale = spec.scale
    values = [_value(spec, item_id, code, ctx.answers)
              for item_id, code in ctx.answered(scale)]  # fmt: skip
    n_items, n_answered = len(scale.items), len(values)
    rule = _rule(spec, ctx.settings)
    needed = threshold(rule, n_items)
    if n_answered < needed:
        return not_scorable(
            scale,
            f"{n_answered} of {n_items} items answered; "
            f"rule {rule!r} needs at least {needed}",
            n_answered=n_answered,
        )
    lowest, highest = (exact(b) for b in spec.precode_range or (0, 100))
    if spec.person_mean:
        # SF-36 v1: each missing item takes the mean of the answered items, then
        # the raw sum is transformed to 0-100 (Ware et al. 1993, scoring chapter).
        total = sum(values, Fraction(0))
        raw = total + (n_items - n_answered) * total / n_answered
        value = (raw - n_items * lowest) / (n_items * (highest - lowest)) * 100
        return scored(scale, value, raw=raw, n_answered=n_answered)
    # RAND: the mean of the answered items' 0-100 values (RAND scoring, step 2).
    value = sum(((v - lowest) / (highest - lowest) * 100 for v in values), Fraction(0))
    return scored(scale, value / n_answered, n_answered=n_answered)


def _value(spec: AverageSpec, item_id: str, code: int,
           answers: Mapping[str, int | None]) -> Fraction:  # fmt: skip
    conditional = spec.conditional.get(item_id)
    if conditional is None:
        return exact(spec.tables[item_id][code])
    return exact(conditional.tables[answers[conditional.if_item]][code])
