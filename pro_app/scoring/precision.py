"""The precision rule: every score is computed exactly and stored rounded.

A method works on exact rationals (``Fraction``): a number from an instrument
file stands for the decimal written there (``4.4`` is 22/5, not the binary float
nearest it), so a mean of 100, 100 and 0 is exactly 200/3 and a mean that is 57
is exactly 57. The result is then rounded once, half away from zero (the
``ROUND_HALF_UP`` of ``decimal``), to ``DECIMALS`` places, and stored as the
float nearest that decimal, whose ``repr`` is the decimal itself: ``66.6667``,
``57.0``. The database, the screens and every export read that one value.

Four places: the stored value is then within 0.00005 of the exact score, so it
agrees with any reference to 0.001 even when the reference was itself rounded
to three places (0.0005 + 0.00005 < 0.001), and two scales that are both 2/3
store the same number. A value that has fewer places (a PROMIS T-score of one
decimal, as published) is kept as it is. The one exception is the raw score of
a composite (the weighted sum of z-scores that becomes ``50 + 10 x raw``),
kept to ``COMPOSITE_RAW_DECIMALS`` so that it has the T-score's resolution.
"""

from __future__ import annotations

import functools
from fractions import Fraction

#: Decimal places a stored score keeps (docs/scoring.md, "Precision").
DECIMALS = 4
#: Decimal places of a composite's raw score (a tenth of its T-score's unit).
COMPOSITE_RAW_DECIMALS = DECIMALS + 1
_HALF = Fraction(1, 2)

Number = int | float | Fraction


def exact(value: Number) -> Fraction:
    """Return the exact rational a number stands for.

    A float is read as the shortest decimal that gives it back (its ``repr``),
    which is how it was written in the instrument file.
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return _decimal(value)
    return Fraction(value)


@functools.lru_cache(maxsize=8192)
def _decimal(value: float) -> Fraction:
    # The instrument files hold a few hundred distinct numbers; parsing each
    # one's text once keeps exact scoring close to float speed.
    return Fraction(repr(value))


def rounded(value: Number, places: int = DECIMALS) -> Fraction:
    """Return ``value`` rounded half away from zero to ``places`` decimals."""
    scale = 10**places
    units = int(abs(exact(value)) * scale + _HALF)  # floor: the sum is >= 0
    return Fraction(-units if value < 0 else units, scale)


def stored(value: Number, places: int = DECIMALS) -> float:
    """Return the float a score is stored as: ``value`` rounded by the rule."""
    # float() of a Fraction is correctly rounded, so the float's repr is the
    # rounded decimal (57 -> 57.0, 200/3 -> 66.6667).
    return float(rounded(value, places))
