"""The analysis layout: one row per subject and visit, and change from baseline.

Pure. ``csv-wide`` puts every instrument of a visit in one row: the visit's
keys, then per instrument its administration columns (version, language,
mode, times, corrected; named ``<instrument>_<column>``), its items, its
scores and each score's change from baseline (``<score>_chg``). The
``scores`` dataset carries the same change per score row.

Change from baseline = the score - the same subject's score of the same
scale and method at the protocol's baseline visit (``baseline = true``).
As ADaM's CHG (ADaMIG v1.1, section 3.3.4: CHG = AVAL - BASE) it is left
empty at the baseline visit itself and at visits scheduled before it, and
empty when either value is missing or the protocol names no baseline. It
is computed in decimal from the stored values, so 57.5 - 50 is 7.5 exactly.

Records arrive ordered by subject, then visit (``services.submission_ids``):
one subject's records are held at a time, never the whole dataset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from decimal import Decimal
from itertools import groupby

from pro_app.catalog import Instrument
from pro_app.exports.layout import (
    KEY_VARIABLES,
    MAX_NAME,
    YES_NO,
    ExportPlan,
    ScoreRow,
    SubmissionRecord,
    Variable,
    clean_name,
    instrument_layout,
)

#: The columns that name a visit: study, site, site time zone, subject, visit.
VISIT_KEYS = KEY_VARIABLES[:5]
# Per instrument, what differs from one questionnaire of the visit to the next.
_ADMINISTRATION = (
    ("version", "Instrument version", "string"),
    ("language", "Language administered in", "string"),
    ("mode", "Mode of administration (self, paper, interview)", "string"),
    ("completed_at_utc", "Completed or entered at (UTC, ISO 8601)", "datetime"),
    ("completed_at_local", "Completed or entered at (site time zone)", "datetime"),
    ("collected_on", "Date answered (paper: as entered; online: local)", "date"),
    ("corrected", "Any answer corrected after completion", "numeric"),
)
CHANGE_SUFFIX = "_chg"

Key = tuple[str, str, str]  # instrument id, scale id, method


def suffixed(name: str, suffix: str) -> str:
    """``name`` + ``suffix``, shortened with a stable hash to fit Stata's 32."""
    if len(name) + len(suffix) <= MAX_NAME:
        return name + suffix
    digest = hashlib.sha256((name + suffix).encode()).hexdigest()[:4]
    return f"{name[: MAX_NAME - len(suffix) - 5]}_{digest}{suffix}"


def change_variable(value: Variable) -> Variable:
    """The change-from-baseline column of a score column."""
    return replace(
        value,
        name=suffixed(value.name, CHANGE_SUFFIX),
        label=f"{value.label}: change from baseline",
        value_labels={},
    )


def _administration(instrument: Instrument) -> list[Variable]:
    short = instrument.short_name
    tag = f"{instrument.id} {instrument.version}"
    return [
        Variable(
            clean_name(instrument.id, name),
            f"{short}: {label}",
            kind,
            YES_NO if name == "corrected" else {},
            tag,
        )
        for name, label, kind in _ADMINISTRATION
    ]


def visit_variables(instruments: Iterable[Instrument]) -> tuple[Variable, ...]:
    """csv-wide's columns: the visit keys, then per instrument its columns."""
    seen: dict[str, Variable] = {v.name: v for v in VISIT_KEYS}
    for instrument in instruments:
        layout = instrument_layout(instrument)
        columns = [*_administration(instrument), *(c.variable for c in layout.items)]
        for scale in layout.scales:
            columns.append(scale.value)
            if scale.se is not None:
                columns.append(scale.se)
            columns.append(change_variable(scale.value))
        for variable in columns:
            seen.setdefault(variable.name, variable)
    return tuple(seen.values())


def by_subject(
    records: Iterable[SubmissionRecord],
) -> Iterator[list[SubmissionRecord]]:
    """The records of one subject at a time (they arrive grouped)."""
    for _subject, group in groupby(records, key=lambda r: r.subject):
        yield list(group)


class Baseline:
    """One subject's baseline scores, and the change of a later score."""

    def __init__(self, records: Sequence[SubmissionRecord]) -> None:
        self.visit_num: int | None = None
        self.values: dict[Key, float] = {}
        for record in records:
            if not record.baseline:
                continue
            self.visit_num = record.visit_num
            for score in record.scores:
                if score.value is not None:
                    self.values[(record.instrument, score.scale_id, score.method)] = (
                        score.value
                    )

    def after(self, record: SubmissionRecord) -> bool:
        """True for a visit after the baseline (change is computed)."""
        if record.baseline or self.visit_num is None:
            return False
        return record.visit_num is None or record.visit_num > self.visit_num

    def value(self, record: SubmissionRecord, score: ScoreRow) -> float | None:
        """The baseline value of the same scale and method, if any."""
        return self.values.get((record.instrument, score.scale_id, score.method))

    def change(self, record: SubmissionRecord, score: ScoreRow) -> Decimal | None:
        """The score minus its baseline; None at or before baseline, or missing."""
        base = self.value(record, score)
        if base is None or score.value is None or not self.after(record):
            return None
        # repr() is the shortest text that reads back as the stored float.
        return Decimal(repr(score.value)) - Decimal(repr(base))


class VisitRows:
    """Places one subject's records in csv-wide rows, one per visit."""

    def __init__(self, plan: ExportPlan, variables: Sequence[Variable]) -> None:
        self.plan = plan
        self.width = len(variables)
        self.index = {v.name: i for i, v in enumerate(variables)}

    def rows(self, records: Sequence[SubmissionRecord]) -> list[list[object]]:
        """One row per visit of the subject, in visit order."""
        baseline = Baseline(records)
        out = []
        for _visit, group in groupby(records, key=lambda r: r.timepoint):
            visit = list(group)
            first = visit[0]
            row: list[object] = [None] * self.width
            row[: len(VISIT_KEYS)] = [
                self.plan.study,
                first.site,
                first.site_timezone,
                first.subject,
                first.timepoint,
            ]
            for record in visit:
                self._place(row, record, baseline)
            out.append(row)
        return out

    def _place(
        self, row: list[object], record: SubmissionRecord, baseline: Baseline
    ) -> None:
        layout = self.plan.layout(record.instrument, record.version)
        if layout is None:  # the service only yields instruments in the plan
            raise LookupError(f"{record.instrument} {record.version} not in plan")
        index = self.index
        values = (
            record.version,
            record.language,
            record.mode,
            record.completed_utc(),
            record.completed_local(),
            record.collected_on().isoformat(),
            int(record.corrected),
        )
        for (name, _label, _kind), value in zip(_ADMINISTRATION, values, strict=True):
            row[index[clean_name(record.instrument, name)]] = value
        for column in layout.items:
            answer = record.answers.get(column.item_id)
            if answer is not None:
                row[index[column.variable.name]] = answer[0]
        scores = {s.scale_id: s for s in record.scores}
        for scale in layout.scales:
            score = scores.get(scale.scale_id)
            if score is None:
                continue
            row[index[scale.value.name]] = score.value
            if scale.se is not None:
                row[index[scale.se.name]] = score.se
            change = baseline.change(record, score)
            row[index[suffixed(scale.value.name, CHANGE_SUFFIX)]] = change
