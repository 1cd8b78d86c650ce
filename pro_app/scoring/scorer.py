"""``score_answers``: check the answers, then score every scale of an instrument."""

from __future__ import annotations

import functools
import graphlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pro_app.catalog import Catalog, Instrument, load_catalog
from pro_app.scoring.params import Context, ParamError
from pro_app.scoring.registry import METHODS, Method
from pro_app.scoring.result import ALGORITHM_VERSION, ScaleScore, ScoreSet

INSTRUMENTS_DIR = Path(__file__).resolve().parents[2] / "instruments"

Plan = tuple[tuple[Method, Any], ...]


@functools.cache
def default_catalog() -> Catalog:
    """Return the shipped catalogue (``<repo>/instruments``), loaded once."""
    return load_catalog(INSTRUMENTS_DIR)


def plan(instrument: Instrument) -> Plan:
    """Check every scale's parameters; return (method, spec) in scoring order.

    Scales that feed a composite come before it; otherwise instrument order is
    kept. Raises ``ParamError`` for bad parameters or a cycle of composites.
    """
    specs = {s.id: METHODS[s.method].parse(instrument, s) for s in instrument.scales}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for scale in instrument.scales:
        sorter.add(scale.id, *specs[scale.id].depends_on)
    try:
        order = tuple(sorter.static_order())
    except graphlib.CycleError as error:
        cycle = " -> ".join(error.args[1])
        inst = f"{instrument.id} {instrument.version}"
        reason = f"composite scales depend on each other: {cycle}"
        raise ParamError(f"{inst}: {reason}") from None
    methods = {s.id: METHODS[s.method] for s in instrument.scales}
    return tuple((methods[scale_id], specs[scale_id]) for scale_id in order)


def validate_params(instrument: Instrument) -> None:
    """Raise ``ParamError`` unless every scale of the instrument can be scored."""
    plan(instrument)


def check_answers(
    instrument: Instrument, answers: Mapping[str, Any]
) -> dict[str, int | None]:
    """Return a code (or None) for every item; ValueError for a bad id or code."""
    inst = f"{instrument.id} {instrument.version}"
    if not isinstance(answers, Mapping):
        raise TypeError(f"{inst}: answers must be a mapping of item id to code")
    checked: dict[str, int | None] = {item.id: None for item in instrument.items}
    for item_id, code in answers.items():
        if item_id not in checked:
            raise ValueError(f"{inst}: unknown item {item_id!r} (answer {code!r})")
        if code is None:
            continue
        codes = list(instrument.item(item_id).codes)
        # bool is an int in Python; True is not a response code.
        if not isinstance(code, int) or isinstance(code, bool) or code not in codes:
            raise ValueError(
                f"{inst}: item {item_id!r}: {code!r} is not one of its codes {codes}"
            )
        checked[item_id] = code
    return checked


def score_answers(
    instrument_id: str,
    answers: Mapping[str, Any],
    version: str | None = None,
    catalog: Catalog | None = None,
    settings: Mapping[str, Any] | None = None,
) -> ScoreSet:
    """Score one questionnaire: every scale of the instrument, in instrument order.

    Args:
        instrument_id: the instrument's id, e.g. "rand36".
        answers: item id -> code printed on the form, or None for a skipped item;
            an item left out counts as skipped.
        version: the instrument version the answers were given in (None: latest).
        catalog: where to find the instrument (None: the shipped catalogue).
        settings: study settings, e.g. {"rand36_min_answered": "half"}.

    Raises:
        LookupError: unknown instrument or version.
        ValueError: unknown item id or a code outside the item's response set;
            ``ParamError`` (a ValueError) for invalid scale parameters.

    """
    catalog = default_catalog() if catalog is None else catalog
    instrument = catalog.get(instrument_id, version)
    checked = check_answers(instrument, answers)
    computed: dict[str, ScaleScore] = {}
    ctx = Context(
        answers=MappingProxyType(checked),
        settings=MappingProxyType(dict(settings or {})),
        computed=MappingProxyType(computed),
    )
    for method, spec in plan(instrument):
        computed[spec.scale.id] = method.score(spec, ctx)
    scales = tuple(computed[s.id] for s in instrument.scales)
    # The version(s) the scales were scored with: one for every shipped
    # instrument, whose methods changed together.
    versions = sorted({s.algorithm for s in scales})
    return ScoreSet(
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        scales=scales,
        algorithm=", ".join(versions) or ALGORITHM_VERSION,
    )
