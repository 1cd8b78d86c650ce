"""The scoring methods, by the names instrument files use in ``[[scales]]``.

Each method is a pair of pure functions: ``parse`` checks a scale's parameters
(raising ``ParamError``) and returns them parsed; ``score`` turns the parsed
parameters and the checked answers into a ``ScaleScore``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pro_app.catalog import Instrument, Scale
from pro_app.scoring import average, composite, lookup
from pro_app.scoring.params import Context
from pro_app.scoring.result import ScaleScore


@dataclass(frozen=True)
class Method:
    """One scoring method: parameter check and scorer."""

    name: str
    parse: Callable[[Instrument, Scale], Any]
    score: Callable[[Any, Context], ScaleScore]


METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "recode_average": Method("recode_average", average.parse, average.score),
        "sum_to_t": Method("sum_to_t", lookup.parse_sum_to_t, lookup.score_sum_to_t),
        "norm_composite": Method("norm_composite", composite.parse, composite.score),
        "single_item": Method(
            "single_item", lookup.parse_single_item, lookup.score_single_item
        ),
    }
)
