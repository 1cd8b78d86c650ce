"""``sum_to_t`` (raw sum to T-score and SE by table) and ``single_item``.

``sum_to_t`` parameters: ``min_answered`` (an item count), ``prorate`` (bool),
``table`` (``[raw, t, se]`` rows covering every raw sum from the lowest to the
highest possible), ``table_source`` (the cited table), optional ``recode``
(per-item integer tables, e.g. Global07r 0-10 -> 1-5) and optional
``prorate_rounding`` ("up" or "nearest", see ``prorate``).

``single_item`` parameters: optional ``recode`` and ``source``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from pro_app.catalog import Instrument, Scale
from pro_app.scoring.params import (
    Context,
    Where,
    array,
    is_number,
    min_answered,
    recode_tables,
    text,
)
from pro_app.scoring.result import ScaleScore, not_scorable, scored

#: How a fractional prorated raw score becomes a whole one, by ``prorate_rounding``.
ROUNDINGS = ("up", "nearest")

# HealthMeasures PROMIS scoring manuals: prorated raw score = raw sum x number of
# items in the short form / number of items actually answered, allowed when at
# least half of the items are answered. The manual's rounding sentence could NOT be
# retrieved with the project's search tool (see docs/scoring.md, "Open items"), so
# it is not quoted here. The default below ("up": round a fraction up to the next
# whole number) is unverified; an instrument file can set prorate_rounding to
# "nearest" (halves up) once the current manual's sentence has been checked.
DEFAULT_ROUNDING = "up"


@dataclass(frozen=True)
class LookupSpec:
    """Checked parameters of one ``sum_to_t`` scale."""

    scale: Scale
    tables: Mapping[str, Mapping[int, int]]
    min_answered: int
    prorate: bool
    rounding: str
    rows: Mapping[int, tuple[float, float]]
    depends_on: tuple[str, ...] = ()


def parse_sum_to_t(instrument: Instrument, scale: Scale) -> LookupSpec:
    """Check a ``sum_to_t`` scale's parameters and return them parsed."""
    where = Where(instrument, scale)
    where.keys(
        ("min_answered", "prorate", "table", "table_source"),
        ("recode", "prorate_rounding"),
    )
    text(where, "table_source")
    tables = recode_tables(where)
    for item_id in scale.items:
        tables.setdefault(item_id, {c: c for c in instrument.item(item_id).codes})
    for item_id, item_table in tables.items():
        if not all(isinstance(v, int) for v in item_table.values()):
            where.fail(f"recode.{item_id}", "values must be integers (they are summed)")
    prorate = scale.params["prorate"]
    if not isinstance(prorate, bool):
        where.fail("prorate", "must be true or false")
    rounding = scale.params.get("prorate_rounding", DEFAULT_ROUNDING)
    if rounding not in ROUNDINGS:
        where.fail("prorate_rounding", f"{rounding!r} is not one of {ROUNDINGS}")
    lowest = sum(min(t.values()) for t in tables.values())
    highest = sum(max(t.values()) for t in tables.values())
    return LookupSpec(
        scale=scale,
        tables=tables,
        min_answered=int(min_answered(where, named=False)),
        prorate=prorate,
        rounding=rounding,
        rows=_rows(where, lowest, highest),
    )


def _rows(where: Where, lowest: int, highest: int) -> dict[int, tuple[float, float]]:
    rows: dict[int, tuple[float, float]] = {}
    for index, row in enumerate(array(where, "table", where.scale.params["table"])):
        key = f"table[{index}]"
        if isinstance(row, str) or not isinstance(row, list | tuple) or len(row) != 3:
            where.fail(key, "must be a [raw, t, se] row")
        raw, t_score, se = row
        if not isinstance(raw, int) or isinstance(raw, bool):
            where.fail(key, f"raw score {raw!r} is not an integer")
        if not is_number(t_score) or not is_number(se) or se <= 0:
            where.fail(key, f"T {t_score!r} and SE {se!r} must be numbers, SE > 0")
        expected = lowest + index
        if raw != expected:
            reason = f"raw score {raw} where {expected} was expected"
            where.fail(key, f"{reason} (rows run {lowest}-{highest}, once each)")
        rows[raw] = (t_score, se)
    if len(rows) != highest - lowest + 1:
        where.fail("table", f"covers raw scores {lowest}-{lowest + len(rows) - 1}, "
                            f"not {lowest}-{highest}")  # fmt: skip
    return rows


def prorate(total: int, n_items: int, n_answered: int, rounding: str) -> int:
    """Return the prorated raw score ``total x n_items / n_answered``, rounded.

    Computed exactly (``Fraction``), so 8 x 4 / 3 = 10.67 and 9 x 4 / 3 = 12 never
    suffer from binary floating point before rounding.
    """
    exact = Fraction(total * n_items, n_answered)
    if rounding == "up":
        return math.ceil(exact)
    return math.floor(exact + Fraction(1, 2))


def score_sum_to_t(spec: LookupSpec, ctx: Context) -> ScaleScore:
    """Score one ``sum_to_t`` scale."""
    scale = spec.scale
    values = [spec.tables[item_id][code] for item_id, code in ctx.answered(scale)]
    n_items, n_answered = len(scale.items), len(values)
    total = sum(values)
    if n_answered == n_items:
        raw, prorated = total, False
    elif not spec.prorate:
        # e.g. PROMIS Global Health: a 3-item sum is never looked up in the
        # 4-item table.
        return not_scorable(
            scale,
            f"{n_answered} of {n_items} items answered; this scale is scored "
            "only when every item is answered",
            n_answered=n_answered,
        )
    elif n_answered < spec.min_answered:
        return not_scorable(
            scale,
            f"{n_answered} of {n_items} items answered; proration needs at "
            f"least {spec.min_answered}",
            n_answered=n_answered,
        )
    else:
        raw, prorated = prorate(total, n_items, n_answered, spec.rounding), True
    t_score, se = spec.rows[raw]
    return scored(scale, t_score, raw=raw, se=se, n_answered=n_answered,
                  prorated=prorated)  # fmt: skip


@dataclass(frozen=True)
class SingleSpec:
    """Checked parameters of one ``single_item`` scale."""

    scale: Scale
    table: Mapping[int, float]
    depends_on: tuple[str, ...] = ()


def parse_single_item(instrument: Instrument, scale: Scale) -> SingleSpec:
    """Check a ``single_item`` scale's parameters and return them parsed."""
    where = Where(instrument, scale)
    where.keys((), ("recode", "source"))
    if "source" in scale.params:
        text(where, "source")
    (item_id,) = scale.items
    identity = {c: c for c in instrument.item(item_id).codes}
    return SingleSpec(scale, recode_tables(where).get(item_id, identity))


def score_single_item(spec: SingleSpec, ctx: Context) -> ScaleScore:
    """Score one ``single_item`` scale: the item's (recoded) value."""
    (item_id,) = spec.scale.items
    code = ctx.answers[item_id]
    if code is None:
        return not_scorable(spec.scale, f"item {item_id} skipped", n_answered=0)
    return scored(spec.scale, spec.table[code], raw=code, n_answered=1)
