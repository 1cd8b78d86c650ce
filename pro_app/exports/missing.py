"""Why a value is missing, as SPSS user-missing codes and Stata extended
missing values. Pure: no Flask or SQLAlchemy.

In the CSV files a missing value is an empty cell and the long and scores
datasets say why (``code`` empty, ``status``). The SPSS and Stata files have
one row per form, so each empty cell carries its reason instead:

=================  ====  =====  =============================================
reason             SPSS  Stata  when
=================  ====  =====  =============================================
skipped            -7    .a     the item was shown and left unanswered
not applicable     -8    .b     the item or scale was not asked: no answer
                                row (never shown), or not in the instrument
                                version this row was answered on
not scorable       -9    .c     the scale has too few items answered
                                (``Score.status`` ``not_scorable``)
=================  ====  =====  =============================================

Item columns can be skipped or not applicable, score columns (value and SE)
not applicable or not scorable. SPSS declares each column's codes as
discrete user-missing values (at most three per variable) with value
labels; Stata stores the extended missing value, labelled in the column's
value label set. Every response code and score of the shipped instruments
is 0 or more, so the negative codes never meet a real value.
``.`` (SPSS system-missing) is left for everything else: key columns, and
a T-score's SE when the table gives none.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pro_app.exports.layout import ExportPlan, Variable, instrument_layout


@dataclass(frozen=True)
class Reason:
    """One reason for a missing value, with its code in each format."""

    key: str
    spss: int  # the user-missing code
    stata: str  # the extended missing letter: "a" is ``.a``
    label: str

    @property
    def stata_double(self) -> float:
        """The double Stata stores for this extended missing value.

        Stata's dta format description ("Representation of numbers"):
        ``.`` is 0x7fe0000000000000, ``.a`` 0x7fe0010000000000, and each
        letter after ``a`` adds 0x10000000000.
        """
        bits = 0x7FE0000000000000 + (ord(self.stata) - ord("a") + 1) * 0x10000000000
        return struct.unpack("<d", struct.pack("<Q", bits))[0]

    @property
    def stata_label_code(self) -> int:
        """The int32 that names this value in a Stata value label table.

        Stata's dta format description: a value label's values are longs, and
        the long ``.`` is 2,147,483,621, ``.a`` 2,147,483,622, and so on.
        """
        return 2_147_483_621 + ord(self.stata) - ord("a") + 1


SKIPPED = Reason("skipped", -7, "a", "Skipped: shown, not answered")
NOT_APPLICABLE = Reason("not_applicable", -8, "b", "Not applicable: not asked")
NOT_SCORABLE = Reason("not_scorable", -9, "c", "Not scorable: too few items answered")
REASONS = (SKIPPED, NOT_APPLICABLE, NOT_SCORABLE)
ITEM_REASONS = (SKIPPED, NOT_APPLICABLE)
SCORE_REASONS = (NOT_APPLICABLE, NOT_SCORABLE)


@dataclass(frozen=True)
class CodedVariable(Variable):
    """A column whose missing cells say why (``Reason`` values in the rows)."""

    missing: tuple[Reason, ...] = ()


def coded(variable: Variable, reasons: tuple[Reason, ...]) -> CodedVariable:
    """``variable`` declared with the missing-value ``reasons`` it can hold."""
    return CodedVariable(
        variable.name,
        variable.label,
        variable.type,
        variable.value_labels,
        variable.instrument,
        variable.source,
        reasons,
    )


def reasons_of(variable: Variable) -> tuple[Reason, ...]:
    """The missing-value reasons a column declares (none for a plain one)."""
    return getattr(variable, "missing", ())


def declared(plan: ExportPlan) -> dict[str, tuple[Reason, ...]]:
    """Column name -> its reasons, for every item and score column of a plan."""
    out: dict[str, tuple[Reason, ...]] = {}
    for instrument in plan.instruments:
        layout = instrument_layout(instrument)
        for column in layout.items:
            out[column.variable.name] = ITEM_REASONS
        for scale in layout.scales:
            out[scale.value.name] = SCORE_REASONS
            if scale.se is not None:
                out[scale.se.name] = SCORE_REASONS
    return out


def missing_text(variable: Variable) -> str:
    """``-7 / .a = Skipped...; -8 / .b = ...`` for the codebook (or empty)."""
    return "; ".join(f"{r.spss} / .{r.stata} = {r.label}" for r in reasons_of(variable))
