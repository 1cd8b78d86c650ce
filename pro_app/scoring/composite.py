"""``norm_composite``: a norm-based summary of other scales of the instrument.

Each input scale becomes a z-score against its norm mean and SD, the z-scores are
weighted by factor score coefficients and summed, and the sum is put on the
T metric: ``constant + multiplier x sum`` (50 and 10 by default). This is the
SF-36 v1 PCS/MCS algorithm of Ware, Kosinski & Keller (1994).

Parameters: ``scales`` (input scale ids), ``means``, ``sds`` and ``coefficients``
(tables keyed by those ids), ``source`` (the cited norms), optional ``constant``
and ``multiplier``. The scale's ``items`` must be the items of its inputs.

The sum is computed exactly (``Fraction``) from the inputs' exact values and the
published figures as written in the instrument file, then rounded once by the
precision rule (``precision.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from pro_app.catalog import Instrument, Scale
from pro_app.scoring.params import Context, Where, array, number, table, text
from pro_app.scoring.precision import COMPOSITE_RAW_DECIMALS, exact
from pro_app.scoring.result import OK, ScaleScore, not_scorable, scored


@dataclass(frozen=True)
class CompositeSpec:
    """Checked parameters of one ``norm_composite`` scale."""

    scale: Scale
    depends_on: tuple[str, ...]
    means: Mapping[str, float]
    sds: Mapping[str, float]
    coefficients: Mapping[str, float]
    constant: float
    multiplier: float


def parse(instrument: Instrument, scale: Scale) -> CompositeSpec:
    """Check a ``norm_composite`` scale's parameters and return them parsed."""
    where = Where(instrument, scale)
    where.keys(
        ("scales", "means", "sds", "coefficients", "source"),
        ("constant", "multiplier"),
    )
    text(where, "source")
    known = {s.id: s for s in instrument.scales}
    inputs = tuple(array(where, "scales", scale.params["scales"]))
    for scale_id in inputs:
        if scale_id not in known or scale_id == scale.id:
            where.fail("scales", f"{scale_id!r} is not another scale of the instrument")
    if len(set(inputs)) != len(inputs):
        where.fail("scales", "lists a scale twice")
    weights = {
        key: _weights(where, key, inputs) for key in ("means", "sds", "coefficients")
    }
    for scale_id, sd in weights["sds"].items():
        if sd <= 0:
            where.fail(f"sds.{scale_id}", "must be positive")
    covered = {i for scale_id in inputs for i in known[scale_id].items}
    if set(scale.items) != covered:
        where.fail("items", "must be exactly the items of the input scales")
    return CompositeSpec(
        scale=scale,
        depends_on=inputs,
        means=weights["means"],
        sds=weights["sds"],
        coefficients=weights["coefficients"],
        constant=number(where, "constant", scale.params.get("constant", 50)),
        multiplier=number(where, "multiplier", scale.params.get("multiplier", 10)),
    )


def _weights(where: Where, key: str, inputs: tuple[str, ...]) -> dict[str, float]:
    values = table(where, key, where.scale.params[key])
    if set(values) != set(inputs):
        where.fail(key, f"must have exactly one entry per input scale {list(inputs)}")
    return {s: number(where, f"{key}.{s}", values[s]) for s in inputs}


def score(spec: CompositeSpec, ctx: Context) -> ScaleScore:
    """Score one ``norm_composite`` scale from its already scored inputs."""
    scale = spec.scale
    n_answered = len(ctx.answered(scale))
    inputs: dict[str, ScaleScore] = {s: ctx.computed[s] for s in spec.depends_on}
    missing = [s for s, result in inputs.items() if result.status != OK]
    if missing:
        # Ware et al. (1994): the summary scores need all eight scales.
        return not_scorable(
            scale,
            f"input scale(s) not scorable: {', '.join(missing)}",
            n_answered=n_answered,
        )
    aggregate = sum(
        (
            exact(spec.coefficients[s]) * (_exact(result) - exact(spec.means[s]))
            / exact(spec.sds[s])
            for s, result in inputs.items()
        ),
        Fraction(0),
    )  # fmt: skip
    value = exact(spec.constant) + exact(spec.multiplier) * aggregate
    return scored(scale, value, raw=aggregate, n_answered=n_answered,
                  raw_places=COMPOSITE_RAW_DECIMALS)  # fmt: skip


def _exact(result: ScaleScore) -> Fraction:
    # An input scored here carries its unrounded value; one built by hand (a
    # test, a stored score) has only the rounded one.
    if result.exact is not None:
        return result.exact
    return exact(result.value)  # type: ignore[arg-type]  # OK means a value
