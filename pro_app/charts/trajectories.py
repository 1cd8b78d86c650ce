"""Score trajectories over a participant's timepoints and change-from-baseline flags.

Pure: no Flask, no database. Which direction is better and which metric a scale
is drawn on come from the instrument file (``[[scales]]`` ``higher_is`` and
``chart``); the flag thresholds from the study's settings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pro_app.catalog.schema import Scale


@dataclass(frozen=True)
class Metric:
    """A score metric: the axis it is drawn on and the threshold that flags it."""

    low: float
    high: float
    step: float
    # The population mean line (T = 50); None when the metric has no norm.
    reference: float | None
    setting: str  # the study setting that overrides the threshold
    default_threshold: float


METRICS: Mapping[str, Metric] = {
    # PROMIS T-scores: mean 50, SD 10 in the reference population; 5 points
    # (half an SD) is the change the issue asks to flag by default.
    "t": Metric(20, 80, 10, 50, "score_change_threshold", 5),
    # RAND-36 scales, 0-100.
    "percent": Metric(0, 100, 25, None, "rand36_change_threshold", 10),
    # 0-10 numeric rating (PROMIS pain intensity); 2 points is the change
    # usually taken as clinically important on a 0-10 pain scale.
    "nrs": Metric(0, 10, 2, None, "nrs_change_threshold", 2),
}


@dataclass(frozen=True)
class ScaleSpec:
    """How a scale is charted: its metric and which direction is better."""

    metric: str
    higher_is_better: bool


def spec_for(scale: Scale | None) -> ScaleSpec | None:
    """Return how a scale is charted (from its instrument file), or None.

    The instrument file says which direction is better (``higher_is``) and
    which metric the chart uses (``chart``); scales without ``chart`` are not
    charted.
    """
    if scale is None or scale.chart is None or scale.higher_is is None:
        return None
    return ScaleSpec(scale.chart, higher_is_better=scale.higher_is == "better")


def threshold_for(metric: str, settings: Mapping[str, Any] | None) -> float:
    """Return the study's flag threshold for a metric (its setting, or the default)."""
    spec = METRICS[metric]
    raw = (settings or {}).get(spec.setting)
    try:
        value = float(raw) if raw is not None else spec.default_threshold
    except (TypeError, ValueError):
        return spec.default_threshold
    return value if value > 0 and math.isfinite(value) else spec.default_threshold


@dataclass(frozen=True)
class Point:
    """One timepoint of a trajectory; ``value`` None: not scored there."""

    label: str
    value: float | None


@dataclass(frozen=True)
class Change:
    """A later score compared with the baseline."""

    label: str
    value: float
    change: float
    worse: bool  # moved by more than the threshold in the worse direction


@dataclass(frozen=True)
class Trajectory:
    """One scale's scores over time, with their changes from baseline."""

    scale_id: str
    name: str
    spec: ScaleSpec
    threshold: float
    points: tuple[Point, ...]
    baseline: Point | None
    changes: tuple[Change, ...]

    @property
    def flags(self) -> tuple[Change, ...]:
        """The timepoints that moved past the threshold in the worse direction."""
        return tuple(c for c in self.changes if c.worse)

    @property
    def latest(self) -> Change | None:
        """The last scored timepoint after baseline."""
        return self.changes[-1] if self.changes else None

    @property
    def scored(self) -> tuple[Point, ...]:
        """The timepoints that have a score."""
        return tuple(p for p in self.points if p.value is not None)

    @property
    def single(self) -> Point | None:
        """The one score when there is only one: shown as a number, not a chart."""
        scored = self.scored
        return scored[0] if len(scored) == 1 else None

    @property
    def drawn(self) -> bool:
        """Whether there is a line to draw (two scores or more)."""
        return len(self.scored) > 1


@dataclass(frozen=True)
class Step:
    """A score compared with the one before it (the previous visit)."""

    label: str
    value: float
    previous: str  # the label of the previous scored timepoint
    change: float
    worse: bool  # moved by more than the threshold in the worse direction
    better: bool  # moved by more than the threshold in the better direction


def step_at(traj: Trajectory, label: str) -> Step | None:
    """The score at ``label`` against the scored timepoint before it, or None."""
    scored = traj.scored
    index = next((i for i, p in enumerate(scored) if p.label == label), None)
    if not index:  # not scored there, or the first score (nothing before it)
        return None
    now, before = scored[index], scored[index - 1]
    if now.value is None or before.value is None:  # never: both are scored
        return None
    change = now.value - before.value
    better = traj.spec.higher_is_better
    return Step(
        label,
        now.value,
        before.label,
        change,
        is_worse(change, higher_is_better=better, threshold=traj.threshold),
        is_worse(-change, higher_is_better=better, threshold=traj.threshold),
    )


def is_worse(change: float, *, higher_is_better: bool, threshold: float) -> bool:
    """Whether ``change`` moved by more than ``threshold`` in the worse direction."""
    signed = -change if higher_is_better else change
    return signed > threshold


def trajectory(
    scale_id: str,
    name: str,
    points: Sequence[Point],
    spec: ScaleSpec,
    threshold: float,
) -> Trajectory:
    """Build a trajectory; the baseline is the first timepoint with a score."""
    scored = [p for p in points if p.value is not None]
    baseline = scored[0] if scored else None
    changes = tuple(
        Change(
            p.label,
            p.value,
            p.value - baseline.value,
            is_worse(
                p.value - baseline.value,
                higher_is_better=spec.higher_is_better,
                threshold=threshold,
            ),
        )
        for p in scored[1:]
        if baseline is not None and baseline.value is not None and p.value is not None
    )
    return Trajectory(scale_id, name, spec, threshold, tuple(points), baseline, changes)
