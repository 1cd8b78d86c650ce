"""Score trajectories drawn as inline SVG.

Pure: no Flask, no database. The caller passes translated strings in
(``ChartText``) and gets markup back; every piece of text is escaped here.
One small chart per scale (small multiples): scales of one instrument move in
opposite directions, and a chart per scale needs no colour legend.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from pro_app.charts.trajectories import METRICS, Metric, Trajectory


@dataclass(frozen=True)
class ChartText:
    """The words a chart shows, already translated by the caller."""

    reference: str = "T = 50 (mean)"
    change_from: str = "Change from %(baseline)s"
    worse: str = "worse"
    higher_is_better: str = "Higher is better"
    higher_is_worse: str = "Higher is worse"
    no_data: str = "No scores yet"


def one_decimal(value: float) -> str:
    """The default number format: one decimal."""
    return f"{value:.1f}"


def signed(value: float, number: Callable[[float], str] = one_decimal) -> str:
    """A change with its sign (U+2212 for minus, as screen readers say "minus")."""
    if round(value, 1) == 0:
        return number(0.0)
    return ("+" if value > 0 else "\u2212") + number(abs(value))


# Geometry of one chart, in SVG user units (the chart scales with its box).
WIDTH, HEIGHT = 320, 196
LEFT, RIGHT, TOP, BOTTOM = 40, 308, 40, 150
LINE = "#0b4f9c"
FLAG = "#a4161a"
INK = "#1b1b1b"
MUTED = "#555"
GRID = "#c8ced6"


def _safe_id(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", value) or "chart"


def _axis(metric: Metric, values: Sequence[float]) -> tuple[float, float]:
    # Widen the usual range to whole steps when a score falls outside it.
    low = min([metric.low, *values])
    high = max([metric.high, *values])
    return (
        math.floor(low / metric.step) * metric.step,
        math.ceil(high / metric.step) * metric.step,
    )


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _describe(traj: Trajectory, text: ChartText, number: Callable[[float], str]) -> str:
    values = ", ".join(
        f"{p.label} {number(p.value)}" for p in traj.points if p.value is not None
    )
    direction = (
        text.higher_is_better if traj.spec.higher_is_better else text.higher_is_worse
    )
    parts = [values or text.no_data]
    latest = traj.latest
    if latest is not None and traj.baseline is not None:
        change = f"{text.change_from % {'baseline': traj.baseline.label}} "
        change += f"({latest.label}): {signed(latest.change, number)}"
        if latest.worse:
            change += f", {text.worse}"
        parts.append(change)
    parts.append(direction)
    return ". ".join(parts) + "."


def scale_chart(
    traj: Trajectory,
    *,
    chart_id: str,
    text: ChartText | None = None,
    number: Callable[[float], str] = one_decimal,
) -> str:
    """Return the SVG markup of one scale's trajectory.

    The T = 50 line is drawn for T-score metrics, every point is labelled with
    its value, and the change of the latest score from baseline is written on
    top; points past the threshold in the worse direction are drawn as red
    diamonds (not only a colour) and named "worse" in the text.
    """
    text = text or ChartText()
    metric = METRICS[traj.spec.metric]
    cid = _safe_id(chart_id)
    values = [p.value for p in traj.points if p.value is not None]
    low, high = _axis(metric, values)

    def y(value: float) -> float:
        return BOTTOM - (value - low) / (high - low) * (BOTTOM - TOP)

    n = len(traj.points)
    span = RIGHT - LEFT - 24

    def x(index: int) -> float:
        return LEFT + 12 + (span / 2 if n == 1 else index * span / (n - 1))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="chart" role="img" aria-labelledby="{cid}-title" '
        f'aria-describedby="{cid}-desc" font-size="12">',
        f'<title id="{cid}-title">{escape(traj.name)}</title>',
        f'<desc id="{cid}-desc">{escape(_describe(traj, text, number))}</desc>',
    ]
    tick = low
    while tick <= high + 1e-9:
        ty = _fmt(y(tick))
        out.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{RIGHT}" y1="{ty}" '
            f'y2="{ty}" stroke="{GRID}" stroke-width="1"/>'
            f'<text class="chart-tick" x="{LEFT - 6}" y="{ty}" dy="4" '
            f'text-anchor="end" fill="{MUTED}">{escape(_fmt(tick))}</text>'
        )
        tick += metric.step
    if metric.reference is not None:
        ry = _fmt(y(metric.reference))
        out.append(
            f'<line class="chart-reference" x1="{LEFT}" x2="{RIGHT}" y1="{ry}" '
            f'y2="{ry}" stroke="{INK}" stroke-width="1.5" stroke-dasharray="6 4"/>'
            # Named in a legend under the axis, where no data label can cover it.
            f'<line x1="{LEFT}" x2="{LEFT + 24}" y1="{HEIGHT - 8}" '
            f'y2="{HEIGHT - 8}" stroke="{INK}" stroke-width="1.5" '
            f'stroke-dasharray="6 4"/>'
            f'<text class="chart-reference-label" x="{LEFT + 30}" y="{HEIGHT - 4}" '
            f'fill="{INK}">{escape(text.reference)}</text>'
        )
    for index, point in enumerate(traj.points):
        out.append(
            f'<text x="{_fmt(x(index))}" y="{BOTTOM + 18}" text-anchor="middle" '
            f'fill="{INK}">{escape(point.label)}</text>'
        )
    # A missing score breaks the line instead of bridging the gap.
    segments: list[list[str]] = [[]]
    for index, point in enumerate(traj.points):
        if point.value is None:
            segments.append([])
        else:
            segments[-1].append(f"{_fmt(x(index))},{_fmt(y(point.value))}")
    for segment in segments:
        if len(segment) > 1:
            out.append(
                f'<polyline class="chart-line" points="{" ".join(segment)}" '
                f'fill="none" stroke="{LINE}" stroke-width="2"/>'
            )
    worse = {c.label for c in traj.flags}
    for index, point in enumerate(traj.points):
        if point.value is None:
            continue
        px, py = x(index), y(point.value)
        if point.label in worse:
            out.append(
                f'<path class="chart-point chart-flag" d="M{_fmt(px)} '
                f'{_fmt(py - 7)} l7 7 l-7 7 l-7 -7 z" fill="{FLAG}"/>'
            )
            colour = FLAG
        else:
            out.append(
                f'<circle class="chart-point" cx="{_fmt(px)}" cy="{_fmt(py)}" '
                f'r="4" fill="{LINE}"/>'
            )
            colour = INK
        out.append(
            f'<text x="{_fmt(px)}" y="{_fmt(py - 11)}" text-anchor="middle" '
            f'fill="{colour}">{escape(number(point.value))}</text>'
        )
    latest = traj.latest
    if latest is not None and traj.baseline is not None:
        words = f"{text.change_from % {'baseline': traj.baseline.label}}: "
        words += signed(latest.change, number)
        if latest.worse:
            words += f" ({text.worse})"
        weight = ' font-weight="bold"' if latest.worse else ""
        out.append(
            f'<text class="chart-change" x="{LEFT}" y="16" '
            f'fill="{FLAG if latest.worse else INK}"{weight}>{escape(words)}</text>'
        )
    elif not values:
        out.append(
            f'<text x="{(LEFT + RIGHT) // 2}" y="{(TOP + BOTTOM) // 2}" '
            f'text-anchor="middle" fill="{MUTED}">{escape(text.no_data)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
