"""Frozen results: one ``ScaleScore`` per scale, gathered in a ``ScoreSet``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType

from pro_app.catalog import Scale
from pro_app.scoring.precision import DECIMALS, Number, exact, stored

#: Name and version of the scoring code. Bump the number whenever a change to
#: this package can change a stored value (docs/scoring.md, "Algorithm version").
ALGORITHM_VERSION = "pro_app.scoring/2"

#: What each score stores as its algorithm: the version in which its method's
#: stored values last changed, so ``flask scores recompute`` rewrites (and
#: audits) only the scores that a new version changes.
METHOD_VERSIONS: Mapping[str, str] = MappingProxyType(
    {
        # 2: computed exactly and stored rounded to 4 decimals (precision.py);
        # version 1 stored binary floating-point results such as 56.99999999999999.
        "recode_average": "pro_app.scoring/2",
        "norm_composite": "pro_app.scoring/2",
        # Table values and item values: exact already, unchanged since 1.
        "sum_to_t": "pro_app.scoring/1",
        "single_item": "pro_app.scoring/1",
    }
)


def method_version(method: str) -> str:
    """Return the algorithm version stored with a score of ``method``."""
    return METHOD_VERSIONS.get(method, ALGORITHM_VERSION)


OK = "ok"
NOT_SCORABLE = "not_scorable"


@dataclass(frozen=True)
class ScaleScore:
    """The score of one scale, with everything needed to audit or re-run it.

    ``value`` is the reported score (0-100, a T-score or an item's value), ``raw``
    the method's raw score where it has one, ``se`` the standard error where the
    method's table gives one, each rounded by the precision rule
    (``precision.py``). ``reason`` says why a scale is not scorable. ``exact``
    is the unrounded value, for composites built on this score; it is not stored.
    """

    scale_id: str
    name: str
    method: str
    status: str
    value: float | None
    raw: float | None
    se: float | None
    n_answered: int
    n_items: int
    prorated: bool = False
    reason: str | None = None
    algorithm: str = ALGORITHM_VERSION
    exact: Fraction | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """Return True when the scale has a value."""
        return self.status == OK


def scored(
    scale: Scale,
    value: Number,
    *,
    n_answered: int,
    raw: Number | None = None,
    se: Number | None = None,
    prorated: bool = False,
    raw_places: int = DECIMALS,
) -> ScaleScore:
    """Return an ``ok`` score of a scale, its numbers rounded by the rule."""
    return ScaleScore(
        scale_id=scale.id,
        name=scale.name,
        method=scale.method,
        status=OK,
        value=stored(value),
        raw=None if raw is None else stored(raw, raw_places),
        se=None if se is None else stored(se),
        n_answered=n_answered,
        n_items=len(scale.items),
        prorated=prorated,
        algorithm=method_version(scale.method),
        exact=exact(value),
    )


def not_scorable(scale: Scale, reason: str, *, n_answered: int) -> ScaleScore:
    """Return a ``not_scorable`` score of a scale, saying why."""
    return ScaleScore(
        scale_id=scale.id,
        name=scale.name,
        method=scale.method,
        status=NOT_SCORABLE,
        value=None,
        raw=None,
        se=None,
        n_answered=n_answered,
        n_items=len(scale.items),
        reason=reason,
        algorithm=method_version(scale.method),
    )


@dataclass(frozen=True)
class ScoreSet(Mapping[str, ScaleScore]):
    """Every scale of one scored questionnaire, by scale id, in instrument order."""

    instrument_id: str
    instrument_version: str
    scales: tuple[ScaleScore, ...]
    algorithm: str = ALGORITHM_VERSION
    _index: Mapping[str, ScaleScore] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        """Index the scales by id once."""
        index = MappingProxyType({s.scale_id: s for s in self.scales})
        object.__setattr__(self, "_index", index)

    def __getitem__(self, scale_id: str) -> ScaleScore:
        """Return the score of one scale (KeyError for an unknown scale id)."""
        return self._index[scale_id]

    def __iter__(self) -> Iterator[str]:
        """Iterate over scale ids in instrument order."""
        return iter(self._index)

    def __len__(self) -> int:
        """Return the number of scales."""
        return len(self._index)
