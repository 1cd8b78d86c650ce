"""Frozen results: one ``ScaleScore`` per scale, gathered in a ``ScoreSet``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pro_app.catalog import Scale

#: Name and version of the scoring code, stored with every score. Bump the number
#: whenever a change to this package can change a stored value (docs/scoring.md).
ALGORITHM_VERSION = "pro_app.scoring/1"

OK = "ok"
NOT_SCORABLE = "not_scorable"


@dataclass(frozen=True)
class ScaleScore:
    """The score of one scale, with everything needed to audit or re-run it.

    ``value`` is the reported score (0-100, a T-score or an item's value), ``raw``
    the method's raw score where it has one, ``se`` the standard error where the
    method's table gives one. ``reason`` says why a scale is not scorable.
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

    @property
    def ok(self) -> bool:
        """Return True when the scale has a value."""
        return self.status == OK


def scored(
    scale: Scale,
    value: float,
    *,
    n_answered: int,
    raw: float | None = None,
    se: float | None = None,
    prorated: bool = False,
) -> ScaleScore:
    """Return an ``ok`` score of a scale."""
    return ScaleScore(
        scale_id=scale.id,
        name=scale.name,
        method=scale.method,
        status=OK,
        value=value,
        raw=raw,
        se=se,
        n_answered=n_answered,
        n_items=len(scale.items),
        prorated=prorated,
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
