"""Checks shared by the scoring methods for the parameters of a ``[[scales]]`` table.

Every problem raises ``ParamError`` naming the instrument, the scale and the key,
so a typo in an instrument file fails a test (and start-up checks) with a message
that says where to look, never as a wrong score.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from pro_app.catalog import Instrument, Item, Scale

_CODE = re.compile(r"-?(0|[1-9][0-9]*)")

#: The two named missing-item rules of ``min_answered``: "any" scores a scale when
#: at least one item is answered, "half" when at least half of them are (rounded
#: up, so 3 of 5 and 2 of 3).
NAMED_RULES = ("any", "half")


class ParamError(ValueError):
    """The scoring parameters of a scale in an instrument file are invalid."""


@dataclass(frozen=True)
class Where:
    """The scale being checked, to name it in errors."""

    instrument: Instrument
    scale: Scale

    def fail(self, key: str, reason: str) -> NoReturn:
        """Raise ``ParamError`` for one key of this scale."""
        inst = self.instrument
        where = f"{inst.id} {inst.version}: scale {self.scale.id!r}: {key}"
        raise ParamError(f"{where}: {reason}")

    def keys(self, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
        """Fail on an unknown key (a typo would otherwise pass) or a missing one."""
        for key in self.scale.params:
            if key not in required and key not in optional:
                allowed = ", ".join(sorted({*required, *optional}))
                self.fail(key, f"unknown parameter of {self.scale.method!r} "
                               f"(allowed: {allowed})")  # fmt: skip
        for key in required:
            if key not in self.scale.params:
                self.fail(key, "missing")

    def item(self, key: str, item_id: Any) -> Item:
        """Return an item of the instrument named in a parameter."""
        try:
            return self.instrument.item(item_id)
        except (KeyError, TypeError):
            self.fail(key, f"unknown item {item_id!r}")


def is_number(value: Any) -> bool:
    """Return True for a finite int or float (bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def number(where: Where, key: str, value: Any) -> float:
    """Return ``value`` if it is a number, else fail."""
    if not is_number(value):
        where.fail(key, f"{value!r} is not a number")
    return value


def table(where: Where, key: str, value: Any) -> Mapping[Any, Any]:
    """Return ``value`` if it is a table, else fail."""
    if not isinstance(value, Mapping):
        where.fail(key, f"must be a table, not {type(value).__name__}")
    return value


def array(where: Where, key: str, value: Any) -> Sequence[Any]:
    """Return ``value`` if it is a non-empty array, else fail."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        where.fail(key, f"must be an array, not {type(value).__name__}")
    if not value:
        where.fail(key, "must not be empty")
    return value


def text(where: Where, key: str) -> str:
    """Return a required non-empty string parameter."""
    value = where.scale.params.get(key)
    if not isinstance(value, str) or not value.strip():
        where.fail(key, "must be a non-empty string (the cited source)")
    return value


def code_table(where: Where, key: str, item: Item, value: Any) -> dict[int, float]:
    """Return ``{code: value}`` for one item; it must map exactly the item's codes."""
    parsed: dict[int, float] = {}
    for raw_code, mapped in table(where, key, value).items():
        code = raw_code
        if isinstance(raw_code, str) and _CODE.fullmatch(raw_code):
            code = int(raw_code)
        if (
            not isinstance(code, int)
            or isinstance(code, bool)
            or (code not in item.codes)
        ):
            where.fail(key, f"{raw_code!r} is not a code of item {item.id!r} "
                            f"{list(item.codes)}")  # fmt: skip
        parsed[code] = number(where, f"{key}.{raw_code}", mapped)
    missing = [c for c in item.codes if c not in parsed]
    if missing:
        where.fail(key, f"no value for code(s) {missing} of item {item.id!r}")
    return parsed


def recode_tables(where: Where, key: str = "recode") -> dict[str, dict[int, float]]:
    """Return per-item recode tables from ``recode`` (absent: no tables).

    ``recode`` is either one code table for every item of the scale
    (``{ "1" = 0, "2" = 100 }``) or a table of per-item code tables
    (``{ Global07r = { "0" = 5, ... } }``); the two forms cannot be mixed, because
    RAND-36 item ids and codes are both small numbers.
    """
    if key not in where.scale.params:
        return {}
    value = table(where, key, where.scale.params[key])
    if value and all(isinstance(v, Mapping) for v in value.values()):
        tables = {}
        for item_id, item_table in value.items():
            if item_id not in where.scale.items:
                where.fail(key, f"item {item_id!r} is not in this scale")
            item = where.item(key, item_id)
            tables[item_id] = code_table(where, f"{key}.{item_id}", item, item_table)
        return tables
    if any(isinstance(v, Mapping) for v in value.values()):
        where.fail(key, "mixes per-item tables with codes; use one form")
    return {
        item_id: code_table(where, key, where.item(key, item_id), value)
        for item_id in where.scale.items
    }


def min_answered(where: Where, *, named: bool) -> int | str:
    """Return ``min_answered``: an item count, or (if ``named``) "any" or "half"."""
    value = where.scale.params.get("min_answered")
    if named and value in NAMED_RULES:
        return value
    n_items = len(where.scale.items)
    if isinstance(value, int) and not isinstance(value, bool):
        if 1 <= value <= n_items:
            return value
    allowed = f"an integer from 1 to {n_items}"
    if named:
        allowed += ", 'any' or 'half'"
    where.fail("min_answered", f"{value!r} is not {allowed}")


def threshold(rule: int | str, n_items: int) -> int:
    """Return how many answered items a ``min_answered`` rule needs."""
    if rule == "any":
        return 1
    if rule == "half":
        return (n_items + 1) // 2
    return int(rule)


@dataclass(frozen=True)
class Context:
    """What a method may read besides its parameters.

    ``answers`` holds every item of the instrument (None when skipped), already
    checked against the response sets; ``computed`` holds the scales scored so far
    (a composite's inputs are always scored before it).
    """

    answers: Mapping[str, int | None]
    settings: Mapping[str, Any]
    computed: Mapping[str, Any]

    def answered(self, scale: Scale) -> list[tuple[str, int]]:
        """Return ``(item, code)`` for the scale's answered items, in scale order."""
        answers = self.answers
        return [(i, code) for i in scale.items if (code := answers[i]) is not None]
